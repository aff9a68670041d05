// Dense<Units, Options...> and Flatten.
//
// Contract of Flatten
//   in = (N, H, W, C), out = (N, H * W * C), features in H, W, C order (C fastest). PyTorch's
//   nn.Flatten orders them C, H, W: the layouts of the tensors that read flattened features say
//   both orders (layout.hpp), so PyTorch's weights load unchanged.
//   A (N, F) input passes unchanged.
// Contract of Dense
//   Units > 0, NoBias. in = (N, F), out = (N, Units).
//   parameters: weight (Units, F) as PyTorch's nn.Linear, bias (Units) unless NoBias.
#pragma once

#include <snc/layers/options.hpp>

namespace snc {

struct Flatten : stateless_layer {
    static constexpr std::string_view kind = "Flatten";
    static constexpr bool check(Shape, Complaint&) { return true; }
    static constexpr OpSpec spec(Shape) { return {.kind = OpKind::flatten, .role = OpRole::reshape}; }
    static constexpr Shape output(Shape in) { return Shape{in.n(), in.features()}; }
};

template <int Units, class... Options>
struct Dense {
    static_assert((detail::option_in<Options, OptionFamily::bias>() && ...), "Dense's only option is NoBias");

    static constexpr std::string_view kind = "Dense";
    static constexpr int units = Units;
    static constexpr LayerOptions options = detail::fold_options<Options...>();

    static constexpr bool check(Shape in, Complaint& complaint) {
        if (!detail::require_positive(Units, "the number of units", complaint)) return false;
        if (in.is_matrix()) return true;
        complaint << "Dense needs a rank-2 input (N, F) but gets " << in
                  << "; insert Flatten or GlobalAvgPool before it";
        return false;
    }
    static constexpr OpSpec spec(Shape) {
        return {.kind = OpKind::dense, .role = OpRole::accumulate, .units = Units, .bias = options.bias};
    }
    static constexpr Shape output(Shape in) { return Shape{in.n(), Units}; }
    static constexpr TensorList tensors(Shape in) {
        TensorList list;
        list.add({.name = "weight", .rank = 2, .dims = {Units, in.features()}, .role = TensorRole::weight});
        if (options.bias) list.add({.name = "bias", .rank = 1, .dims = {Units}, .role = TensorRole::bias});
        return list;
    }
    static constexpr std::int64_t macs(Shape in) { return in.n() * in.features() * Units; }
};

}  // namespace snc
