// Elementwise activations: ONNX's own, Clip as ReLU6 or ReLU, and the patterns' (patterns/).
#include <cmath>
#include <limits>

#include "ops.hpp"

namespace snc::onnx_import::ops {

std::string activation(Importer& im, int n, const std::string& in_value, Layers& layers) {
    const Node& nd = im.node(n);
    std::string code;
    if (nd.op == "Relu") code = "snc::ReLU";
    else if (nd.op == "Sigmoid") code = "snc::Sigmoid";
    else if (nd.op == "Tanh") code = "snc::Tanh";
    else if (nd.op == "HardSwish" || nd.op == "snc.HardSwish") code = "snc::HardSwish";
    else if (nd.op == "snc.SiLU") code = "snc::SiLU";
    else if (nd.op == "snc.GELU") code = "snc::GELU";
    else if (nd.op == "Gelu") {
        if (string_attribute(nd, "approximate", "none") != "none") return im.refuse(nd, "the tanh approximation; snc's GELU is the erf form");
        code = "snc::GELU";
    } else if (nd.op == "HardSigmoid") {
        // PyTorch's hardsigmoid is relu6(x + 3) / 6: ONNX's with alpha 1/6, beta 1/2.
        if (std::abs(float_attribute(nd, "alpha", 0.2f) - 1.0f / 6) > 1e-6f || float_attribute(nd, "beta", 0.5f) != 0.5f)
            return im.refuse(nd, "alpha and beta other than PyTorch's 1/6 and 1/2");
        code = "snc::HardSigmoid";
    } else if (nd.op == "LeakyRelu") {
        code = "snc::LeakyReLU<" + float_text(float_attribute(nd, "alpha", 0.01f)) + ">";
    } else {
        return im.refuse(nd, "snc has no layer for it");
    }
    return leaf(im, nd, layers, code, im.shape(in_value), im.axes(in_value));
}

// Clip(x, 0, 6) is ReLU6 (MobileNetV2), Clip(x, 0) ReLU; the bounds are inputs from opset 11 on.
std::string clip(Importer& im, int n, const std::string& in_value, Layers& layers) {
    const Node& nd = im.node(n);
    float low = float_attribute(nd, "min", -std::numeric_limits<float>::infinity());
    float high = float_attribute(nd, "max", std::numeric_limits<float>::infinity());
    for (int k : {1, 2}) {
        if (nd.input(std::size_t(k)).empty()) continue;
        std::optional<float> bound = scalar(im, nd.input(std::size_t(k)));
        if (!bound) return im.refuse(nd, "bounds that are not constants");
        (k == 1 ? low : high) = *bound;
    }
    std::string code;
    if (low == 0.0f && high == 6.0f) code = "snc::ReLU6";
    else if (low == 0.0f && std::isinf(high) && high > 0) code = "snc::ReLU";
    else return im.refuse(nd, "bounds [" + std::to_string(low) + ", " + std::to_string(high) + "]; snc's are ReLU6's [0, 6] and ReLU's [0, inf)");
    return leaf(im, nd, layers, code, im.shape(in_value), im.axes(in_value));
}

}  // namespace snc::onnx_import::ops
