// The plain C++ reference: every op as loops over NHWC arrays, in double, with PyTorch's tensors
// as they come (no folding, no packing) and inference semantics (batch norm's running statistics).
// Tests check every Halide stage and whole networks against it before anything is timed. Slow on
// purpose: it is the definition, not an implementation. Each op's loops live in its file under
// src/ops/, beside its lowering; this is the driver (library snc::compiler).
#pragma once

#include <vector>

#include <snc/graph.hpp>
#include <snc/io/tensor.hpp>

namespace snc::reference {

using Values = std::vector<double>;  // one NHWC (or NF) array

// Every value of the network: values[0] is the input, values[i + 1] the output of graph.ops[i].
std::vector<Values> forward_values(const Graph& graph, const StateDict& tensors, const Tensor& input);

// The network's output.
Tensor forward(const Graph& graph, const StateDict& tensors, const Tensor& input);

}  // namespace snc::reference
