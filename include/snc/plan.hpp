// The inference plan: the graph's ops grouped into fused stages, and where each stage's folded
// weights sit in the one packed weight array.
//
// A stage is what one Halide Func computes and stores. It starts with its main op and swallows, by
// the ops' roles (layers/layer.hpp), what follows it:
//   accumulate (conv, grouped conv, dense)  + the batch norm (or layer scale) after it, folded
//                             into its weights + a residual add + an activation
//   normalize (a batch norm or layer scale with nothing to fold into: y = scale * x + shift),
//   merge (an add), join (concat, gate), reduce (pools, the global mean, layer norm), activate
//                             + an activation
//   reshape (flatten, channel slices and shuffles)  alone: a view, computed by whoever reads it
// An op is fused into the stage before it only when nothing else reads that stage's value, so a
// fused intermediate never needs a buffer. Ops that are the identity at inference (dropout) are
// dropped before grouping: their readers read their input.
//
// The packed weights are one float array: for each stage in order, its folded tensors, each
// starting on a 64-byte boundary, each in the layout the target asks for (layout.hpp):
//   accumulate  weight (the conv's or dense's, batch norm folded in; a Winograd stage's
//               transformed, winograd.hpp), bias (one per output)
//   normalize   scale, shift (one per channel or feature); a layer norm its gamma and beta as these
#pragma once

#include <cctype>
#include <string>
#include <vector>

#include <snc/layout.hpp>
#include <snc/winograd.hpp>

namespace snc {

struct Stage {
    std::string name;      // for Halide Funcs and messages: "s3_conv_batch_norm_add_relu_layer1_0_conv2"
    std::vector<int> ops;  // the graph ops fused here, the main op first
    int input = 0;         // the value the main op reads first
    int residual = -1;     // the value a fused add adds
    std::vector<int> reads;  // every value the stage reads: the main op's inputs, the residual
    int output = 0;        // the value produced: the last fused op's
    Shape in, out;
    int batch_norm = -1;   // the op folded into an accumulate, or the op of a lone batch norm
    std::int64_t weight_offset = -1, bias_offset = -1;  // normalize: scale and shift
    std::int64_t weight_elements = 0, bias_elements = 0;
    int winograd_tile = 0;  // a conv computed by Winograd's F(m, 3): m (winograd.hpp); 0: direct

    int main_op() const { return ops.front(); }
};

struct Plan {
    Graph graph;  // without the ops that are the identity at inference
    Packing packing{};
    std::vector<Stage> stages;
    std::int64_t packed_floats = 0;

    std::vector<int> stage_by_value;  // the stage that stores each value, -1 for the input and fused values

