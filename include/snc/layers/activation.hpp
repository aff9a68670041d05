// Element-wise activations: ReLU, Sigmoid, Tanh. Contract: out = in, any rank.
#pragma once

#include <snc/layers/layer.hpp>

namespace snc {

namespace detail {
template <OpKind Kind>
struct elementwise : stateless_layer {
    static constexpr bool check(Shape, Complaint&) { return true; }
    static constexpr OpSpec spec(Shape) { return {.kind = Kind, .role = OpRole::activate}; }
    static constexpr Shape output(Shape in) { return in; }
};
}  // namespace detail

// max(x, 0)
struct ReLU : detail::elementwise<OpKind::relu> {
    static constexpr std::string_view kind = "ReLU";
};
// 1 / (1 + exp(-x))
struct Sigmoid : detail::elementwise<OpKind::sigmoid> {
    static constexpr std::string_view kind = "Sigmoid";
};
// tanh(x)
struct Tanh : detail::elementwise<OpKind::tanh> {
    static constexpr std::string_view kind = "Tanh";
};

}  // namespace snc
