// snc-import's core: an ONNX model (as PyTorch's exporter writes it) to an snc declaration and
// its weights.
//
// The graph is read with ONNX's own protobuf classes (Debian's libonnx-dev). Each node becomes a
// layer of snc's language; where a value is read by several nodes, the branches up to the node
// where they meet again become a block: Residual (an Add), Concat (a Concat) or Gate (a Mul by a
// per-channel value), nested as the graph nests them. Subgraphs the exporter spells in several
// nodes (GELU's Erf formula, LayerNorm's chain, x * Sigmoid(x)) are taken as one layer, and what
// PyTorch writes around the operators is folded: a constant zero Pad into the Conv or
// AveragePool after it, a MatMul and its bias Add into one Dense, Identity and a Flatten of what is
// already flat into nothing. Anything snc cannot express exactly is refused, one line per node
// naming it, its op type and what is missing, every such node of the model at once: never a
// silently different network. importer.hpp says where each part lives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <snc/io/tensor.hpp>

namespace snc::onnx_import {

struct Options {
    std::string network = "imported::Network";  // the C++ name the header declares, "NS::Name"
    std::int64_t batch = 0;                      // 0: the model's own (static) batch
};

struct Result {
    std::string header;          // the declaration, one layer a line
    StateDict weights;           // under the names that declaration gives its tensors
    std::int64_t parameters = 0; // trainable elements, as snc::parameter_count counts them
    std::int64_t layers = 0;     // leaf layers declared
};

// Throws snc::Error: the file's name and why, or one line per node that snc cannot express.
Result import_model(const std::string& path, const Options& options);

// The same on a model's bytes already in memory (the fuzzer's way in); `path` names it in
// messages, and its folder is where external data is looked for.
Result import_model_bytes(const char* data, std::size_t size, const std::string& path, const Options& options);

}  // namespace snc::onnx_import
