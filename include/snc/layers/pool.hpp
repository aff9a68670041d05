// Pooling: MaxPool<Pool, Options...>, AvgPool<Pool, Options...>, AdaptiveAvgPool<OH, OW>, GlobalAvgPool.
//
// Contract of MaxPool and AvgPool
//   Pool > 0, Stride<S> with S > 0 (default Pool), Valid (default) | Same | Pad<P> | Pads<T, L, B, R>, CeilMode.
//   in  = (N, H, W, C)
//   out = (N, (H + pad_top + pad_bottom - Pool) / S + 1, (W + pad_left + pad_right - Pool) / S + 1, C)
//         with CeilMode the divisions round up, as PyTorch's ceil_mode (window.hpp has the rule)
//   MaxPool ignores padding pixels (they act as -infinity). AvgPool divides by the pixels inside
//   the input (Keras, ONNX); with CountIncludePad, by the window's pixels inside the padded input
//   (PyTorch's default: Pool * Pool, less where a ceil-mode window runs past the padding).
// Contract of AdaptiveAvgPool<OH, OW = OH>
//   in = (N, H, W, C) with OH dividing H, OW dividing W and H / OH = W / OW: out = (N, OH, OW, C),
//   the mean of each (H / OH) x (W / OW) block, as PyTorch's AdaptiveAvgPool2d((OH, OW)) computes
//   for sizes that divide. AdaptiveAvgPool<1> keeps the image's rank: (N, 1, 1, C).
// Contract of GlobalAvgPool
//   in = (N, H, W, C), out = (N, C): the mean over H and W.
#pragma once

#include <snc/layers/window.hpp>

namespace snc {

namespace detail {
template <OpKind Kind, int Pool, LayerOptions Options>
struct pool_rule : stateless_layer {
    static constexpr bool check_pool(std::string_view kind, Shape in, Complaint& complaint) {
        return check_window(kind, Options, Pool, Pool, in, complaint);
    }
    static constexpr OpSpec spec(Shape in) {
        return {.kind = Kind,
                .role = OpRole::reduce,
                .window = resolve_window(Options, Pool, Pool, in),
                .count_include_pad = Options.count_include_pad,
                .ceil_mode = Options.ceil_mode};
    }
    static constexpr Shape output(Shape in) { return window_output(spec(in).window, in, in.c(), Options.ceil_mode); }
};
}  // namespace detail

template <int Pool, class... Options>
struct MaxPool : detail::pool_rule<OpKind::max_pool, Pool, detail::fold_options<Options...>()> {
    static_assert((detail::option_in<Options, OptionFamily::window, OptionFamily::pooling>() && ...),
                  "MaxPool's options are Stride<S>, Valid, Same, Pad<P>, Pads<T, L, B, R> and CeilMode");
    static constexpr std::string_view kind = "MaxPool";
    static constexpr int pool = Pool;
    static constexpr bool check(Shape in, Complaint& complaint) {
        return MaxPool::check_pool(kind, in, complaint);
    }
};

template <int Pool, class... Options>
struct AvgPool : detail::pool_rule<OpKind::avg_pool, Pool, detail::fold_options<Options...>()> {
    static_assert((detail::option_in<Options, OptionFamily::window, OptionFamily::average, OptionFamily::pooling>() && ...),
                  "AvgPool's options are Stride<S>, Valid, Same, Pad<P>, Pads<T, L, B, R>, CountIncludePad and CeilMode");
    static constexpr std::string_view kind = "AvgPool";
    static constexpr int pool = Pool;
    static constexpr bool check(Shape in, Complaint& complaint) {
        return AvgPool::check_pool(kind, in, complaint);
    }
};

template <int OutH, int OutW = OutH>
struct AdaptiveAvgPool : stateless_layer {
    static constexpr std::string_view kind = "AdaptiveAvgPool";
    static constexpr bool check(Shape in, Complaint& complaint) {
        if (!detail::require_positive(OutH, "the output height", complaint) ||
            !detail::require_positive(OutW, "the output width", complaint) || !detail::require_image(kind, in, complaint))
            return false;
        if (in.h() % OutH == 0 && in.w() % OutW == 0 && in.h() / OutH == in.w() / OutW) return true;
        complaint << "pools " << in << " to " << OutH << "x" << OutW << ", which needs square blocks: " << OutH
                  << " dividing " << in.h() << ", " << OutW << " dividing " << in.w() << ", equal quotients";
        return false;
    }
    static constexpr OpSpec spec(Shape in) {
        const int block = int(in.h() / OutH);
        return {.kind = OpKind::avg_pool, .role = OpRole::reduce, .window = {.kernel = block, .stride = block}};
    }
    static constexpr Shape output(Shape in) { return Shape{in.n(), OutH, OutW, in.c()}; }
};

struct GlobalAvgPool : stateless_layer {
    static constexpr std::string_view kind = "GlobalAvgPool";
    static constexpr bool check(Shape in, Complaint& complaint) { return detail::require_image(kind, in, complaint); }
    static constexpr OpSpec spec(Shape) { return {.kind = OpKind::global_avg_pool, .role = OpRole::reduce}; }
    static constexpr Shape output(Shape in) { return Shape{in.n(), in.c()}; }
};

}  // namespace snc