    const Op& op(int index) const { return graph.ops[std::size_t(index)]; }
    const Op& main_op(const Stage& stage) const { return op(stage.main_op()); }
    // The stage that stores `value`, or -1 for the network's input.
    int stage_of(int value) const { return stage_by_value[std::size_t(value)]; }
    int output_stage() const { return stage_of(graph.output); }
};

// A C identifier made of any text: "layer1.0.conv1" -> "layer1_0_conv1".
inline std::string identifier(const std::string& text) {
    std::string out;
    for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    return out;
}

constexpr std::int64_t packed_alignment = 16;  // floats: 64 bytes, one cache line, one zmm load

constexpr std::int64_t aligned(std::int64_t floats) {
    return (floats + packed_alignment - 1) / packed_alignment * packed_alignment;
}

// The graph at inference: ops that are the identity there are gone, their readers read their input.
inline Graph inference_graph(const Graph& graph) {
    Graph out{.input = graph.input};
    std::vector<int> value_of(graph.ops.size() + 1, 0);  // old value id -> new
    for (std::size_t i = 0; i < graph.ops.size(); ++i) {
        const Op& op = graph.ops[i];
        if (op.spec.role == OpRole::identity) {
            value_of[i + 1] = value_of[std::size_t(op.input)];
            continue;
        }
        Op kept = op;
        kept.input = value_of[std::size_t(op.input)];
        for (int& value : kept.joined) value = value_of[std::size_t(value)];
        out.ops.push_back(std::move(kept));
        value_of[i + 1] = int(out.ops.size());
    }
    out.output = value_of[std::size_t(graph.output)];
    return out;
}

inline Plan plan_inference(const Graph& network, Packing packing) {
    Plan plan{.graph = inference_graph(network), .packing = packing};
    const Graph& graph = plan.graph;
    const std::vector<int> readers = graph.readers();
    std::vector<bool> fused(graph.ops.size(), false);
    std::vector<int> first_reader(graph.ops.size() + 1, -1);
    for (std::size_t j = graph.ops.size(); j-- > 0;)
        for (int value : graph.ops[j].inputs()) first_reader[std::size_t(value)] = int(j);

    // The op that alone reads `value` (and is not the network's output), or -1.
    auto sole_reader = [&](int value) -> int {
        if (readers[std::size_t(value)] != 1 || value == graph.output) return -1;
        const int j = first_reader[std::size_t(value)];
        return j < 0 || fused[std::size_t(j)] ? -1 : j;
    };

    for (std::size_t i = 0; i < graph.ops.size(); ++i) {
        if (fused[i]) continue;
        const Op& op = graph.ops[i];
        Stage stage{.ops = {int(i)}, .input = op.input, .output = int(i) + 1, .in = op.in, .out = op.out};
        auto next_with_role = [&](OpRole role) -> int {
            int j = sole_reader(stage.output);
            return j >= 0 && graph.ops[std::size_t(j)].spec.role == role ? j : -1;
        };
        auto absorb = [&](int j) {
            fused[std::size_t(j)] = true;
            stage.ops.push_back(j);
            stage.output = j + 1;
            stage.out = graph.ops[std::size_t(j)].out;
        };
        if (op.spec.role == OpRole::accumulate) {
            if (int j = next_with_role(OpRole::normalize); j >= 0) {
                stage.batch_norm = j;
                absorb(j);
            }
            if (int j = next_with_role(OpRole::merge); j >= 0) {
                const Op& add = graph.ops[std::size_t(j)];
                stage.residual = add.input == stage.output ? add.joined[0] : add.input;
                absorb(j);
            }
        }
        if (op.spec.role == OpRole::normalize) stage.batch_norm = int(i);
        if (op.spec.role == OpRole::merge) stage.residual = op.joined[0];
        stage.reads = op.inputs();
        if (stage.residual >= 0 && op.spec.role != OpRole::merge) stage.reads.push_back(stage.residual);
        if (op.spec.role != OpRole::reshape)
            if (int j = next_with_role(OpRole::activate); j >= 0) absorb(j);

        // "conv_batch_norm_add_relu_layer1_0_conv2": what is fused, then where it comes from.
        std::string kinds;
        for (int j : stage.ops) kinds += (kinds.empty() ? "" : "_") + std::string(op_kind_name(graph.ops[std::size_t(j)].spec.kind));
        stage.name = kinds + (op.name.empty() ? "" : "_" + identifier(op.name));
        plan.stages.push_back(std::move(stage));
    }

    // Stages in an order where each comes after the stages it reads (a block's body may add a
    // shortcut computed after it in the graph's order), stable otherwise; then numbered.
    auto all_ready = [](const std::vector<bool>& ready, const Stage& stage) {
        for (int value : stage.reads)
            if (!ready[std::size_t(value)]) return false;
        return true;
    };
    std::vector<Stage> ordered_stages;
    std::vector<bool> placed(plan.stages.size(), false);
    std::vector<bool> ready(graph.ops.size() + 1, false);
    ready[0] = true;
    while (ordered_stages.size() < plan.stages.size()) {
        for (std::size_t s = 0; s < plan.stages.size(); ++s) {
            const Stage& stage = plan.stages[s];
            if (placed[s] || !all_ready(ready, stage)) continue;
            placed[s] = true;
            ready[std::size_t(stage.output)] = true;
            ordered_stages.push_back(stage);
            ordered_stages.back().name = "s" + std::to_string(ordered_stages.size() - 1) + "_" + stage.name;
            break;
        }
    }
    plan.stages = std::move(ordered_stages);
    plan.stage_by_value.assign(graph.ops.size() + 1, -1);
    for (std::size_t s = 0; s < plan.stages.size(); ++s) plan.stage_by_value[std::size_t(plan.stages[s].output)] = int(s);

    // The packed array, stage by stage.
    std::int64_t offset = 0;
    auto place = [&](std::int64_t elements) {
        std::int64_t at = offset;
        offset += aligned(elements);
        return at;
    };
    for (Stage& stage : plan.stages) {
        const Op& main = plan.main_op(stage);
        if (main.spec.role == OpRole::accumulate) {
            stage.winograd_tile = winograd::output_tile(main);
            stage.weight_elements = stage.winograd_tile ? winograd::weight_layout(main, stage.winograd_tile).size()
                                                        : main.tensors.items[0].elements();
            stage.bias_elements = main.spec.units;
        } else if (main.spec.role == OpRole::normalize || main.spec.kind == OpKind::layer_norm) {
            stage.weight_elements = stage.bias_elements = main.in.c();
        } else {
            continue;
        }
        stage.weight_offset = place(stage.weight_elements);
        stage.bias_offset = place(stage.bias_elements);
    }
    plan.packed_floats = offset;
    return plan;
}

template <NetworkType Net>
Plan plan_inference(Packing packing) {
    return plan_inference(build_graph<Net>(), packing);
}

// The bytes a run moves at the least, the measure of an effective GB/s (as mac_count is of an
// effective GFLOP/s): the packed weights and the input read once, each stored value written once and
// read once (the network's output written only). A view is no value of its own; a value kept in
// cache between stages, or read twice, makes the true traffic less or more.
inline std::int64_t traffic_bytes(const Plan& plan) {
    std::int64_t floats = plan.packed_floats + plan.graph.input.elements();
    for (const Stage& stage : plan.stages) {
        if (plan.main_op(stage).spec.role == OpRole::reshape) continue;
        floats += stage.out.elements() * (stage.output == plan.graph.output ? 1 : 2);
    }
    return floats * std::int64_t(sizeof(float));
}

}  // namespace snc
