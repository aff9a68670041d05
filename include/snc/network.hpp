// Network<Input<N, H, W, C>, Layers...>: a whole network as one type, checked while it compiles.
//
// The check is a constant evaluation that walks the layers with a ShapeChecker (the same walk that
// builds the run-time graph, see graph.hpp), stopping at the first layer that refuses its input.
// A failure becomes one compiler error: a call to a deleted function whose template argument is the
// whole message, so the first error line names the layer's position, its kind and both shapes:
//
//   error: use of deleted function '... shape_error() [with snc::diagnostic Message =
//   snc::fixed_string<360>{"layer 8 (Dense<120>): Dense needs a rank-2 input (N, F) but gets
//   (128, 4, 4, 16); insert Flatten ..."}]'
//
// Nothing downstream depends on the failed layer's output, so no cascade follows.
#pragma once

#include <array>
#include <cstddef>

#include <boost/hana/at.hpp>

#include <snc/layers/block.hpp>

namespace snc {

// The network's input: Input<N, H, W, C> for images, Input<N, F> for feature vectors.
template <std::int64_t... Dims>
struct Input {
    static_assert(sizeof...(Dims) == 4 || sizeof...(Dims) == 2, "Input takes <N, H, W, C> or <N, F>");
    static constexpr Shape shape = Shape{Dims...};
};

// The text of a shape error, as a template argument (see shape_error below).
using diagnostic = fixed_string<360>;

// How a layer is shown in diagnostics and summaries: its type as written, a Named layer as
// "name: Type".
template <class L>
constexpr type_text display_name() {
    if constexpr (detail::is_named<L>::value) {
        type_text text;
        if (!L::name.empty()) text << L::name << ": ";
        return text << display_name<typename L::layer>();
    } else {
        return type_name<L>;
    }
}

// Whether a network's element is one leaf layer (perhaps Named), not a block of them.
template <class L>
constexpr bool is_leaf_element() {
    if constexpr (detail::is_named<L>::value) return is_leaf_element<typename L::layer>();
    else return LeafLayer<L>;
}

namespace detail {

// The compile-time visitor: shapes, counts, and the first failure with its place.
struct ShapeChecker {
    std::int64_t parameters = 0;
    std::int64_t macs = 0;
    std::int64_t activation_elements = 0;

    std::int64_t element = -1;
    type_text element_name;
    bool element_is_leaf = false;
    PathStep path[24]{};
    int depth = 0;

    bool has_failed = false;
    diagnostic message;

    constexpr bool failed() const { return has_failed; }
    constexpr void enter(PathStep step) {
        if (step.kind != PathStep::Kind::none) path[depth++] = step;
    }
    constexpr void leave(PathStep step) {
        if (step.kind != PathStep::Kind::none) --depth;
    }

    template <class L>
    constexpr Shape leaf(Shape in) {
        Complaint complaint;
        if (!L::check(in, complaint)) {
            fail(element_is_leaf && depth <= 1 ? type_text{} : type_name<L>, complaint);
            return in;
        }
        Shape out = L::output(in);
        parameters += L::tensors(in).trainable_elements();
        macs += L::macs(in);
        activation_elements += out.elements();
        return out;
    }

    template <class Block>
    constexpr Shape add(Shape body, Shape shortcut, Shape in) {
        if (body == shortcut) {  // residual: body(in) + shortcut(in)
            activation_elements += body.elements();
            return body;
        }
        Complaint complaint;
        complaint << "the body gives " << body << " but the shortcut gives " << shortcut
                  << " from the input " << in << "; they must agree to be added";
        fail(type_text{Block::kind}, complaint);
        return body;
    }

