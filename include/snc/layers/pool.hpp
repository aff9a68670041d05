// Pooling: MaxPool<Pool, Options...>, AvgPool<Pool, Options...>, GlobalAvgPool.
//
// Contract of MaxPool and AvgPool
//   Pool > 0, Stride<S> with S > 0 (default Pool), Valid (default) | Same | Pad<P> | Pads<T, L, B, R>.
//   in  = (N, H, W, C)
//   out = (N, (H + pad_top + pad_bottom - Pool) / S + 1, (W + pad_left + pad_right - Pool) / S + 1, C)
//   MaxPool ignores padding pixels (they act as -infinity). AvgPool divides by the pixels inside
//   the input (Keras, ONNX); with CountIncludePad, by Pool * Pool (PyTorch's default).
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
                .count_include_pad = Options.count_include_pad};
    }
    static constexpr Shape output(Shape in) { return window_output(spec(in).window, in, in.c()); }
};
}  // namespace detail

template <int Pool, class... Options>
struct MaxPool : detail::pool_rule<OpKind::max_pool, Pool, detail::fold_options<Options...>()> {
    static_assert((detail::option_in<Options, OptionFamily::window>() && ...),
                  "MaxPool's options are Stride<S>, Valid, Same, Pad<P> and Pads<T, L, B, R>");
    static constexpr std::string_view kind = "MaxPool";
    static constexpr int pool = Pool;
    static constexpr bool check(Shape in, Complaint& complaint) {
        return MaxPool::check_pool(kind, in, complaint);
    }
};

template <int Pool, class... Options>
struct AvgPool : detail::pool_rule<OpKind::avg_pool, Pool, detail::fold_options<Options...>()> {
    static_assert((detail::option_in<Options, OptionFamily::window, OptionFamily::average>() && ...),
                  "AvgPool's options are Stride<S>, Valid, Same, Pad<P>, Pads<T, L, B, R> and CountIncludePad");
    static constexpr std::string_view kind = "AvgPool";
    static constexpr int pool = Pool;
    static constexpr bool check(Shape in, Complaint& complaint) {
        return AvgPool::check_pool(kind, in, complaint);
    }
};

struct GlobalAvgPool : stateless_layer {
    static constexpr std::string_view kind = "GlobalAvgPool";
    static constexpr bool check(Shape in, Complaint& complaint) { return detail::require_image(kind, in, complaint); }
    static constexpr OpSpec spec(Shape) { return {.kind = OpKind::global_avg_pool, .role = OpRole::reduce}; }
    static constexpr Shape output(Shape in) { return Shape{in.n(), in.c()}; }
};

}  // namespace snc
