// The reference's driver: each op's loops come from its file (src/ops/).
#include <snc/reference.hpp>

#include <algorithm>

#include "ops/op.hpp"

namespace snc::reference {

std::vector<Values> forward_values(const Graph& graph, const StateDict& tensors, const Tensor& input) {
    std::vector<Values> values;
    values.emplace_back(input.data.begin(), input.data.end());
    for (const Op& op : graph.ops) values.push_back(halide::compiler_of(op.spec.kind).reference(op, values, tensors));
    return values;
}

Tensor forward(const Graph& graph, const StateDict& tensors, const Tensor& input) {
    std::vector<Values> values = forward_values(graph, tensors, input);
    const Values& out = values[std::size_t(graph.output)];
    Tensor result(dims_of(graph.shape_of(graph.output)));
    std::transform(out.begin(), out.end(), result.begin(), [](double v) { return float(v); });
    return result;
}

}  // namespace snc::reference
