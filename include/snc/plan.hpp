// The inference plan: the graph's ops grouped into fused stages, and the packed weight layout.
//
// A stage is what one Halide Func computes and stores:
//   conv   Conv (+ BatchNorm, folded into its weights) (+ residual Add) (+ activation)
//   dense  Dense (+ BatchNorm, folded) (+ activation); reads a flattened image directly
//   affine a BatchNorm with nothing to fold into: y = scale * x + shift (+ activation)
//   pool   MaxPool or AvgPool;  mean  GlobalAvgPool;  flatten  a reshape (the Dense after it reads
//          through it);  add  an Add with no conv to fuse into (+ activation);  activation  alone
// An op is fused into the stage before it only when nothing else reads that stage's value, so a
// fused intermediate never needs a buffer.
//
// The packed weights are one float array: for each stage in order, its folded tensors, each
// starting on a 64-byte boundary. Layouts put the output channel (or unit) innermost, so the CPU
// schedule's vector loads of weights are contiguous:
//   conv  weight [ky][kx][ci][co], bias [co]       dense  weight [f][u], bias [u]
//   affine scale [c], shift [c]
// Both the Halide lowering (which reads this layout) and the weights packer (which writes it)
// derive it from this one function, so they cannot disagree.
#pragma once

#include <cctype>
#include <string>
#include <vector>

#include <snc/graph.hpp>

namespace snc {

enum class StageKind { conv, dense, affine, pool, mean, flatten, add, activation };
enum class Activation { none, relu, sigmoid, tanh };

struct Stage {
    StageKind kind{};
    std::string name;       // for Halide Funcs and messages: "layer1_0_conv2_bn2_add_relu"
    std::vector<int> ops;   // the graph ops fused here, the main op first
    int input = 0;          // the value read
    int residual = -1;      // conv and add stages: the value added before the activation
    int output = 0;         // the value produced: the last fused op's
    Activation activation = Activation::none;
    Shape in, out;
    OpSpec spec;            // the main op's hyper-parameters
    Shape flatten_source;   // dense and affine stages on (N, F) features that are a flattened image
    int batch_norm = -1;    // the op folded into conv/dense, or the op of an affine stage
    std::int64_t weight_offset = -1, bias_offset = -1;  // affine: scale and shift
    std::int64_t weight_elements = 0, bias_elements = 0;
};

struct Plan {
    Graph graph;
    std::vector<Stage> stages;
    std::int64_t packed_floats = 0;

