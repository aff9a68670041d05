// snc-import's inside, shared by its parts (onnx_import.hpp is the outside):
//   graph.cpp      reading the ONNX model into Nodes and Constants, checking its structure,
//                  folding the integer arithmetic of shapes, indexing the data flow
//   patterns/      rewrites that take a subgraph ONNX spells in several nodes (GELU's Erf formula,
//                  LayerNorm's chain, x · Sigmoid(x)) as one node of snc's; one file each, one
//                  line each in patterns/registry.cpp
//   ops/           one file per family of ONNX ops, each op one line in ops/registry.cpp: a
//                  converter from a node (and the nodes it folds in) to snc's layers
//   structure.cpp  the walk from the input: chains of layers, and the blocks where values branch
//                  and meet again (Residual, Concat, Gate)
//   write.cpp      the declaration and the weights under the names it gives them
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include <snc/layers/window.hpp>
#include <snc/shape.hpp>

#include "onnx_import.hpp"

namespace snc::onnx_import {

// A constant: the float data of an initializer or a Constant node, or its int64 data (pads, shapes).
struct Constant {
    std::vector<std::int64_t> dims;
    std::vector<float> floats;
    std::vector<std::int64_t> integers;
    bool is_float = false;
    std::size_t size() const { return is_float ? floats.size() : integers.size(); }
};

// A node of the graph: ONNX's, or one a pattern made of several (op "snc.GELU", ...).
struct Node {
    std::string op, name;
    std::vector<std::string> inputs, outputs;
    const onnx::NodeProto* proto = nullptr;  // ONNX's attributes; none for a pattern's node
    std::map<std::string, double> numbers;   // a pattern's node: what it found (epsilon, ...)
    bool removed = false;                    // taken into a pattern's node
    std::string label() const { return name.empty() ? outputs.at(0) : name; }
    std::string input(std::size_t k) const { return k < inputs.size() ? inputs[k] : std::string(); }
};

std::int64_t int_attribute(const Node& node, const std::string& name, std::int64_t fallback);
float float_attribute(const Node& node, const std::string& name, float fallback);
std::string string_attribute(const Node& node, const std::string& name, const std::string& fallback);
std::optional<std::vector<std::int64_t>> ints_attribute(const Node& node, const std::string& name);

// The layers, as a tree that prints as snc's declaration and names tensors as snc does.
struct Layer;
using Layers = std::vector<Layer>;
struct Layer {
    enum class Kind { leaf, residual, concat, gate } kind = Kind::leaf;
    std::string code;    // a leaf's: "snc::Conv<64, 7, snc::Stride<2>, snc::Pad<3>, snc::NoBias>"
    std::string source;  // the ONNX nodes it comes from
    std::vector<std::pair<std::string, Tensor>> tensors;  // "weight", "bias", ...; "" names the layer itself
    // A block's branches: a residual's body and shortcut, a concat's in order (an empty one is
    // Identity), a gate's one.
    std::vector<Layers> branches;
};

// How a value's axes lie in ONNX: (N, C, H, W) as ONNX's convs take them, or (N, H, W, C) after a
// Transpose (ConvNeXt's blocks, whose Linear layers act on the last axis). snc's own layout is
// NHWC either way: the Transposes between the two are no layers.
enum class Axes { channels_first, channels_last };

// The shape of a value after a node snc refused: the walk goes on past it, to list every node snc
// cannot express, and what needs the shape says nothing more.
struct UnknownShape {};

class Importer {
public:
    Importer(const onnx::ModelProto& model, const std::string& path, const Options& options);
    Result run();

    // What converters and patterns use.
    const std::string& path() const { return path_; }
    Node& node(int i) { return nodes_[std::size_t(i)]; }
    int node_count() const { return int(nodes_.size()); }
    const Constant* constant(const std::string& name);
    // The nodes that read `value` as data (after index()); every node reading it (before).
    const std::vector<int>& readers(const std::string& value) const;
    std::vector<int> all_readers(const std::string& value) const;
    int producer(const std::string& value) const;  // -1: none (the input, a constant)
    bool is_data(const std::string& value) const { return data_values_.count(value) > 0; }
    std::vector<std::string> data_inputs(const Node& node) const;  // distinct, in order
    const std::string& output() const { return output_; }

