// Every pattern snc-import recognizes, one line each, tried in this order at each node.
#include <cmath>

#include "patterns.hpp"

namespace snc::onnx_import {

const std::vector<std::pair<const char*, Pattern>>& pattern_table() {
    static const std::vector<std::pair<const char*, Pattern>> all{
        {"SiLU as x * Sigmoid(x), HardSwish as x * HardSigmoid(x)", patterns::gated_activation},
        {"GELU as x * (Erf(x / sqrt 2) + 1) * 0.5", patterns::gelu},
        {"LayerNorm as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div (Mul, Add)", patterns::layer_norm},
        {"a Concat of an earlier Concat's inputs and more, as Concat of it and the rest", patterns::concat_prefix},
        {"Split as one Slice per output", patterns::split},
    };
    return all;
}

namespace patterns {

int producer_of(Importer& im, const std::string& value, const std::string& op) {
    const int p = im.producer(value);
    return p >= 0 && !im.node(p).removed && im.node(p).op == op ? p : -1;
}

bool read_only_by(Importer& im, const std::string& value, std::initializer_list<int> nodes) {
    const std::vector<int>& readers = im.readers(value);
    if (readers.size() != nodes.size() || value == im.output()) return false;
    for (int n : nodes)
        if (std::find(readers.begin(), readers.end(), n) == readers.end()) return false;
    return true;
}

std::optional<float> scalar_constant(Importer& im, const std::string& value) {
    const Constant* c = im.constant(value);
    if (!c || !c->is_float || c->floats.size() != 1) return std::nullopt;
    return c->floats[0];
}

std::string other_input(const Node& n, const std::string& value) {
    if (n.inputs.size() != 2) return "";
    if (n.inputs[0] == value) return n.inputs[1];
    if (n.inputs[1] == value) return n.inputs[0];
    return "";
}

}  // namespace patterns
}  // namespace snc::onnx_import
