// Composite layers: Seq, Residual, Concat, Gate, Identity and Named.
//
// Contract of Seq<Layers...>
//   out = Layers_k(...Layers_1(Layers_0(in))); a reusable block, written once and used many times.
// Contract of Residual<Body, Shortcut = Identity>
//   out = Body(in) + Shortcut(in), with Body(in) and Shortcut(in) of the same shape. Activations
//   after the add are ordinary layers that follow the Residual.
// Contract of Concat<Branches...>
//   out = the channels of Branches_0(in), then Branches_1(in)'s, ...: two branches or more, each
//   given the same input, whose outputs agree on N, H and W (or are all (N, F)); out's C is the
//   sum of theirs. Identity is a branch too (DenseNet: Concat<Identity, Seq<...>>).
// Contract of Gate<Branch>
//   out = in * Branch(in), Branch(in) of shape (N, 1, 1, C) or (N, C) broadcast over H and W:
//   squeeze-excitation, the gate of MobileNetV3, EfficientNet and RegNetY. The branch's layers are
//   named under the Gate's own path (a Gate adds no step: Named<"fc1", ...> inside gives
//   "<gate>.fc1.weight", as torchvision's SqueezeExcitation).
// Contract of Named<"name", Layer>
//   out = Layer(in); the layer's parameters are named "name.<...>" instead of "<index>.<...>", as the
//   attribute names of a PyTorch module. Named<"", Layer> adds no name of its own.
//
// Parameter names follow PyTorch's state_dict: a Seq names its children by index ("3.weight"), a
// Residual names its branches "body" and "shortcut", a Concat its branches by index, unless they
// are Named. A Named name may be a
// number too: Named<"1", ...> keeps an nn.Sequential's index where snc has no layer of its own for
// the module before it (a padding folded into the conv after it, say).
#pragma once

#include <boost/hana/for_each.hpp>
#include <boost/hana/prepend.hpp>
#include <boost/hana/replicate.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>
#include <boost/hana/unpack.hpp>

#include <array>

#include <snc/layers/layer.hpp>

namespace snc {

// One step of a layer's path inside its network: a Seq index or a name. The steps joined by dots
// are the layer's PyTorch module name ("layer1.0.conv1").
struct PathStep {
    enum class Kind : std::uint8_t { index, name, none } kind = Kind::none;
    std::int64_t index = 0;
    std::string_view name;
};

template <fixed_string Name, class Layer>
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
template <fixed_string Name, class L>
struct is_named<Named<Name, L>> : std::true_type {};

// The step a child adds to the path: its Named name, else what its parent calls it.
template <class L>
constexpr PathStep step_of(PathStep fallback) {
    if constexpr (is_named<L>::value) {
        if (L::name.empty()) return {};
        return {PathStep::Kind::name, 0, L::name};
    } else {
        return fallback;
    }
}

template <class L>
concept CompositeLayer = requires { requires bool(L::composite); };

// Routes a visitor into one layer, under the path step the parent gives it.
template <class L, class Visitor, class Value>
constexpr Value walk_layer(Visitor& visitor, Value in, PathStep step) {
    static_assert(LeafLayer<L> || CompositeLayer<L>, "snc: this type is not a layer of snc");
    visitor.enter(step);
    Value out;
    if constexpr (LeafLayer<L>)
        out = visitor.template leaf<L>(in);
    else
        out = L::walk(visitor, in);
    visitor.leave(step);
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
            x = walk_layer<L>(visitor, x, step_of<L>({PathStep::Kind::index, index, {}}));
            if (!visitor.failed()) hooks.after(index, x);
        }
        ++index;
    });
    return x;
}
}  // namespace detail

template <fixed_string Name, class Layer>
template <class Visitor, class Value>
constexpr Value Named<Name, Layer>::walk(Visitor& visitor, Value in) {
    return detail::walk_layer<Layer>(visitor, in, detail::step_of<Layer>({}));  // a Named inside adds its name
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

// RepeatSeq<First, Next, Count>: Seq<First, Next, ..., Next> of Count layers, a ResNet stage whose
// first block differs from the others.
template <class First, class Next, std::size_t Count>
using RepeatSeq = typename decltype(boost::hana::unpack(
    boost::hana::prepend(boost::hana::replicate<boost::hana::tuple_tag>(boost::hana::type_c<Next>, boost::hana::size_c<Count - 1>),
                         boost::hana::type_c<First>),
    boost::hana::template_<Seq>))::type;

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
        Value from_body = detail::walk_layer<Body>(visitor, in, detail::step_of<Body>({PathStep::Kind::name, 0, "body"}));
        if (visitor.failed()) return from_body;
        Value from_shortcut =
            detail::walk_layer<Shortcut>(visitor, in, detail::step_of<Shortcut>({PathStep::Kind::name, 0, "shortcut"}));
        if (visitor.failed()) return from_body;
        return visitor.template add<Residual>(from_body, from_shortcut, in);
    }
};

template <class... Branches>
struct Concat {
    static_assert(sizeof...(Branches) >= 2, "snc: a Concat joins two branches or more");
    static constexpr std::string_view kind = "Concat";
    static constexpr bool composite = true;

    template <class Visitor, class Value>
    static constexpr Value walk(Visitor& visitor, Value in) {
        std::array<Value, sizeof...(Branches)> outputs{};
        std::int64_t index = 0;
        boost::hana::for_each(boost::hana::tuple_t<Branches...>, [&](auto branch) {
            using B = typename decltype(branch)::type;
            if (!visitor.failed())
                outputs[std::size_t(index)] = detail::walk_layer<B>(visitor, in, detail::step_of<B>({PathStep::Kind::index, index, {}}));
            ++index;
        });
        if (visitor.failed()) return outputs[0];
        return visitor.template concat<Concat>(outputs, in);
    }
};

template <class Branch>
struct Gate {
    static constexpr std::string_view kind = "Gate";
    static constexpr bool composite = true;
    using branch = Branch;

    template <class Visitor, class Value>
    static constexpr Value walk(Visitor& visitor, Value in) {
        Value gate = detail::walk_layer<Branch>(visitor, in, detail::step_of<Branch>({}));
        if (visitor.failed()) return in;
        return visitor.template gate<Gate>(in, gate);
    }
};

}  // namespace snc