    const Shape& shape(const std::string& value) const;  // throws UnknownShape after a refusal
    void set_shape(const std::string& value, const Shape& shape, Axes axes = Axes::channels_first);
    Axes axes(const std::string& value) const;
    bool known(const std::string& value) const { return !unknown_.count(value); }
    void mark_unknown(const std::string& value) { unknown_.insert(value); }

    // A refusal: one line naming the node; the converter then returns "".
    std::string refuse(const Node& node, const std::string& what);
    void problem(const Node& node, const std::string& what);

    // Replaces nodes `taken` (the last of them keeps its place) by `made`: a pattern's rewrite.
    void replace(const std::vector<int>& taken, Node made);
    // Replaces node i by `made`, in order (a node with several outputs by one node for each).
    void split(int i, std::vector<Node> made);

private:
    void check_structure() const;
    void read_nodes();
    void collect_constants();
    std::string find_input();
    void index();
    std::optional<Constant> fold(const Node& node);

    // structure.cpp
    std::string sequence(std::string value, std::vector<int> readers, int stop, Layers& layers);
    std::string block(const std::string& value, const std::vector<int>& readers, int stop, Layers& layers);
    std::string convert(int n, const std::string& value, Layers& layers);
    int join_of(const std::vector<int>& readers) const;
    int common_post_dominator(int a, int b) const;  // graph.cpp
    std::set<int> reach(int start, int stop) const;

    // write.cpp
    Result write(const Layers& layers);

    const onnx::ModelProto& model_;
    const onnx::GraphProto& graph_;
    std::string path_;
    Options options_;
    std::vector<Node> nodes_;
    std::map<std::string, Constant> constants_;
    std::set<std::string> folding_;  // values being folded, against cycles
    std::map<std::string, int> producer_;
    std::set<std::string> data_values_;
    std::map<std::string, std::vector<int>> readers_;
    std::vector<int> post_dominator_;  // of each node that reads data; node_count() stands for the exit
    std::map<std::string, Shape> shapes_;
    std::map<std::string, Axes> axes_;
    std::set<std::string> unknown_;
    std::string input_, output_;
    Shape input_shape_;
    std::vector<std::string> problems_;
};

// Helpers the converters share (graph.cpp).
Constant read_tensor(const onnx::TensorProto& tensor, const std::string& directory, const std::string& model);
std::string float_text(float value);
std::string shape_text(const Shape& shape);
Tensor tensor_of(const Constant& constant);
// The window's options as snc writes them: Stride<S> (always for pools: ONNX's default differs
// from theirs), then Pad<P> for equal sides or Pads<T, L, B, R>.
std::string window_options(const Window& window, bool always_stride);

// A converter: node n read from `in` (one of its inputs) to layers appended to `layers`; returns
// the value it ends at (a later node's output where it folds that node in), or "" when refused.
using Converter = std::string (*)(Importer&, int n, const std::string& in, Layers& layers);
// A join: node n reads the branches' ends; `branches[k]` is the layers from the block's input to
// its k-th data input (empty: that input is the block's input itself).
struct Branch {
    Layers layers;
    std::string end;
    bool identity() const { return layers.empty(); }
};
// `out` names the value it makes: the join's output, or a part of a Concat's (structure.cpp).
using Joiner = std::string (*)(Importer&, int n, const std::string& in, std::vector<Branch>& branches, const std::string& out,
                              Layers& layers);
// A pattern: looks at node n and, when the subgraph it anchors matches, replaces it (true).
using Pattern = bool (*)(Importer&, int n);

const Converter* converter_for(const std::string& op);  // ops/registry.cpp; null: no layer for it
const Joiner* joiner_for(const std::string& op);
const std::vector<std::pair<const char*, Pattern>>& pattern_table();  // patterns/registry.cpp

}  // namespace snc::onnx_import