    // The stage that stores `value`, or -1 for the network's input.
    int stage_of(int value) const {
        for (std::size_t s = 0; s < stages.size(); ++s)
            if (stages[s].output == value) return int(s);
        return -1;
    }
    int output_stage() const { return stage_of(graph.output); }
};

namespace detail {

inline Activation activation_of(OpKind kind) {
    switch (kind) {
        case OpKind::relu: return Activation::relu;
        case OpKind::sigmoid: return Activation::sigmoid;
        case OpKind::tanh: return Activation::tanh;
        default: return Activation::none;
    }
}

inline const char* op_kind_name(OpKind kind) {
    switch (kind) {
        case OpKind::conv: return "conv";
        case OpKind::batch_norm: return "bn";
        case OpKind::relu: return "relu";
        case OpKind::sigmoid: return "sigmoid";
        case OpKind::tanh: return "tanh";
        case OpKind::max_pool: return "maxpool";
        case OpKind::avg_pool: return "avgpool";
        case OpKind::global_avg_pool: return "globalavgpool";
        case OpKind::flatten: return "flatten";
        case OpKind::dense: return "dense";
        case OpKind::add: return "add";
    }
    return "";
}

inline std::string identifier(const std::string& text) {
    std::string out;
    for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    return out;
}

constexpr std::int64_t packed_alignment = 16;  // floats: 64 bytes, one cache line, one zmm load

}  // namespace detail

inline Plan plan_inference(const Graph& graph) {
    Plan plan{.graph = graph};
    const std::vector<int> readers = graph.readers();
    std::vector<bool> fused(graph.ops.size(), false);

    // The op that alone reads `value` (and is not the network's output), or -1.
    auto sole_reader = [&](int value) -> int {
        if (readers[value] != 1 || value == graph.output) return -1;
        for (std::size_t j = 0; j < graph.ops.size(); ++j)
            if (graph.ops[j].input == value || graph.ops[j].shortcut == value) return fused[j] ? -1 : int(j);
        return -1;
    };

    for (std::size_t i = 0; i < graph.ops.size(); ++i) {
        if (fused[i]) continue;
        const Op& op = graph.ops[i];
        Stage stage{.ops = {int(i)}, .input = op.input, .output = int(i) + 1, .in = op.in, .out = op.out,
                    .spec = op.spec, .flatten_source = op.flatten_source};
        auto absorb = [&](int j) {
            fused[std::size_t(j)] = true;
            stage.ops.push_back(j);
            stage.output = j + 1;
            stage.out = graph.ops[std::size_t(j)].out;
        };
        auto next_of_kind = [&](std::initializer_list<OpKind> kinds) -> int {
            int j = sole_reader(stage.output);
            if (j < 0) return -1;
            for (OpKind kind : kinds)
                if (graph.ops[std::size_t(j)].spec.kind == kind) return j;
            return -1;
        };
        auto try_activation = [&] {
            if (int j = next_of_kind({OpKind::relu, OpKind::sigmoid, OpKind::tanh}); j >= 0) {
                stage.activation = detail::activation_of(graph.ops[std::size_t(j)].spec.kind);
                absorb(j);
            }
        };

        switch (op.spec.kind) {
            case OpKind::conv:
            case OpKind::dense:
                stage.kind = op.spec.kind == OpKind::conv ? StageKind::conv : StageKind::dense;
                if (int j = next_of_kind({OpKind::batch_norm}); j >= 0) {
                    stage.batch_norm = j;
                    absorb(j);
                }
                if (int j = next_of_kind({OpKind::add}); j >= 0 && stage.kind == StageKind::conv) {
                    const Op& add = graph.ops[std::size_t(j)];
                    stage.residual = add.input == stage.output ? add.shortcut : add.input;
                    absorb(j);
                }
                try_activation();
                break;
            case OpKind::batch_norm:
                stage.kind = StageKind::affine;
                stage.batch_norm = int(i);
                try_activation();
                break;
            case OpKind::add:
                stage.kind = StageKind::add;
                stage.residual = op.shortcut;
                try_activation();
                break;
            case OpKind::relu:
            case OpKind::sigmoid:
            case OpKind::tanh:
                stage.kind = StageKind::activation;
                stage.activation = detail::activation_of(op.spec.kind);
                break;
            case OpKind::max_pool:
            case OpKind::avg_pool: stage.kind = StageKind::pool; break;
            case OpKind::global_avg_pool: stage.kind = StageKind::mean; break;
            case OpKind::flatten: stage.kind = StageKind::flatten; break;
        }
        // "s3_conv_bn_add_relu_layer1_0_conv2": what is fused, then where it comes from.
        std::string kinds;
        for (int j : stage.ops) kinds += std::string(kinds.empty() ? "" : "_") + detail::op_kind_name(graph.ops[std::size_t(j)].spec.kind);
        stage.name = kinds + (op.name.empty() ? "" : "_" + detail::identifier(op.name));
        plan.stages.push_back(std::move(stage));
    }

    // Stages in an order where each comes after the stages it reads (a block's body may add a
    // shortcut computed after it in the graph's order), stable otherwise; then numbered.
    std::vector<Stage> ordered;
    std::vector<bool> placed(plan.stages.size(), false);
    std::vector<bool> ready(graph.ops.size() + 1, false);
    ready[0] = true;
    while (ordered.size() < plan.stages.size()) {
        for (std::size_t s = 0; s < plan.stages.size(); ++s) {
            const Stage& stage = plan.stages[s];
            if (placed[s] || !ready[std::size_t(stage.input)] || (stage.residual >= 0 && !ready[std::size_t(stage.residual)]))
                continue;
            placed[s] = true;
            ready[std::size_t(stage.output)] = true;
            ordered.push_back(stage);
            ordered.back().name = "s" + std::to_string(ordered.size() - 1) + "_" + stage.name;
            break;
        }
    }
    plan.stages = std::move(ordered);

    // The packed layout, stage by stage.
    std::int64_t offset = 0;
    auto place = [&](std::int64_t elements) {
        std::int64_t at = offset;
        offset += (elements + detail::packed_alignment - 1) / detail::packed_alignment * detail::packed_alignment;
        return at;
    };
    for (Stage& stage : plan.stages) {
        if (stage.kind == StageKind::conv) {
            stage.weight_elements = stage.spec.units * stage.in.c() * stage.spec.window.kernel * stage.spec.window.kernel;
            stage.bias_elements = stage.spec.units;
        } else if (stage.kind == StageKind::dense) {
            stage.weight_elements = stage.spec.units * stage.in.features();
            stage.bias_elements = stage.spec.units;
        } else if (stage.kind == StageKind::affine) {
            stage.weight_elements = stage.bias_elements = stage.in.c();
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
Plan plan_inference() {
    return plan_inference(build_graph<Net>());
}

}  // namespace snc
