// The patterns of snc-import: subgraphs an exporter spells in several nodes, taken as one node
// of snc's (op "snc.<Layer>") before the walk; patterns/registry.cpp lists them.
#pragma once

#include "../importer.hpp"

namespace snc::onnx_import::patterns {

bool gated_activation(Importer&, int n);  // gated_activation.cpp: x · Sigmoid(x), x · HardSigmoid(x)
bool gelu(Importer&, int n);              // gelu.cpp
bool layer_norm(Importer&, int n);        // layer_norm.cpp
bool concat_prefix(Importer&, int n);     // concat_prefix.cpp: DenseNet's growing concats
bool split(Importer&, int n);             // split.cpp

// Helpers: the node producing `value` if it is a node of op `op` (-1 else); whether `value` is
// read by exactly `nodes`; a constant's single float.
int producer_of(Importer&, const std::string& value, const std::string& op);
bool read_only_by(Importer&, const std::string& value, std::initializer_list<int> nodes);
std::optional<float> scalar_constant(Importer&, const std::string& value);
// The input of two-input node `n` other than `value` ("" if neither is `value`).
std::string other_input(const Node& n, const std::string& value);

}  // namespace snc::onnx_import::patterns
