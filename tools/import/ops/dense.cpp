// Gemm and MatMul by a constant matrix: a Dense layer on (N, F) features, or a 1x1 Conv on an
// image whose channels are its last axis (ConvNeXt's Linear layers between Transposes).
#include "ops.hpp"

namespace snc::onnx_import::ops {

namespace {
// The layer for `units` x `features` weights (row-major, a row per unit) and an optional bias.
std::string product(Importer& im, const Node& nd, const std::string& in_value, std::vector<float> weight, std::int64_t units,
                    const std::vector<float>* bias, const std::string& out, const std::string& source, Layers& layers) {
    const std::int64_t features = std::int64_t(weight.size()) / units;
    const Shape& in = im.shape(in_value);
    const bool channels = in.is_image() && im.axes(in_value) == Axes::channels_last;
    if ((in.is_image() && !channels) || features != (channels ? in.c() : in.features()))
        return im.refuse(nd, "weights for " + std::to_string(features) + " features, given " + shape_text(in) +
                                 (in.is_image() && !channels ? " (an (N, C, H, W) image: flatten it first)" : ""));
    Tensor w(channels ? std::vector<std::int64_t>{units, features, 1, 1} : std::vector<std::int64_t>{units, features});
    w.data = std::move(weight);
    std::vector<std::pair<std::string, Tensor>> tensors{{"weight", std::move(w)}};
    if (bias) {
        Tensor b({units});
        b.data = *bias;
        tensors.emplace_back("bias", std::move(b));
    }
    const std::string options = bias ? "" : ", snc::NoBias";
    if (channels)
        return leaf(im, nd, layers, "snc::Conv<" + std::to_string(units) + ", 1" + options + ">", Shape{in.n(), in.h(), in.w(), units},
                    Axes::channels_last, std::move(tensors), out, source);
    return leaf(im, nd, layers, "snc::Dense<" + std::to_string(units) + options + ">", Shape{in.n(), units}, Axes::channels_first,
                std::move(tensors), out, source);
}
}  // namespace

// Gemm: Y = alpha A B' + beta C, with A the features, B the weights and C a bias per unit.
std::string gemm(Importer& im, int n, const std::string& in_value, Layers& layers) {
    const Node& nd = im.node(n);
    if (int_attribute(nd, "transA", 0)) return im.refuse(nd, "transA; the features come first");
    if (nd.input(0) != in_value) return im.refuse(nd, "the features as B; snc's products take them as A");
    const Constant* b = im.constant(nd.input(1));
    if (!b || !b->is_float || b->dims.size() != 2) return im.refuse(nd, "B that is not a float32 constant matrix");
    const bool trans_b = int_attribute(nd, "transB", 0) != 0;
    const std::int64_t units = trans_b ? b->dims[0] : b->dims[1], features = trans_b ? b->dims[1] : b->dims[0];
    if (units < 1) return im.refuse(nd, "no units");
    const float alpha = float_attribute(nd, "alpha", 1.0f), beta = float_attribute(nd, "beta", 1.0f);
    std::vector<float> weight(std::size_t(units * features));
    for (std::int64_t u = 0; u < units; ++u)
        for (std::int64_t f = 0; f < features; ++f)
            weight[std::size_t(u * features + f)] = alpha * b->floats[std::size_t(trans_b ? u * features + f : f * units + u)];
    std::optional<std::vector<float>> bias;
    if (!nd.input(2).empty()) {
        const Constant* c = im.constant(nd.input(2));
        if (!c || !c->is_float || (c->floats.size() != 1 && c->floats.size() != std::size_t(units)))
            return im.refuse(nd, "C that is not one bias per unit");
        bias = std::vector<float>(std::size_t(units));
        for (std::int64_t u = 0; u < units; ++u) (*bias)[std::size_t(u)] = beta * c->floats[c->floats.size() == 1 ? 0 : std::size_t(u)];
    }
    return product(im, nd, in_value, std::move(weight), units, bias ? &*bias : nullptr, "", nd.label(), layers);
}

// MatMul by a constant (features, units) matrix, and the Add of a bias per unit that alone reads it.
std::string matmul(Importer& im, int n, const std::string& in_value, Layers& layers) {
    const Node& nd = im.node(n);
    const Constant* b = im.constant(nd.input(1));
    if (nd.input(0) != in_value || !b || !b->is_float || b->dims.size() != 2 || b->dims[1] < 1)
        return im.refuse(nd, "a product other than the features by a float32 constant matrix");
    const std::int64_t features = b->dims[0], units = b->dims[1];
    std::vector<float> weight(std::size_t(units * features));
    for (std::int64_t u = 0; u < units; ++u)
        for (std::int64_t f = 0; f < features; ++f) weight[std::size_t(u * features + f)] = b->floats[std::size_t(f * units + u)];
    std::string out = nd.outputs[0], source = nd.label();
    const std::vector<float>* bias = nullptr;
    const std::vector<int>& readers = im.readers(out);
    if (readers.size() == 1 && im.node(readers[0]).op == "Add") {
        const Node& add = im.node(readers[0]);
        const Constant* c = im.constant(add.input(0) == out ? add.input(1) : add.input(0));
        if (c && c->is_float && c->floats.size() == std::size_t(units)) {
            bias = &c->floats;
            out = add.outputs[0];
            source += " + " + add.label();
        }
    }
    return product(im, nd, in_value, std::move(weight), units, bias, out, source, layers);
}

}  // namespace snc::onnx_import::ops
