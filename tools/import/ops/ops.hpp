// The converters of snc-import, one file per family of ONNX ops; ops/registry.cpp lists them.
#pragma once

#include <array>

#include "../importer.hpp"

namespace snc::onnx_import::ops {

// conv.cpp
std::string conv(Importer&, int n, const std::string& in, Layers&);
std::string pad(Importer&, int n, const std::string& in, Layers&);
// pool.cpp
std::string pool(Importer&, int n, const std::string& in, Layers&);
std::string global_average_pool(Importer&, int n, const std::string& in, Layers&);
std::string reduce_mean(Importer&, int n, const std::string& in, Layers&);
// activation.cpp
std::string activation(Importer&, int n, const std::string& in, Layers&);
std::string clip(Importer&, int n, const std::string& in, Layers&);
// norm.cpp
std::string batch_norm(Importer&, int n, const std::string& in, Layers&);
std::string layer_norm(Importer&, int n, const std::string& in, Layers&);
std::string layer_scale(Importer&, int n, const std::string& in, Layers&);
// dense.cpp
std::string gemm(Importer&, int n, const std::string& in, Layers&);
std::string matmul(Importer&, int n, const std::string& in, Layers&);
// shape.cpp
std::string pass(Importer&, int n, const std::string& in, Layers&);
std::string dropout(Importer&, int n, const std::string& in, Layers&);
std::string flatten(Importer&, int n, const std::string& in, Layers&);
std::string reshape(Importer&, int n, const std::string& in, Layers&);
std::string transpose(Importer&, int n, const std::string& in, Layers&);
std::string slice(Importer&, int n, const std::string& in, Layers&);
std::string split_part(Importer&, int n, const std::string& in, Layers&);
// join.cpp
std::string residual(Importer&, int n, const std::string& in, std::vector<Branch>&, const std::string& out, Layers&);
std::string concat(Importer&, int n, const std::string& in, std::vector<Branch>&, const std::string& out, Layers&);
std::string gate(Importer&, int n, const std::string& in, std::vector<Branch>&, const std::string& out, Layers&);

// Shared by conv.cpp and pool.cpp: a window's kernel, stride and dilation from the node (the
// kernel from the weights where kernel_shape is absent), and its pads for input `in`, plus
// `extra` (top, left, bottom, right) from a Pad folded in.
std::optional<Window> window_of(Importer&, const Node&, std::optional<std::array<int, 2>> kernel_from_weights);
bool resolve_pads(Importer&, const Node&, const Shape& in, Window& window, std::array<int, 4> extra);
std::string conv_padded(Importer&, int n, const std::string& in, std::array<int, 4> extra, Layers&, const std::string& folded);
std::string pool_padded(Importer&, int n, const std::string& in, std::array<int, 4> extra, Layers&, const std::string& folded);

// A leaf layer from node n, its output `out` of `shape`.
std::string leaf(Importer&, const Node& n, Layers&, std::string code, const Shape& shape, Axes axes = Axes::channels_first,
                 std::vector<std::pair<std::string, Tensor>> tensors = {}, const std::string& out = "", const std::string& source = "");
// The value `out` is `in` (a node snc needs no layer for).
std::string same(Importer&, const std::string& in, const std::string& out);
// The float value of a scalar constant.
std::optional<float> scalar(Importer&, const std::string& name);

}  // namespace snc::onnx_import::ops
