// Conv<Filters, Kernel, Options...>: a square 2-D convolution over (N, H, W, C), C innermost.
//
// Contract
//   Filters > 0, Kernel > 0, Stride<S> with S > 0 (default 1), Valid (default) | Same | Pad<P> | Pads<T, L, B, R>,
//   Groups<G> with G dividing C and Filters (default 1), Dilation<D> with D > 0 (default 1),
//   KernelWidth<KW> (default Kernel: a Kernel x KW kernel, PyTorch's kernel_size=(Kernel, KW)), NoBias.
//   in   = (N, H, W, C)
//   span = D * (Kernel - 1) + 1 down, D * (KW - 1) + 1 across
//   out  = (N, (H + pad_top + pad_bottom - span_down) / S + 1, (W + pad_left + pad_right - span_across) / S + 1, Filters)
//   Output channel o sees the input channels of its group, g = o / (Filters / G):
//   [g * C / G, (g + 1) * C / G). Groups<C> with Filters a multiple of C is a depthwise conv.
//   parameters: weight (Filters, C / G, Kernel, KW) as PyTorch's OIHW, bias (Filters) unless NoBias.
//
// A dense square conv (G = 1, D = 1, KW = Kernel) is the op `conv`, which takes the
// register-tiled schedules and Winograd; any other is `grouped_conv`, whose reduction is over few channels (one for a depthwise
// conv) and which is scheduled as the memory-bound loop it is (src/ops/grouped_conv.cpp).
#pragma once

#include <snc/layers/window.hpp>

namespace snc {

template <int Filters, int Kernel, class... Options>
struct Conv {
    static_assert((detail::option_in<Options, OptionFamily::window, OptionFamily::bias, OptionFamily::convolution>() && ...),
                  "Conv's options are Stride<S>, Valid, Same, Pad<P>, Pads<T, L, B, R>, Groups<G>, Dilation<D>, KernelWidth<W> and NoBias");

    static constexpr std::string_view kind = "Conv";
    static constexpr int filters = Filters;
    static constexpr int kernel = Kernel;
    static constexpr LayerOptions options = detail::fold_options<Options...>();
    static constexpr int groups = options.groups;
    static constexpr int kernel_width = options.kernel_width ? options.kernel_width : Kernel;

    static constexpr bool check(Shape in, Complaint& complaint) {
        if (!detail::require_positive(Filters, "the number of filters", complaint)) return false;
        if (!detail::require_positive(groups, "the number of groups", complaint)) return false;
        if (!detail::check_window(kind, options, Kernel, 1, in, complaint)) return false;
        if (in.c() % groups || Filters % groups) {
            complaint << groups << " groups must divide the " << in.c() << " input channels and the " << Filters << " filters";
            return false;
        }
        return true;
    }
    static constexpr OpSpec spec(Shape in) {
        const bool dense = groups == 1 && options.dilation == 1 && kernel_width == Kernel;
        return {.kind = dense ? OpKind::conv : OpKind::grouped_conv,
                .role = OpRole::accumulate,
                .units = Filters,
                .window = detail::resolve_window(options, Kernel, 1, in),
                .bias = options.bias,
                .groups = groups};
    }
    static constexpr Shape output(Shape in) { return detail::window_output(spec(in).window, in, Filters); }
    static constexpr TensorList tensors(Shape in) {
        TensorList list;
        list.add({.name = "weight", .rank = 4, .dims = {Filters, in.c() / groups, Kernel, kernel_width}, .role = TensorRole::weight});
        if (options.bias) list.add({.name = "bias", .rank = 1, .dims = {Filters}, .role = TensorRole::bias});
        return list;
    }
    // Each output element sums Kernel * KW * C / G products.
    static constexpr std::int64_t macs(Shape in) { return output(in).elements() * Kernel * kernel_width * (in.c() / groups); }
};

}  // namespace snc
