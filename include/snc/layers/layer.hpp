// What every layer of snc provides, and the vocabulary the layers share.
//
// A leaf layer (Conv, BatchNorm, ...) is a type with static constexpr members:
//   kind                     short name ("Conv"), used when a nested layer is reported
//   check(in, complaint)     false, with a sentence in `complaint`, when it cannot take `in`
//   output(in)               its shape rule, written once as a formula in integer arithmetic
//   spec(in)                 its op: kind, role, hyper-parameters resolved for `in` (paddings of Same, ...)
//   tensors(in)              its parameter and buffer tensors, named and shaped as PyTorch does
//   macs(in)                 multiply-adds of one forward pass
// A composite layer (Seq, Residual, Named, the networks' named blocks) instead provides
//   walk(visitor, value)     which routes a visitor through its children (see block.hpp).
#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>

#include <snc/fixed_string.hpp>
#include <snc/shape.hpp>

namespace snc {

// The sentence a layer writes when it refuses its input.
using Complaint = fixed_string<224>;

// Every op kind, once. The enum OpKind, each kind's name and the compiler's table of op files
// (src/ops/, where each kind's `<kind>_op()` lives) are made from this list, so a new layer kind
// is registered by its one line here.
#define SNC_OP_KINDS(X) \
    X(conv)             \
    X(dense)            \
    X(batch_norm)       \
    X(relu)             \
    X(sigmoid)          \
    X(tanh)             \
    X(max_pool)         \
    X(avg_pool)         \
    X(global_avg_pool)  \
    X(flatten)          \
    X(add)              \
    X(dropout)          \
    X(grouped_conv)     \
    X(concat)           \
    X(gate)             \
    X(slice)            \
    X(channel_shuffle)  \
    X(relu6)            \
    X(hard_sigmoid)     \
    X(hard_swish)       \
    X(silu)             \
    X(gelu)             \
    X(leaky_relu)       \
    X(layer_norm)       \
    X(layer_scale)      \
    X(stochastic_depth)

enum class OpKind : std::uint8_t {
#define SNC_OP_KIND_ENUMERATOR(kind) kind,
    SNC_OP_KINDS(SNC_OP_KIND_ENUMERATOR)
#undef SNC_OP_KIND_ENUMERATOR
};

constexpr std::string_view op_kind_name(OpKind kind) {
    constexpr std::string_view names[] = {
#define SNC_OP_KIND_NAME(kind) #kind,
        SNC_OP_KINDS(SNC_OP_KIND_NAME)
#undef SNC_OP_KIND_NAME
    };
    return names[std::size_t(kind)];
}

// How an op takes part in the inference plan (plan.hpp), which groups ops into fused stages.
enum class OpRole : std::uint8_t {
    accumulate,  // conv, grouped conv, dense: a weighted reduction; it starts a stage that absorbs
                 // the per-channel affine map after it (folded into its weights), a residual add and
                 // an activation
    normalize,   // batch norm, layer scale: a per-channel affine map; folds into the accumulate
                 // before it, else a per-channel affine stage
    merge,       // the residual add: fuses into the stage before it, else a stage of its own
    activate,    // element-wise activations: fuse into the stage before them, else a stage
    join,        // concat, gate: reads several values; a stage of its own, an activation fuses after it
    reshape,     // flatten, channel slices and shuffles: a view of its input, computed by whoever reads it
    reduce,      // pools, the global mean, layer norm: a stage of their own
    identity,    // the identity at inference (dropout, stochastic depth): no stage, its readers read its input
};

// A sliding window with its padding resolved to explicit pixels on each side.
// A window of kernel x kernel pixels, or kernel rows by kernel_columns columns (a conv's
// KernelWidth<W>). A dilated window's taps are `dilation` pixels apart: it spans
// dilation * (taps - 1) + 1 pixels along each axis.
struct Window {
    int kernel = 1;
    int stride = 1;
    int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
    int dilation = 1;
    int kernel_columns = 0;  // 0: square

