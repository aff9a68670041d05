// Composite layers: Seq, Residual, Identity and Named.
//
// Contract of Seq<Layers...>
//   out = Layers_k(...Layers_1(Layers_0(in))); a reusable block, written once and used many times.
// Contract of Residual<Body, Shortcut = Identity>
//   out = Body(in) + Shortcut(in), with Body(in) and Shortcut(in) of the same shape. Activations
//   after the add are ordinary layers that follow the Residual.
// Contract of Named<"name", Layer>
//   out = Layer(in); the layer's parameters are named "name.<...>" instead of "<index>.<...>", as the
//   attribute names of a PyTorch module. Named<"", Layer> adds no name of its own.
//
// Parameter names follow PyTorch's state_dict: a Seq names its children by index ("3.weight"), a
// Residual names its branches "body" and "shortcut" unless they are Named.
#pragma once

#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include <snc/layers/layer.hpp>

namespace snc {

namespace detail {
// A string literal as a template argument: Named<"conv1", ...>.
template <std::size_t N>
struct fixed_name {
    char chars[N]{};
    constexpr fixed_name(const char (&text)[N]) {
        for (std::size_t i = 0; i < N; ++i) chars[i] = text[i];
    }
    constexpr std::string_view view() const { return {chars, N - 1}; }
};

// One step of a layer's path inside its network: a Seq index or a name.
struct Segment {
    enum class Kind : std::uint8_t { index, name, none } kind = Kind::none;
    std::int64_t index = 0;
    std::string_view name;
};
}  // namespace detail

template <detail::fixed_name Name, class Layer>
struct Named {
    using layer = Layer;
    static constexpr std::string_view name = Name.view();
    static constexpr std::string_view kind = "Named";
    static constexpr bool composite = true;

    template <class Visitor, class Value>
    static constexpr Value walk(Visitor& visitor, Value in);
};

namespace detail {
template <class L>
struct is_named : std::false_type {};
template <fixed_name Name, class L>
struct is_named<Named<Name, L>> : std::true_type {};

// The segment a child adds to the path: its Named name, else what its parent calls it.
template <class L>
constexpr Segment segment_of(Segment fallback) {
    if constexpr (is_named<L>::value) {
        if (L::name.empty()) return {};
        return {Segment::Kind::name, 0, L::name};
    } else {
        return fallback;
    }
}

template <class L>
concept CompositeLayer = requires { requires bool(L::composite); };

// Routes a visitor into one layer, under the path segment the parent gives it.
template <class L, class Visitor, class Value>
constexpr Value walk_layer(Visitor& visitor, Value in, Segment segment) {
    static_assert(LeafLayer<L> || CompositeLayer<L>, "snc: this type is not a layer of snc");
    visitor.enter(segment);
    Value out;
    if constexpr (LeafLayer<L>)
        out = visitor.template leaf<L>(in);
    else
        out = L::walk(visitor, in);
    visitor.leave(segment);
    return out;
}

// Walks layers in order, naming each by its index unless Named. A network passes hooks that see
// each top-level layer before and after its walk; a Seq passes none.
struct no_hooks {
    template <class L>
    constexpr void before(std::int64_t) {}
    template <class Value>
    constexpr void after(std::int64_t, const Value&) {}
};

template <class... Layers, class Visitor, class Value, class Hooks>
constexpr Value walk_sequence(Visitor& visitor, Value in, Hooks& hooks) {
    Value x = in;
    std::int64_t index = 0;
    boost::hana::for_each(boost::hana::tuple_t<Layers...>, [&](auto layer) {
        using L = typename decltype(layer)::type;
        if (!visitor.failed()) {
            hooks.template before<L>(index);
            x = walk_layer<L>(visitor, x, segment_of<L>({Segment::Kind::index, index, {}}));
            if (!visitor.failed()) hooks.after(index, x);
        }
        ++index;
    });
    return x;
}
}  // namespace detail

template <detail::fixed_name Name, class Layer>
template <class Visitor, class Value>
constexpr Value Named<Name, Layer>::walk(Visitor& visitor, Value in) {
    return detail::walk_layer<Layer>(visitor, in, {});
}

template <class... Layers>
struct Seq {
    static constexpr std::string_view kind = "Seq";
    static constexpr bool composite = true;

    template <class Visitor, class Value>
    static constexpr Value walk(Visitor& visitor, Value in) {
        detail::no_hooks hooks;
        return detail::walk_sequence<Layers...>(visitor, in, hooks);
    }
};

// The shortcut that passes its input unchanged.
struct Identity {
    static constexpr std::string_view kind = "Identity";
    static constexpr bool composite = true;

    template <class Visitor, class Value>
    static constexpr Value walk(Visitor&, Value in) { return in; }
};

template <class Body, class Shortcut = Identity>
struct Residual {
    static constexpr std::string_view kind = "Residual";
    static constexpr bool composite = true;
    using body = Body;
    using shortcut = Shortcut;

    template <class Visitor, class Value>
    static constexpr Value walk(Visitor& visitor, Value in) {
        using detail::Segment;
        Value from_body = detail::walk_layer<Body>(visitor, in, detail::segment_of<Body>({Segment::Kind::name, 0, "body"}));
        if (visitor.failed()) return from_body;
        Value from_shortcut =
            detail::walk_layer<Shortcut>(visitor, in, detail::segment_of<Shortcut>({Segment::Kind::name, 0, "shortcut"}));
        if (visitor.failed()) return from_body;
        return visitor.template add<Residual>(from_body, from_shortcut, in);
    }
};

}  // namespace snc
