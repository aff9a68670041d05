// LayerNorm over the last axis as torch 1.13 exports F.layer_norm before opset 17:
//   d = x - ReduceMean(x); y = d / Sqrt(ReduceMean(Pow(d, 2)) + epsilon), then (Mul γ, Add β)
// anchored at the first ReduceMean. ConvNeXt's LayerNorm2d and its blocks' norm are this between
// Transposes; the converter checks the last axis is the channels.
#include "patterns.hpp"

namespace snc::onnx_import::patterns {

namespace {
bool over_last_axis(Importer& im, const Node& reduce) {
    std::optional<std::vector<std::int64_t>> axes = ints_attribute(reduce, "axes");
    if (!axes && !reduce.input(1).empty())
        if (const Constant* c = im.constant(reduce.input(1)); c && !c->is_float) axes = c->integers;
    return axes == std::vector<std::int64_t>{-1} && int_attribute(reduce, "keepdims", 1) == 1;
}

// The node after `value` if it is its only reader and of op `op`; -1 else.
int next(Importer& im, const std::string& value, const std::string& op) {
    const std::vector<int>& readers = im.readers(value);
    if (readers.size() != 1 || value == im.output() || im.node(readers[0]).op != op) return -1;
    return readers[0];
}
}  // namespace

bool layer_norm(Importer& im, int n) {
    const Node& mean = im.node(n);
    if (mean.op != "ReduceMean" || !over_last_axis(im, mean)) return false;
    const std::string x = mean.inputs[0];
    const int sub = next(im, mean.outputs[0], "Sub");
    if (sub < 0 || im.node(sub).inputs != std::vector<std::string>{x, mean.outputs[0]}) return false;
    const std::string d = im.node(sub).outputs[0];
    const std::vector<int>& readers = im.readers(d);
    if (readers.size() != 2) return false;
    const int pow = im.node(readers[0]).op == "Pow" ? readers[0] : readers[1];
    const int div = pow == readers[0] ? readers[1] : readers[0];
    if (im.node(pow).op != "Pow" || im.node(div).op != "Div" || im.node(pow).input(0) != d || im.node(div).input(0) != d) return false;
    const std::optional<float> two = scalar_constant(im, im.node(pow).input(1));
    if (!two || *two != 2.0f) return false;
    const int variance = next(im, im.node(pow).outputs[0], "ReduceMean");
    if (variance < 0 || !over_last_axis(im, im.node(variance))) return false;
    const int add = next(im, im.node(variance).outputs[0], "Add");
    if (add < 0) return false;
    const std::optional<float> epsilon = scalar_constant(im, other_input(im.node(add), im.node(variance).outputs[0]));
    if (!epsilon) return false;
    const int sqrt = next(im, im.node(add).outputs[0], "Sqrt");
    if (sqrt < 0 || im.node(div).input(1) != im.node(sqrt).outputs[0] || !read_only_by(im, im.node(sqrt).outputs[0], {div})) return false;
    std::vector<int> taken{n, sub, pow, variance, add, sqrt, div};
    std::string gamma, beta, out = im.node(div).outputs[0];
    if (const int scale = next(im, out, "Mul"); scale >= 0) {
        const Constant* c = im.constant(other_input(im.node(scale), out));
        if (c && c->is_float && c->dims.size() == 1) {
            gamma = other_input(im.node(scale), out);
            out = im.node(scale).outputs[0];
            taken.push_back(scale);
            if (const int shift = next(im, out, "Add"); shift >= 0) {
                const Constant* b = im.constant(other_input(im.node(shift), out));
                if (b && b->is_float && b->dims.size() == 1) {
                    beta = other_input(im.node(shift), out);
                    out = im.node(shift).outputs[0];
                    taken.push_back(shift);
                }
            }
        }
    }
    Node made{.op = "snc.LayerNorm", .name = mean.label() + " ... " + im.node(taken.back()).label(), .inputs = {x, gamma, beta}, .outputs = {out}};
    made.numbers["epsilon"] = *epsilon;
    im.replace(taken, std::move(made));
    return true;
}

}  // namespace snc::onnx_import::patterns
