// What every layer of snc provides, and the vocabulary the layers share.
//
// A leaf layer (Conv, BatchNorm, ...) is a type with static constexpr members:
//   kind                     short name ("Conv"), used when a nested layer is reported
//   check(in, complaint)     false, with a sentence in `complaint`, when it cannot take `in`
//   output(in)               its shape rule, written once as a formula in integer arithmetic
//   spec(in)                 its hyper-parameters resolved for `in` (paddings of Same, ...)
//   tensors(in)              its parameter and buffer tensors, named and shaped as PyTorch does
//   macs(in)                 multiply-adds of one forward pass
// A composite layer (Seq, Residual, Named, the networks' named blocks) instead provides
//   walk(visitor, value)     which routes a visitor through its children (see walk.hpp).
#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>

#include <snc/detail/text.hpp>
#include <snc/shape.hpp>

namespace snc {

// The sentence a layer writes when it refuses its input.
using Complaint = detail::basic_text<224>;

enum class OpKind : std::uint8_t {
    conv, batch_norm, relu, sigmoid, tanh, max_pool, avg_pool, global_avg_pool, flatten, dense, add
};

// A sliding window with its padding resolved to explicit pixels on each side.
struct Window {
    int kernel = 1;
    int stride = 1;
    int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};

// Everything lowering needs to know about one leaf layer, independent of its C++ spelling.
struct OpSpec {
    OpKind kind{};
    std::int64_t units = 0;          // Conv filters, Dense units
    Window window{};
    bool bias = false;               // Conv, Dense
    bool count_include_pad = false;  // AvgPool: divide by the full window, padding included
    float epsilon = 0.0f;            // BatchNorm
    float momentum = 0.0f;           // BatchNorm, for the running statistics in training
};

// One parameter or buffer tensor, named and shaped as in a PyTorch state_dict.
struct TensorSpec {
    std::string_view name;  // "weight", "bias", "running_mean", "running_var"
    int rank = 0;
    std::int64_t dims[4]{};
    bool trainable = true;  // false for BatchNorm's running statistics (buffers, not parameters)

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
            if (tensor.trainable) count += tensor.elements();
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
