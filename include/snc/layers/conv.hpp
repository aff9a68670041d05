// Conv<Filters, Kernel, Options...>: a square 2-D convolution over (N, H, W, C), C innermost.
//
// Contract
//   Filters > 0, Kernel > 0, Stride<S> with S > 0 (default 1), Valid (default) | Same | Pad<P> | Pads<T, L, B, R>, NoBias.
//   in  = (N, H, W, C)
//   out = (N, (H + pad_top + pad_bottom - Kernel) / S + 1, (W + pad_left + pad_right - Kernel) / S + 1, Filters)
//   parameters: weight (Filters, C, Kernel, Kernel) as PyTorch's OIHW, bias (Filters) unless NoBias.
#pragma once

#include <snc/layers/window.hpp>

namespace snc {

template <int Filters, int Kernel, class... Options>
struct Conv {
    static_assert((detail::option_in<Options, OptionFamily::window, OptionFamily::bias>() && ...),
                  "Conv's options are Stride<S>, Valid, Same, Pad<P>, Pads<T, L, B, R> and NoBias");

    static constexpr std::string_view kind = "Conv";
    static constexpr int filters = Filters;
    static constexpr int kernel = Kernel;
    static constexpr LayerOptions options = detail::fold_options<Options...>();

    static constexpr bool check(Shape in, Complaint& complaint) {
        return detail::require_positive(Filters, "the number of filters", complaint) &&
               detail::check_window(kind, options, Kernel, 1, in, complaint);
    }
    static constexpr OpSpec spec(Shape in) {
        return {.kind = OpKind::conv,
                .role = OpRole::accumulate,
                .units = Filters,
                .window = detail::resolve_window(options, Kernel, 1, in),
                .bias = options.bias};
    }
    static constexpr Shape output(Shape in) { return detail::window_output(spec(in).window, in, Filters); }
    static constexpr TensorList tensors(Shape in) {
        TensorList list;
        list.add({.name = "weight", .rank = 4, .dims = {Filters, in.c(), Kernel, Kernel}, .role = TensorRole::weight});
        if (options.bias) list.add({.name = "bias", .rank = 1, .dims = {Filters}, .role = TensorRole::bias});
        return list;
    }
    // Each output element sums Kernel * Kernel * C products.
    static constexpr std::int64_t macs(Shape in) { return output(in).elements() * Kernel * Kernel * in.c(); }
};

}  // namespace snc