    // Concat: the branches' channels side by side.
    template <class Block, std::size_t Count>
    constexpr Shape concat(const std::array<Shape, Count>& branches, Shape in) {
        Shape out = branches[0];
        for (std::size_t k = 1; k < Count; ++k) {
            const Shape b = branches[k];
            const bool agree = b.rank == out.rank && b.n() == out.n() && b.h() == out.h() && b.w() == out.w();
            if (!agree) {
                Complaint complaint;
                complaint << "branch " << k << " gives " << b << " but branch 0 gives " << branches[0] << " from the input "
                          << in << "; a Concat joins channels, so N, H and W must agree";
                fail(type_text{Block::kind}, complaint);
                return out;
            }
            out.dims[out.rank - 1] += b.c();
        }
        activation_elements += out.elements();
        return out;
    }

    // Gate: in * gate, the gate one value per image and channel.
    template <class Block>
    constexpr Shape gate(Shape in, Shape gate) {
        const bool per_channel = gate.n() == in.n() && gate.c() == in.c() && (gate.is_matrix() || (gate.h() == 1 && gate.w() == 1));
        if (!per_channel || (in.is_matrix() && gate.is_image())) {
            Complaint complaint;
            complaint << "its branch gives " << gate << " for the input " << in << "; a gate must give (" << in.n();
            if (in.is_image()) complaint << ", 1, 1, " << in.c() << ") or (" << in.n();
            complaint << ", " << in.c() << ") to scale it";
            fail(type_text{Block::kind}, complaint);
            return in;
        }
        activation_elements += in.elements();
        return in;
    }

    constexpr void fail(const type_text& inner, const Complaint& complaint) {
        has_failed = true;
        message << "layer " << element << " (" << element_name << ")";
        if (depth > 1) {
            message << ", in ";
            for (int i = 0; i < depth; ++i) {
                if (i) message << ".";
                if (path[i].kind == PathStep::Kind::index) message << path[i].index;
                else message << path[i].name;
            }
            message << " (" << inner << ")";
        } else if (!inner.empty()) {
            message << ", in its " << inner;
        }
        message << ": " << complaint;
    }
};

template <std::size_t Elements>
struct NetworkFacts {
    Shape input_shape;
    Shape output_shape;
    Shape element_shapes[Elements + 1]{};
    std::int64_t element_parameters[Elements + 1]{};
    std::int64_t element_macs[Elements + 1]{};
    std::int64_t element_activation_bytes[Elements + 1]{};
    std::int64_t parameters = 0;
    std::int64_t macs = 0;
    std::int64_t activation_bytes = 0;
    diagnostic error;

    constexpr bool valid() const { return error.empty(); }
};

constexpr std::int64_t bytes_per_value = 4;  // float32 activations

// Records each top-level layer's facts as the walk passes it.
template <std::size_t Elements>
struct FactHooks {
    ShapeChecker& checker;
    NetworkFacts<Elements>& facts;
    std::int64_t parameters_before = 0, macs_before = 0, activations_before = 0;

