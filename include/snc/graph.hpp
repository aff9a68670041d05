// The run-time graph of a network: one Op per leaf layer and per join (a residual add, a concat, a
// gate), in execution order. An op reads a list of values: its input, then what a join joins.
//
// It comes from the same walk as the compile-time check (network.hpp), with a visitor that records
// instead of counting. Lowering, weights I/O and the detailed summary read this graph; nothing here
// needs Halide.
#pragma once

#include <array>
#include <string>
#include <vector>

#include <snc/network.hpp>

namespace snc {

struct Op {
    OpSpec spec;
    std::string name;          // PyTorch module path: "layer1.0.conv1"; its tensors are name + ".weight", ...
    std::string type;          // as declared: "Conv<64, 3, Pad<1>, NoBias>"
    std::int64_t element = 0;  // the top-level element it belongs to
    int input = 0;             // value ids: 0 is the network's input, ops[i] produces value i + 1
    std::vector<int> joined;   // the values a join reads after `input`: an add's shortcut (input is
                               // the body's), a concat's branches after the first, a gate's gate
    Shape in, out;             // `in` is `input`'s shape; the joined values' are the graph's shape_of
    // Set when the input is (N, F) with F the features of a flattened (H, W, C) image, in snc's
    // H, W, C order. PyTorch orders them C, H, W: the layouts of a Dense weight's input axis and of
    // BatchNorm's per-feature tensors say both orders (layout.hpp).
    Shape flatten_source;
    TensorList tensors;

    // Every value the op reads, `input` first.
    std::vector<int> inputs() const {
        std::vector<int> all{input};
        all.insert(all.end(), joined.begin(), joined.end());
        return all;
    }
    // A tensor without a name of its own is named by its layer (LayerScale's).
    std::string tensor_name(const TensorSpec& tensor) const {
        if (tensor.name.empty()) return name;
        return name.empty() ? std::string(tensor.name) : name + "." + std::string(tensor.name);
    }
};

struct Graph {
    Shape input;
    std::vector<Op> ops;
    int output = 0;  // the value the network returns

    Shape shape_of(int value) const { return value == 0 ? input : ops[value - 1].out; }
    // How many ops read each value: a fused stage may only swallow a value nobody else reads.
    std::vector<int> readers() const {
        std::vector<int> count(ops.size() + 1, 0);
        for (const Op& op : ops)
            for (int value : op.inputs()) ++count[std::size_t(value)];
        ++count[output];
        return count;
    }
    // The image whose Flatten `value` is, or -1: a Dense reads such features from the image itself.
    int flattened_image(int value) const {
        if (value == 0) return -1;
        const Op& op = ops[std::size_t(value - 1)];
        return op.spec.kind == OpKind::flatten && op.in.is_image() ? op.input : -1;
    }
};

namespace detail {

struct GraphValue {
    int id = 0;
    Shape shape;
    Shape flatten_source;
};

struct GraphBuilder {
    Graph graph;
    std::vector<PathStep> path;
    std::int64_t element = 0;

    bool failed() const { return false; }  // the network was checked while it compiled
    void enter(PathStep step) {
        if (step.kind != PathStep::Kind::none) path.push_back(step);
    }
    void leave(PathStep step) {
        if (step.kind != PathStep::Kind::none) path.pop_back();
    }
    std::string dotted_path() const {
        std::string text;
        for (const PathStep& step : path) {
            if (!text.empty()) text += '.';
            text += step.kind == PathStep::Kind::index ? std::to_string(step.index) : std::string(step.name);
        }
        return text;
    }

    GraphValue push(Op op, Shape out_flatten_source) {
        op.element = element;
        graph.ops.push_back(std::move(op));
        return {int(graph.ops.size()), graph.ops.back().out, out_flatten_source};
    }

    template <class L>
    GraphValue leaf(GraphValue in) {
        Op op{.spec = L::spec(in.shape),
              .name = dotted_path(),
              .type = std::string(type_name<L>.view()),
              .input = in.id,
              .in = in.shape,
              .out = L::output(in.shape),
              .flatten_source = in.flatten_source,
              .tensors = L::tensors(in.shape)};
        // Element-wise ops keep the feature order; a Flatten of an image starts one; ops that make
        // new features (a Dense's units, a pool's channels) end it.
        Shape out_flatten_source = in.flatten_source;
        if (op.spec.role == OpRole::reshape && in.shape.is_image()) out_flatten_source = in.shape;
        if (op.spec.role == OpRole::accumulate || op.spec.role == OpRole::reduce) out_flatten_source = {};
        return push(std::move(op), out_flatten_source);
    }

    template <class Block>
    GraphValue add(GraphValue body, GraphValue shortcut, GraphValue) {
        Op op{.spec = {.kind = OpKind::add, .role = OpRole::merge},
              .name = dotted_path(),
              .type = "Add",
              .input = body.id,
              .joined = {shortcut.id},
              .in = body.shape,
              .out = body.shape,
              .flatten_source = body.flatten_source};
        return push(std::move(op), body.flatten_source);
    }

    template <class Block, std::size_t Count>
    GraphValue concat(const std::array<GraphValue, Count>& branches, GraphValue) {
        Op op{.spec = {.kind = OpKind::concat, .role = OpRole::join},
              .name = dotted_path(),
              .type = "Concat",
              .input = branches[0].id,
              .in = branches[0].shape,
              .out = branches[0].shape};
        for (std::size_t k = 1; k < Count; ++k) {
            op.joined.push_back(branches[k].id);
            op.out.dims[op.out.rank - 1] += branches[k].shape.c();
        }
        return push(std::move(op), {});  // new features: a Flatten after it starts their order again
    }

    template <class Block>
    GraphValue gate(GraphValue in, GraphValue gate) {
        Op op{.spec = {.kind = OpKind::gate, .role = OpRole::join},
              .name = dotted_path(),
              .type = "Gate",
              .input = in.id,
              .joined = {gate.id},
              .in = in.shape,
              .out = in.shape,
              .flatten_source = in.flatten_source};
        return push(std::move(op), in.flatten_source);
    }
};

struct ElementHooks {
    GraphBuilder& builder;
    template <class L>
    void before(std::int64_t index) { builder.element = index; }
    void after(std::int64_t, const GraphValue&) {}
};

}  // namespace detail

template <NetworkType Net>
    requires(Net::valid)
Graph build_graph() {
    detail::GraphBuilder builder;
    builder.graph.input = Net::input_shape;
    detail::GraphValue out = Net::walk(builder, detail::GraphValue{0, Net::input_shape, {}},
                                       detail::ElementHooks{builder});
    builder.graph.output = out.id;
    return std::move(builder.graph);
}

}  // namespace snc
