// GELU as torch 1.13 exports nn.GELU() before opset 20: x * (Erf(x / sqrt(2)) + 1) * 0.5,
// anchored at the Erf.
#include <cmath>

#include "patterns.hpp"

namespace snc::onnx_import::patterns {

bool gelu(Importer& im, int n) {
    const Node& erf = im.node(n);
    if (erf.op != "Erf" || erf.inputs.size() != 1) return false;
    const int div = producer_of(im, erf.inputs[0], "Div");
    if (div < 0 || im.node(div).inputs.size() != 2) return false;
    const std::string x = im.node(div).inputs[0];
    const std::optional<float> root = scalar_constant(im, im.node(div).inputs[1]);
    if (!root || std::abs(*root - std::sqrt(2.0f)) > 1e-5f || !read_only_by(im, erf.inputs[0], {n})) return false;
    const std::vector<int>& after_erf = im.readers(erf.outputs[0]);
    if (after_erf.size() != 1 || im.node(after_erf[0]).op != "Add") return false;
    const int add = after_erf[0];
    const std::optional<float> one = scalar_constant(im, other_input(im.node(add), erf.outputs[0]));
    if (!one || *one != 1.0f) return false;
    const std::vector<int>& after_add = im.readers(im.node(add).outputs[0]);
    if (after_add.size() != 1 || im.node(after_add[0]).op != "Mul") return false;
    const int times_x = after_add[0];
    if (other_input(im.node(times_x), im.node(add).outputs[0]) != x) return false;
    const std::vector<int>& after = im.readers(im.node(times_x).outputs[0]);
    if (after.size() != 1 || im.node(after[0]).op != "Mul") return false;
    const int half = after[0];
    const std::optional<float> factor = scalar_constant(im, other_input(im.node(half), im.node(times_x).outputs[0]));
    if (!factor || *factor != 0.5f) return false;
    im.replace({div, n, add, times_x, half},
               Node{.op = "snc.GELU", .name = im.node(div).label() + " ... " + im.node(half).label(), .inputs = {x},
                    .outputs = {im.node(half).outputs[0]}});
    return true;
}

}  // namespace snc::onnx_import::patterns
