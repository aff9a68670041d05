// Layers over the channels of each pixel: Slice<Begin, End>, ChannelShuffle<Groups>,
// LayerNorm<Options...>, LayerScale. Each takes an image (N, H, W, C) or features (N, F), F playing C.
//
// Contract of Slice<Begin, End>
//   0 <= Begin < End <= C. out = (N, H, W, End - Begin): channels [Begin, End) of the input, as
//   ShuffleNetV2's x.chunk(2, dim=1) gives each half. A view: it moves no data.
// Contract of ChannelShuffle<G>
//   G divides C. out = in with channel g * (C / G) + i moved to i * G + g (ShuffleNet's
//   channel_shuffle: view as (N, G, C / G, H, W), swap the two, flatten). A view.
// Contract of LayerNorm<Options...>
//   Epsilon<E> (default 1e-5f). At each pixel, over its C channels: mu = mean, var = mean of squared
//   deviations (biased), y = gamma (x - mu) / sqrt(var + E) + beta: PyTorch's nn.LayerNorm(C) on
//   channels-last data, ConvNeXt's LayerNorm2d. The same at training and inference.
//   parameters: weight (gamma) and bias (beta), (C).
// Contract of LayerScale
//   y = gamma * x per channel: ConvNeXt's layer scale, its tensor (C, 1, 1) for images, (C) for
//   features, named by its layer alone ("features.1.0.layer_scale" under Named<"layer_scale", ...>).
#pragma once

#include <snc/layers/options.hpp>

namespace snc {

template <int Begin, int End>
struct Slice : stateless_layer {
    static constexpr std::string_view kind = "Slice";
    static constexpr bool check(Shape in, Complaint& complaint) {
        if (Begin >= 0 && Begin < End && End <= in.c()) return true;
        complaint << "keeps channels [" << Begin << ", " << End << ") of " << in << ", which has " << in.c()
                  << "; it needs 0 <= Begin < End <= " << in.c();
        return false;
    }
    static constexpr OpSpec spec(Shape) { return {.kind = OpKind::slice, .role = OpRole::reshape, .begin = Begin}; }
    static constexpr Shape output(Shape in) {
        return in.is_image() ? Shape{in.n(), in.h(), in.w(), End - Begin} : Shape{in.n(), End - Begin};
    }
};

template <int Groups>
struct ChannelShuffle : stateless_layer {
    static constexpr std::string_view kind = "ChannelShuffle";
    static constexpr bool check(Shape in, Complaint& complaint) {
        if (!detail::require_positive(Groups, "the number of groups", complaint)) return false;
        if (in.c() % Groups == 0) return true;
        complaint << Groups << " groups must divide the " << in.c() << " channels of " << in;
        return false;
    }
    static constexpr OpSpec spec(Shape) { return {.kind = OpKind::channel_shuffle, .role = OpRole::reshape, .groups = Groups}; }
    static constexpr Shape output(Shape in) { return in; }
};

template <class... Options>
struct LayerNorm {
    static_assert((detail::option_in<Options, OptionFamily::normalization>() && ...), "LayerNorm's option is Epsilon<E>");
    static constexpr std::string_view kind = "LayerNorm";
    static constexpr LayerOptions options = detail::fold_options<Options...>();

    static constexpr bool check(Shape, Complaint& complaint) {
        if (options.epsilon > 0.0f) return true;
        complaint << "epsilon must be positive";
        return false;
    }
    static constexpr OpSpec spec(Shape) { return {.kind = OpKind::layer_norm, .role = OpRole::reduce, .epsilon = options.epsilon}; }
    static constexpr Shape output(Shape in) { return in; }
    static constexpr TensorList tensors(Shape in) {
        TensorList list;
        list.add({.name = "weight", .rank = 1, .dims = {in.c()}, .role = TensorRole::scale});
        list.add({.name = "bias", .rank = 1, .dims = {in.c()}, .role = TensorRole::shift});
        return list;
    }
    static constexpr std::int64_t macs(Shape) { return 0; }
};

struct LayerScale {
    static constexpr std::string_view kind = "LayerScale";
    static constexpr bool check(Shape, Complaint&) { return true; }
    static constexpr OpSpec spec(Shape) { return {.kind = OpKind::layer_scale, .role = OpRole::normalize}; }
    static constexpr Shape output(Shape in) { return in; }
    static constexpr TensorList tensors(Shape in) {
        TensorList list;
        if (in.is_image()) list.add({.name = "", .rank = 3, .dims = {in.c(), 1, 1}, .role = TensorRole::scale});
        else list.add({.name = "", .rank = 1, .dims = {in.c()}, .role = TensorRole::scale});
        return list;
    }
    static constexpr std::int64_t macs(Shape) { return 0; }
};

}  // namespace snc
