// Element-wise activations. Contract: out = in, any rank; no parameters. Each as PyTorch defines it:
//   ReLU         max(x, 0)
//   Sigmoid      1 / (1 + exp(-x))
//   Tanh         tanh(x)
//   ReLU6        min(max(x, 0), 6)                    (nn.ReLU6, ONNX's Clip(0, 6))
//   HardSigmoid  min(max(x + 3, 0), 6) / 6            (nn.Hardsigmoid)
//   HardSwish    x * min(max(x + 3, 0), 6) / 6        (nn.Hardswish)
//   SiLU         x / (1 + exp(-x))                    (nn.SiLU, "swish")
//   GELU         x / 2 * (1 + erf(x / sqrt(2)))       (nn.GELU, its exact erf form)
//   LeakyReLU    x if x >= 0, else Slope * x          (nn.LeakyReLU(Slope), default 0.01)
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

struct ReLU : detail::elementwise<OpKind::relu> {
    static constexpr std::string_view kind = "ReLU";
};
struct Sigmoid : detail::elementwise<OpKind::sigmoid> {
    static constexpr std::string_view kind = "Sigmoid";
};
struct Tanh : detail::elementwise<OpKind::tanh> {
    static constexpr std::string_view kind = "Tanh";
};
struct ReLU6 : detail::elementwise<OpKind::relu6> {
    static constexpr std::string_view kind = "ReLU6";
};
struct HardSigmoid : detail::elementwise<OpKind::hard_sigmoid> {
    static constexpr std::string_view kind = "HardSigmoid";
};
struct HardSwish : detail::elementwise<OpKind::hard_swish> {
    static constexpr std::string_view kind = "HardSwish";
};
struct SiLU : detail::elementwise<OpKind::silu> {
    static constexpr std::string_view kind = "SiLU";
};
struct GELU : detail::elementwise<OpKind::gelu> {
    static constexpr std::string_view kind = "GELU";
};
// (Clang before 18 takes no float template argument, not even a default one; g++ builds snc,
// clang only parses its headers.)
#if defined(__clang__) && __clang_major__ < 18
template <float Slope>
#else
template <float Slope = 0.01f>
#endif
struct LeakyReLU : detail::elementwise<OpKind::leaky_relu> {
    static constexpr std::string_view kind = "LeakyReLU";
    static constexpr OpSpec spec(Shape) { return {.kind = OpKind::leaky_relu, .role = OpRole::activate, .slope = Slope}; }
};

}  // namespace snc
