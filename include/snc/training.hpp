// The training state of a network: its trainable tensors packed in snc's layouts (layout.hpp, as
// the target asks), and its batch-norm running statistics, each buffer one float array as the
// training pipeline reads and writes it. Conversions to and from PyTorch's state_dict keep
// PyTorch's names and layouts at the edges (--init and --save of the trainers).
#pragma once

#include <string>
#include <vector>

#include <snc/layers/norm.hpp>
#include <snc/weights.hpp>

namespace snc {

struct TrainingTensor {
    int op = 0;      // the graph op it belongs to
    int slot = 0;    // its index in op.tensors
    std::string name;
    std::int64_t offset = 0, elements = 0;
};

struct TrainingLayout {
    Graph graph;
    Packing packing{};
    std::vector<TrainingTensor> parameters;  // trainable: weights, biases, gamma, beta
    std::vector<TrainingTensor> statistics;  // BatchNorm's running_mean and running_var
    std::int64_t parameter_floats = 0, statistic_floats = 0;

    const TrainingTensor& parameter(int op, int slot) const { return find(parameters, op, slot); }
    const TrainingTensor& statistic(int op, int slot) const { return find(statistics, op, slot); }

private:
    static const TrainingTensor& find(const std::vector<TrainingTensor>& list, int op, int slot) {
        for (const TrainingTensor& tensor : list)
            if (tensor.op == op && tensor.slot == slot) return tensor;
        throw Error("snc: op " + std::to_string(op) + " has no tensor " + std::to_string(slot));
    }
};

inline TrainingLayout training_layout(const Graph& graph, Packing packing) {
    TrainingLayout layout{.graph = graph, .packing = packing};
    for (std::size_t i = 0; i < graph.ops.size(); ++i) {
        const Op& op = graph.ops[i];
        for (int slot = 0; slot < op.tensors.size; ++slot) {
            const TensorSpec& spec = op.tensors.items[slot];
            std::int64_t& floats = spec.trainable() ? layout.parameter_floats : layout.statistic_floats;
            TrainingTensor tensor{int(i), slot, op.tensor_name(spec), floats, spec.elements()};
            floats += aligned(spec.elements());
            (spec.trainable() ? layout.parameters : layout.statistics).push_back(tensor);
        }
    }
    // A network without BatchNorm still has a (dummy) statistics buffer: a Halide pipeline does not
    // compute an output of extent zero, nor, with it, its other outputs.
    if (layout.statistic_floats == 0) layout.statistic_floats = packed_alignment;
    if (layout.parameter_floats == 0) layout.parameter_floats = packed_alignment;
    return layout;
}

// A run of consecutive ops [first, last) whose only input from before is the value `first` (the
// network's images, or the output of op first - 1): the unit the training step is compiled in.
// Halide's lowering time grows much faster than the pipeline (a 4-block ResNet step: 50 s; the
// course's ResNet-18 in one pipeline ran past the generator's 15-minute limit), so networks are cut
// into segments of at most `budget` ops where they can be: at a point where one value is live, the
// output of the op before it. Every block of snc's language (Residual, Concat, Gate, Seq) reads one
// value and gives one, so such points lie between any two blocks and between the layers of a Seq;
// inside a block, where its branches keep several values live, there is none, and a block of more
// ops than the budget (an Inception block of 20 ops under a budget of 16, say) is one segment
// longer than the budget.
struct Segment {
    int first = 0, last = 0;
    int input() const { return first; }  // the value id the segment reads
    int output() const { return last; }  // the value id it produces
};

inline std::vector<Segment> training_segments(const Graph& graph, int budget = 20) {
    const int count = int(graph.ops.size());
    // A cut before op b is valid when every op from b on reads only values >= b.
    std::vector<int> earliest_read(std::size_t(count + 1), count + 1);
    for (int j = count - 1; j >= 0; --j) {
        const Op& op = graph.ops[std::size_t(j)];
        int reads = op.input;
        for (int value : op.joined) reads = std::min(reads, value);
        earliest_read[std::size_t(j)] = std::min(earliest_read[std::size_t(j + 1)], reads);
    }
    std::vector<Segment> segments;
    int start = 0, candidate = -1;
    for (int b = 1; b < count; ++b) {
        if (earliest_read[std::size_t(b)] < b) continue;
        if (b - start <= budget) {
            candidate = b;
            continue;
        }
        int cut = candidate > start ? candidate : b;
        segments.push_back({start, cut});
        start = cut;
        candidate = b > start && b - start <= budget ? b : -1;
    }
    segments.push_back({start, count});
    return segments;
}

// The floats of a TrainingLayout buffer that belong to the ops of a segment: [begin, end).
struct FloatRange {
    std::int64_t begin = 0, end = 0;
    std::int64_t size() const { return end - begin; }
};

inline FloatRange range_of(const std::vector<TrainingTensor>& tensors, const Segment& segment) {
    FloatRange range{-1, -1};
    for (const TrainingTensor& tensor : tensors) {
        if (tensor.op < segment.first || tensor.op >= segment.last) continue;
        if (range.begin < 0) range.begin = tensor.offset;
        range.end = tensor.offset + tensor.elements;
    }
    return range.begin < 0 ? FloatRange{0, 0} : range;
}

struct TrainingState {
    std::vector<float> parameters, statistics;
};

inline TrainingState pack_training_state(const TrainingLayout& layout, const StateDict& tensors, const std::string& source,
                                         const std::vector<std::string>& ignored = {}) {
    check_state_dict(layout.graph, tensors, source, ignored);
    TrainingState state{std::vector<float>(std::size_t(layout.parameter_floats), 0.0f),
                        std::vector<float>(std::size_t(layout.statistic_floats), 0.0f)};
    auto pack = [&](const std::vector<TrainingTensor>& list, std::vector<float>& out) {
        for (const TrainingTensor& tensor : list) {
            const std::vector<float>& from = tensors.at(tensor.name).data;
            float* to = out.data() + tensor.offset;
            for_each_element(tensor_layout(layout.graph.ops[std::size_t(tensor.op)], tensor.slot, layout.packing),
                             [&](std::int64_t packed, std::int64_t source) { to[packed] = from[std::size_t(source)]; });
        }
    };
    pack(layout.parameters, state.parameters);
    pack(layout.statistics, state.statistics);
    return state;
}

inline StateDict unpack_training_state(const TrainingLayout& layout, const TrainingState& state) {
    StateDict tensors;
    auto unpack = [&](const std::vector<TrainingTensor>& list, const std::vector<float>& in) {
        for (const TrainingTensor& tensor : list) {
            const Op& op = layout.graph.ops[std::size_t(tensor.op)];
            const TensorSpec& spec = op.tensors.items[tensor.slot];
            Tensor& to = tensors[tensor.name] = Tensor(std::vector<std::int64_t>(spec.dims, spec.dims + spec.rank));
            const float* from = in.data() + tensor.offset;
            for_each_element(tensor_layout(op, tensor.slot, layout.packing),
                             [&](std::int64_t packed, std::int64_t source) { to.data[std::size_t(source)] = from[packed]; });
        }
    };
    unpack(layout.parameters, state.parameters);
    unpack(layout.statistics, state.statistics);
    return tensors;
}

}  // namespace snc
