// Layer options, written in any order after a layer's required arguments:
//   Conv<64, 3, Same, Stride<2>, NoBias>, MaxPool<3, Stride<2>, Pad<1>>, BatchNorm<Epsilon<1e-3f>>.
//
// Each option is a small type that edits a LayerOptions value; a layer folds its options over the
// defaults with hana::fold_left, and rejects options that do not belong to it with one sentence.
#pragma once

#include <boost/hana/fold_left.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include <snc/layers/layer.hpp>

namespace snc {

enum class Padding : std::uint8_t { valid, same, explicit_pixels };

struct LayerOptions {
    bool has_stride = false;  // without Stride<S>: 1 for Conv, the window for pools
    int stride = 0;
    Padding padding = Padding::valid;
    int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;  // explicit pixels
    bool bias = true;
    bool count_include_pad = false;
    float epsilon = 1e-5f;
    float momentum = 0.1f;
    int groups = 1;
    int dilation = 1;
    int kernel_width = 0;  // 0: as many columns as rows
    bool ceil_mode = false;
};

// Which layers an option belongs to.
enum class OptionFamily : std::uint8_t { window, bias, average, normalization, convolution, pooling };

template <int S>
struct Stride {
    static constexpr OptionFamily family = OptionFamily::window;
    static constexpr LayerOptions apply(LayerOptions o) { o.has_stride = true; o.stride = S; return o; }
};
// No padding: the window stays inside the input (the default, as in Keras).
struct Valid {
    static constexpr OptionFamily family = OptionFamily::window;
    static constexpr LayerOptions apply(LayerOptions o) { o.padding = Padding::valid; return o; }
};
// TensorFlow/Keras 'same': out = ceil(in / stride); the odd padding pixel goes bottom/right.
struct Same {
    static constexpr OptionFamily family = OptionFamily::window;
    static constexpr LayerOptions apply(LayerOptions o) { o.padding = Padding::same; return o; }
};
// P pixels on every side, as PyTorch's padding=P.
template <int P>
struct Pad {
    static constexpr OptionFamily family = OptionFamily::window;
    static constexpr LayerOptions apply(LayerOptions o) {
        o.padding = Padding::explicit_pixels;
        o.pad_top = o.pad_left = o.pad_bottom = o.pad_right = P;
        return o;
    }
};
// Pixels on each side, as ONNX's pads (and its auto_pad=SAME_LOWER, which pads top/left first).
template <int Top, int Left, int Bottom, int Right>
struct Pads {
    static constexpr OptionFamily family = OptionFamily::window;
    static constexpr LayerOptions apply(LayerOptions o) {
        o.padding = Padding::explicit_pixels;
        o.pad_top = Top, o.pad_left = Left, o.pad_bottom = Bottom, o.pad_right = Right;
        return o;
    }
};
struct NoBias {
    static constexpr OptionFamily family = OptionFamily::bias;
    static constexpr LayerOptions apply(LayerOptions o) { o.bias = false; return o; }
};
// AvgPool divides by the whole window, padding included (PyTorch's count_include_pad=True);
// by default it divides by the pixels inside the input, as Keras and ONNX do.
struct CountIncludePad {
    static constexpr OptionFamily family = OptionFamily::average;
    static constexpr LayerOptions apply(LayerOptions o) { o.count_include_pad = true; return o; }
};
// Input and output channels in G groups, each output group convolving its input group only
// (PyTorch's groups=G); Groups<C> on C input channels is a depthwise conv.
template <int G>
struct Groups {
    static constexpr OptionFamily family = OptionFamily::convolution;
    static constexpr LayerOptions apply(LayerOptions o) { o.groups = G; return o; }
};
// The kernel's taps D pixels apart (PyTorch's dilation=D): a Kernel x Kernel conv sees a window of
// D * (Kernel - 1) + 1 pixels a side.
template <int D>
struct Dilation {
    static constexpr OptionFamily family = OptionFamily::convolution;
    static constexpr LayerOptions apply(LayerOptions o) { o.dilation = D; return o; }
};
// A rectangular kernel: the conv's Kernel rows by W columns (PyTorch's kernel_size=(Kernel, W)),
// as Inception v3's 1x7 and 7x1 convs.
template <int W>
struct KernelWidth {
    static constexpr OptionFamily family = OptionFamily::convolution;
    static constexpr LayerOptions apply(LayerOptions o) { o.kernel_width = W; return o; }
};
// The pool's output extent rounds up, as PyTorch's ceil_mode=True: a last window that starts
// inside the input (or its left padding) but runs past the padded input still counts.
struct CeilMode {
    static constexpr OptionFamily family = OptionFamily::pooling;
    static constexpr LayerOptions apply(LayerOptions o) { o.ceil_mode = true; return o; }
};
template <float E>
struct Epsilon {
    static constexpr OptionFamily family = OptionFamily::normalization;
    static constexpr LayerOptions apply(LayerOptions o) { o.epsilon = E; return o; }
};
// PyTorch's convention: running = (1 - momentum) * running + momentum * batch.
template <float M>
struct Momentum {
    static constexpr OptionFamily family = OptionFamily::normalization;
    static constexpr LayerOptions apply(LayerOptions o) { o.momentum = M; return o; }
};

template <class O>
concept LayerOption = requires {
    { O::family } -> std::convertible_to<OptionFamily>;
    { O::apply(LayerOptions{}) } -> std::same_as<LayerOptions>;
};

namespace detail {
// A type that is no option is skipped here: the layer's own static_assert names the mistake, and
// this fold adds no second error after it.
template <class... Options>
constexpr LayerOptions fold_options() {
    return boost::hana::fold_left(boost::hana::tuple_t<Options...>, LayerOptions{}, [](LayerOptions o, auto option) {
        using O = typename decltype(option)::type;
        if constexpr (LayerOption<O>) return O::apply(o);
        else return o;
    });
}

template <class O, OptionFamily... Accepted>
constexpr bool option_in() {
    if constexpr (!LayerOption<O>) return false;
    else return ((O::family == Accepted) || ...);
}
}  // namespace detail

}  // namespace snc
