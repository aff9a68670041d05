// SiLU and HardSwish as opset 13 spells them: Mul(x, Sigmoid(x)), Mul(x, HardSigmoid(x)) with
// PyTorch's alpha 1/6 (torch 1.13's nn.SiLU and nn.Hardswish).
#include <cmath>

#include "patterns.hpp"

namespace snc::onnx_import::patterns {

bool gated_activation(Importer& im, int n) {
    const Node& mul = im.node(n);
    if (mul.op != "Mul" || mul.inputs.size() != 2) return false;
    for (int k : {0, 1}) {
        const std::string& x = mul.inputs[std::size_t(k)];
        const std::string& s = mul.inputs[std::size_t(1 - k)];
        const int p = im.producer(s);
        if (p < 0 || im.node(p).removed || im.node(p).inputs.empty() || im.node(p).inputs[0] != x || !read_only_by(im, s, {n})) continue;
        const Node& act = im.node(p);
        std::string op;
        if (act.op == "Sigmoid") op = "snc.SiLU";
        if (act.op == "HardSigmoid" && std::abs(float_attribute(act, "alpha", 0.2f) - 1.0f / 6) < 1e-6f && float_attribute(act, "beta", 0.5f) == 0.5f)
            op = "snc.HardSwish";
        if (op.empty()) continue;
        im.replace({p, n}, Node{.op = op, .name = act.label() + " + " + mul.label(), .inputs = {x}, .outputs = {mul.outputs[0]}});
        return true;
    }
    return false;
}

}  // namespace snc::onnx_import::patterns