    template <class L>
    constexpr void before(std::int64_t index) {
        checker.element = index;
        checker.element_name = display_name<L>();
        checker.element_is_leaf = is_leaf_element<L>();
        parameters_before = checker.parameters;
        macs_before = checker.macs;
        activations_before = checker.activation_elements;
    }
    constexpr void after(std::int64_t index, const Shape& out) {
        facts.element_shapes[index] = out;
        facts.element_parameters[index] = checker.parameters - parameters_before;
        facts.element_macs[index] = checker.macs - macs_before;
        facts.element_activation_bytes[index] = (checker.activation_elements - activations_before) * bytes_per_value;
    }
};

template <class In, class... Layers>
constexpr NetworkFacts<sizeof...(Layers)> inspect() {
    NetworkFacts<sizeof...(Layers)> facts;
    facts.input_shape = facts.output_shape = In::shape;
    ShapeChecker checker;
    if (!In::shape.all_positive()) {
        checker.has_failed = true;
        checker.message << "the input " << In::shape << " must have a positive size in every dimension";
    } else {
        FactHooks<sizeof...(Layers)> hooks{checker, facts};
        facts.output_shape = walk_sequence<Layers...>(checker, In::shape, hooks);
    }
    facts.parameters = checker.parameters;
    facts.macs = checker.macs;
    facts.activation_bytes = checker.activation_elements * bytes_per_value;
    if (checker.failed()) facts.error = checker.message;
    return facts;
}

// Where a shape error becomes a compiler error: this gate is deleted for an invalid network, and
// its template argument is the message, so the compiler prints the message on the error line.
template <bool Valid>
struct shape_gate {
    template <diagnostic Message>
    static constexpr bool shape_error() { return true; }
};
template <>
struct shape_gate<false> {
    template <diagnostic Message>
    static constexpr bool shape_error() = delete;
};

}  // namespace detail

template <class In, class... Layers>
struct Network {
    static constexpr bool composite = true;
    static constexpr std::string_view kind = "Network";
    static constexpr std::size_t size = sizeof...(Layers);
    static constexpr Shape input_shape = In::shape;
    static constexpr detail::NetworkFacts<size> facts = detail::inspect<In, Layers...>();
    static constexpr bool valid = facts.valid();
    static_assert(detail::shape_gate<valid>::template shape_error<facts.error>());
    static constexpr Shape output_shape = facts.output_shape;

    template <class Visitor, class Value, class Hooks = detail::no_hooks>
    static Value walk(Visitor& visitor, Value in, Hooks hooks = {}) {
        return detail::walk_sequence<Layers...>(visitor, in, hooks);
    }
    template <std::size_t I>
    using element = typename decltype(+boost::hana::at_c<I>(boost::hana::tuple_t<Layers...>))::type;
};

template <class N>
concept NetworkType = requires {
    { N::facts.valid() } -> std::same_as<bool>;
    { N::input_shape } -> std::convertible_to<Shape>;
};

// Compile-time facts, usable in static_assert (a memory budget, say).
template <NetworkType Net>
constexpr std::int64_t parameter_count = Net::facts.parameters;  // as PyTorch's sum(p.numel() for p in parameters())
template <NetworkType Net>
constexpr std::int64_t mac_count = Net::facts.macs;  // multiply-adds of one forward pass, whole batch
template <NetworkType Net>
constexpr std::int64_t activation_bytes = Net::facts.activation_bytes;  // float32 bytes of every layer's output

template <NetworkType Net, std::size_t I>
    requires(I < Net::size)
constexpr Shape output_shape_at = Net::facts.element_shapes[I];
template <NetworkType Net, std::size_t I>
    requires(I < Net::size)
constexpr std::int64_t layer_parameter_count = Net::facts.element_parameters[I];
template <NetworkType Net, std::size_t I>
    requires(I < Net::size)
constexpr std::int64_t layer_mac_count = Net::facts.element_macs[I];
template <NetworkType Net, std::size_t I>
    requires(I < Net::size)
constexpr std::int64_t layer_activation_bytes = Net::facts.element_activation_bytes[I];

namespace detail {
template <std::int64_t Batch, class In>
struct rebatched_input;
template <std::int64_t Batch, std::int64_t N, std::int64_t... Rest>
struct rebatched_input<Batch, Input<N, Rest...>> {
    using type = Input<Batch, Rest...>;
};
// Deduced from a pointer, so that a network that derives from Network<...> (the nets/ headers'
// ResNet18<Batch>) is found through its base.
template <std::int64_t Batch, class In, class... Layers>
Network<typename rebatched_input<Batch, In>::type, Layers...> rebatched(const Network<In, Layers...>*);
}  // namespace detail

// The same network at another batch size: the data-parallel trainers compile the step of each
// process's share of the batch (with_batch<BNLeNet<128>, 64> for 2 processes).
template <NetworkType Net, std::int64_t Batch>
using with_batch = decltype(detail::rebatched<Batch>(static_cast<const Net*>(nullptr)));

}  // namespace snc