    constexpr bool padded() const { return pad_top || pad_left || pad_bottom || pad_right; }
    constexpr int rows() const { return kernel; }
    constexpr int columns() const { return kernel_columns ? kernel_columns : kernel; }
    constexpr bool square() const { return columns() == rows(); }
    constexpr int span_rows() const { return dilation * (rows() - 1) + 1; }
    constexpr int span_columns() const { return dilation * (columns() - 1) + 1; }
};

// Everything the compiler needs to know about one leaf layer, independent of its C++ spelling.
struct OpSpec {
    OpKind kind{};
    OpRole role{};
    std::int64_t units = 0;          // Conv filters, Dense units
    Window window{};
    bool bias = false;               // Conv, Dense
    bool count_include_pad = false;  // AvgPool: divide by the full window, padding included
    float epsilon = 0.0f;            // BatchNorm
    float momentum = 0.0f;           // BatchNorm, for the running statistics in training
    float rate = 0.0f;               // Dropout, StochasticDepth: the probability that an element (a sample) is dropped
    int groups = 1;                  // grouped conv: input and output channels in this many groups
    bool ceil_mode = false;          // pools: the output extent rounds up (PyTorch's ceil_mode)
    std::int64_t begin = 0;          // Slice: the first channel kept
    float slope = 0.0f;              // LeakyReLU: the slope below zero
};

// What a tensor is to its layer: it decides the tensor's layout (layout.hpp), its initial values
// (weights.hpp) and whether training updates it.
enum class TensorRole : std::uint8_t {
    weight,        // conv (out, in / groups, kernel rows, kernel columns), dense (units, features)
    bias,          // one per output channel or unit
    scale, shift,  // batch norm's and layer norm's gamma and beta, layer scale's gamma: one per channel or feature
    running_mean,  // batch norm's buffers: kept by training, not trained
    running_var,
};

// One parameter or buffer tensor, named and shaped as in a PyTorch state_dict.
struct TensorSpec {
    std::string_view name;  // "weight", "bias", "running_mean", "running_var"
    int rank = 0;
    std::int64_t dims[4]{};
    TensorRole role{};  // weight (written `{}`: g++ 12 refuses `= TensorRole::weight` in arrays of these)

    constexpr bool trainable() const { return role != TensorRole::running_mean && role != TensorRole::running_var; }
    constexpr std::int64_t elements() const {
        std::int64_t count = 1;
        for (int axis = 0; axis < rank; ++axis) count *= dims[axis];
        return count;
    }
};

struct TensorList {
    TensorSpec items[4]{};
    int size = 0;

    constexpr TensorList& add(TensorSpec tensor) {
        items[size++] = tensor;
        return *this;
    }
    constexpr const TensorSpec* begin() const { return items; }
    constexpr const TensorSpec* end() const { return items + size; }
    constexpr std::int64_t trainable_elements() const {
        std::int64_t count = 0;
        for (const TensorSpec& tensor : *this)
            if (tensor.trainable()) count += tensor.elements();
        return count;
    }
};

template <class L>
concept LeafLayer = requires(Shape in, Complaint& complaint) {
    { L::kind } -> std::convertible_to<std::string_view>;
    { L::check(in, complaint) } -> std::same_as<bool>;
    { L::output(in) } -> std::same_as<Shape>;
    { L::spec(in) } -> std::same_as<OpSpec>;
    { L::tensors(in) } -> std::same_as<TensorList>;
    { L::macs(in) } -> std::same_as<std::int64_t>;
};

// Layers without parameters share these defaults.
struct stateless_layer {
    static constexpr TensorList tensors(Shape) { return {}; }
    static constexpr std::int64_t macs(Shape) { return 0; }
};

namespace detail {
// The check every layer makes on its own hyper-parameters; `what` names the parameter.
constexpr bool require_positive(std::int64_t value, std::string_view what, Complaint& complaint) {
    if (value > 0) return true;
    complaint << what << " must be positive, got " << value;
    return false;
}

constexpr bool require_image(std::string_view kind, Shape in, Complaint& complaint) {
    if (in.is_image()) return true;
    complaint << kind << " needs an image (N, H, W, C) but gets " << in;
    return false;
}
}  // namespace detail

}  // namespace snc
