// BatchNormalization (inference), LayerNorm (the pattern's, or opset 17's LayerNormalization), and
// the product by a constant per channel (ConvNeXt's layer scale).
#include <cmath>

#include "ops.hpp"

namespace snc::onnx_import::ops {

// ONNX's momentum weighs the old statistics (0.9), PyTorch's and snc's the new (0.1).
std::string batch_norm(Importer& im, int n, const std::string& in_value, Layers& layers) {
    const Node& nd = im.node(n);
    if (int_attribute(nd, "training_mode", 0)) return im.refuse(nd, "training_mode 1; export the model in eval mode");
    if (nd.inputs.size() != 5) return im.refuse(nd, "other inputs than X, scale, B, mean, var");
    const Shape& in = im.shape(in_value);
    if (in.is_image() && im.axes(in_value) != Axes::channels_first) return im.refuse(nd, "an image that is not (N, C, H, W)");
    std::vector<std::pair<std::string, Tensor>> tensors;
    const char* names[] = {"weight", "bias", "running_mean", "running_var"};
    for (std::size_t k = 0; k < 4; ++k) {
        const Constant* c = im.constant(nd.input(k + 1));
        if (!c || !c->is_float || c->floats.size() != std::size_t(in.c()))
            return im.refuse(nd, std::string(names[k]) + " is not a float32 constant of " + std::to_string(in.c()) + " values");
        tensors.emplace_back(names[k], tensor_of(*c));
        tensors.back().second.shape = {in.c()};
    }
    const float epsilon = float_attribute(nd, "epsilon", 1e-5f), momentum = 1.0f - float_attribute(nd, "momentum", 0.9f);
    std::string options;
    if (epsilon != 1e-5f) options += "snc::Epsilon<" + float_text(epsilon) + ">";
    if (std::abs(momentum - 0.1f) > 1e-6f) options += std::string(options.empty() ? "" : ", ") + "snc::Momentum<" + float_text(momentum) + ">";
    return leaf(im, nd, layers, "snc::BatchNorm<" + options + ">", in, im.axes(in_value), std::move(tensors));
}

// Over the last axis: the channels of a (N, H, W, C) value (after a Transpose, as ConvNeXt's
// LayerNorm2d and blocks have it) or the features of a (N, F) one.
std::string layer_norm(Importer& im, int n, const std::string& in_value, Layers& layers) {
    const Node& nd = im.node(n);
    if (nd.op == "LayerNormalization" && int_attribute(nd, "axis", -1) != -1 && int_attribute(nd, "axis", -1) != 3)
        return im.refuse(nd, "an axis other than the last");
    const Shape& in = im.shape(in_value);
    if (in.is_image() && im.axes(in_value) != Axes::channels_last)
        return im.refuse(nd, "a norm over the last axis of an (N, C, H, W) image: its width, not its channels");
    std::vector<std::pair<std::string, Tensor>> tensors;
    const char* names[] = {"weight", "bias"};
    for (std::size_t k = 0; k < 2; ++k) {
        Tensor t({in.c()});
        if (nd.input(k + 1).empty()) {
            t.data.assign(std::size_t(in.c()), k == 0 ? 1.0f : 0.0f);
        } else {
            const Constant* c = im.constant(nd.input(k + 1));
            if (!c || !c->is_float || c->floats.size() != std::size_t(in.c()))
                return im.refuse(nd, std::string(names[k]) + " is not a float32 constant of " + std::to_string(in.c()) + " values");
            t.data = c->floats;
        }
        tensors.emplace_back(names[k], std::move(t));
    }
    const float epsilon = float_attribute(nd, "epsilon", 1e-5f);
    if (!(epsilon > 0.0f)) return im.refuse(nd, "an epsilon that is not positive");
    return leaf(im, nd, layers, epsilon == 1e-5f ? "snc::LayerNorm<>" : "snc::LayerNorm<snc::Epsilon<" + float_text(epsilon) + ">>", in,
                im.axes(in_value), std::move(tensors));
}

// x times a constant per channel: (C, 1, 1) on an (N, C, H, W) image, (C) on channels last.
std::string layer_scale(Importer& im, int n, const std::string& in_value, Layers& layers) {
    const Node& nd = im.node(n);
    const std::string other = nd.input(0) == in_value ? nd.input(1) : nd.input(0);
    const Constant* c = im.constant(other);
    if (!c || !c->is_float) return im.refuse(nd, "a product of two computed values other than a gate x · f(x)");
    const Shape& in = im.shape(in_value);
    const bool last = !in.is_image() || im.axes(in_value) == Axes::channels_last;
    std::vector<std::int64_t> dims = c->dims;
    while (!dims.empty() && dims.front() == 1 && dims.size() > (last ? 1u : 3u)) dims.erase(dims.begin());
    const bool fits = last ? dims == std::vector<std::int64_t>{in.c()} : dims == std::vector<std::int64_t>{in.c(), 1, 1};
    if (!fits) return im.refuse(nd, "a product by a constant of shape other than one value per channel");
    Tensor t(in.is_image() ? std::vector<std::int64_t>{in.c(), 1, 1} : std::vector<std::int64_t>{in.c()});
    t.data = c->floats;
    return leaf(im, nd, layers, "snc::LayerScale", in, im.axes(in_value), {{"", std::move(t)}});
}

}  // namespace snc::onnx_import::ops
