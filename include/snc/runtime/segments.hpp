// The calling convention of a compiled training segment, written once: which arguments each pass
// takes, in which order, and the shape of each. The training compiler declares its functions'
// arguments from it, the AOT engine (runtime/aot_training.hpp) and the JIT engine (halide/jit.hpp)
// pass buffers by it. The update passes after the segments:
//   sgd                 parameters, velocity, gradients, learning_rate, momentum, weight_decay
//                       -> parameters, velocity      (the same buffers: updated in place)
//   update_statistics   running, batch -> running    (likewise)
//
//   forward   input, parameters, seed                 -> output, batch_statistics, conv_output...
//   backward  input, [labels], parameters, seed, [output_gradient], conv_output...
//                                                     -> [input_gradient], parameter_gradients,
//                                                        batch_statistics, [loss_stats]
// labels and loss_stats belong to the last segment, output_gradient to all others, input_gradient
// to all but the first (the images need no gradient). conv_output is one buffer per convolution of
// the segment (kept_convs): the forward pass writes each conv's output, the backward pass reads it
// back instead of convolving again. The last segment has none: its backward pass is its forward.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <HalideBuffer.h>

#include <snc/training.hpp>

namespace snc {

// The forward pass alone (its output feeds the next segment; with it, each BatchNorm's batch
// statistics and its convs' outputs), or forward and backward together (a segment's backward pass
// recomputes its forward pass from its input and the kept conv outputs).
enum class SegmentPass : std::uint8_t { forward, backward };

enum class SegmentArgument : std::uint8_t {
    // inputs
    input,                // the segment's input value: the images, or the output of the segment before
    labels,               // int32 (N)
    parameters,           // the whole parameter buffer
    seed,                 // uint32 scalar: the step's random stream (dropout), the same in a step's passes
    output_gradient,      // d loss / d the segment's output
    conv_output,          // a kept conv's output: written by the forward pass, read by the backward pass
    // outputs
    output,               // the segment's output value
    input_gradient,       // d loss / d the segment's input
    parameter_gradients,  // the segment's range of the gradient buffer (parameter-shaped)
    batch_statistics,     // the segment's range of the statistics-shaped buffer
    loss_stats,           // (mean loss, correct predictions)
};

// One argument of a pass: its kind, and for conv_output, which of the segment's kept convs.
struct SegmentSlot {
    SegmentArgument argument;
    int index = 0;
};

inline bool is_output(SegmentSlot slot, SegmentPass pass) {
    if (slot.argument == SegmentArgument::conv_output) return pass == SegmentPass::forward;
    return slot.argument >= SegmentArgument::output;
}

// The value ids of the conv outputs segment s keeps from its forward pass for its backward pass:
// each conv's, unless it is the segment's output (the next segment's input) or the segment is the
// last (no forward pass runs before its backward). Recomputing them was 0.50 s of the course's
// ResNet-18 step of 2.6 s on 1 thread (Halide's profiler); keeping them costs their memory: 15 of
// its 20 convs, 222 MB at batch 128 on 96x96 images. The step ran 3.56 -> 3.02 s on 1 thread,
// 2.24 -> 1.88 s on 2 (the trainer, the same losses).
inline std::vector<int> kept_convs(const Graph& graph, const std::vector<Segment>& segments, int s) {
    const Segment& segment = segments[std::size_t(s)];
    std::vector<int> values;
    if (s + 1 == int(segments.size())) return values;
    for (int i = segment.first; i < segment.last; ++i)
        if (graph.ops[std::size_t(i)].spec.kind == OpKind::conv && i + 1 != segment.output()) values.push_back(i + 1);
    return values;
}

inline std::vector<SegmentSlot> segment_arguments(SegmentPass pass, const Graph& graph, const std::vector<Segment>& segments,
                                                  int s) {
    using A = SegmentArgument;
    const bool first = s == 0, last = s + 1 == int(segments.size());
    const int kept = int(kept_convs(graph, segments, s).size());
    std::vector<SegmentSlot> arguments;
    auto add = [&](A argument) { arguments.push_back({argument}); };
    auto add_convs = [&] {
        for (int k = 0; k < kept; ++k) arguments.push_back({A::conv_output, k});
    };
    if (pass == SegmentPass::forward) {
        for (A argument : {A::input, A::parameters, A::seed, A::output, A::batch_statistics}) add(argument);
        add_convs();
        return arguments;
    }
    add(A::input);
    if (last) add(A::labels);
    add(A::parameters);
    add(A::seed);
    if (!last) add(A::output_gradient);
    add_convs();
    if (!first) add(A::input_gradient);
    add(A::parameter_gradients);
    add(A::batch_statistics);
    if (last) add(A::loss_stats);
    return arguments;
}

// A buffer argument's extents in Halide's order (innermost first) and the coordinate of its first
// element: a flat buffer's range keeps its indices in the whole buffer. An empty range is one
// scratch element, so that every output has a size.
struct ArgumentShape {
    std::vector<int> extents;
    int min = 0;
    bool scratch = false;  // an empty range: the call writes one element nobody reads
};

inline ArgumentShape argument_shape(SegmentSlot slot, const TrainingLayout& layout, const std::vector<Segment>& segments, int s) {
    const Segment& segment = segments[std::size_t(s)];
    auto value = [](const Shape& shape) {
        ArgumentShape out;
        for (int d = shape.rank - 1; d >= 0; --d) out.extents.push_back(int(shape.dims[d]));
        return out;
    };
    auto range = [](FloatRange r) {
        return r.size() == 0 ? ArgumentShape{{1}, 0, true} : ArgumentShape{{int(r.size())}, int(r.begin)};
    };
    const Graph& graph = layout.graph;
    switch (slot.argument) {
        case SegmentArgument::conv_output: return value(graph.shape_of(kept_convs(graph, segments, s)[std::size_t(slot.index)]));
        case SegmentArgument::input:
        case SegmentArgument::input_gradient: return value(graph.shape_of(segment.input()));
        case SegmentArgument::output:
        case SegmentArgument::output_gradient: return value(graph.shape_of(segment.output()));
        case SegmentArgument::labels: return {{int(graph.input.n())}, 0};
        case SegmentArgument::parameters: return {{int(layout.parameter_floats)}, 0};
        case SegmentArgument::parameter_gradients: return range(range_of(layout.parameters, segment));
        case SegmentArgument::batch_statistics: return range(range_of(layout.statistics, segment));
        case SegmentArgument::loss_stats: return {{2}, 0};
        case SegmentArgument::seed: return {};
    }
    return {};
}

// The memory of one call, by argument: whole buffers (a flat one's range is cut out by
// argument_view); a pass reads and writes those its argument list names.
struct SegmentMemory {
    halide_buffer_t* input = nullptr;
    halide_buffer_t* labels = nullptr;
    halide_buffer_t* parameters = nullptr;
    std::uint32_t seed = 0;
    halide_buffer_t* output_gradient = nullptr;
    halide_buffer_t* output = nullptr;
    halide_buffer_t* input_gradient = nullptr;
    halide_buffer_t* parameter_gradients = nullptr;
    halide_buffer_t* batch_statistics = nullptr;
    halide_buffer_t* loss_stats = nullptr;
    std::span<halide_buffer_t* const> conv_outputs;  // by kept conv

    halide_buffer_t* buffer(SegmentSlot slot) const {
        switch (slot.argument) {
            case SegmentArgument::conv_output: return conv_outputs[std::size_t(slot.index)];
            case SegmentArgument::input: return input;
            case SegmentArgument::labels: return labels;
            case SegmentArgument::parameters: return parameters;
            case SegmentArgument::seed: return nullptr;
            case SegmentArgument::output_gradient: return output_gradient;
            case SegmentArgument::output: return output;
            case SegmentArgument::input_gradient: return input_gradient;
            case SegmentArgument::parameter_gradients: return parameter_gradients;
            case SegmentArgument::batch_statistics: return batch_statistics;
            case SegmentArgument::loss_stats: return loss_stats;
        }
        return nullptr;
    }
};

// The buffer a call passes for `argument`: the whole buffer itself, `scratch` for an empty range,
// or a flat buffer's range of the segment as a crop (kept in `crop`) that keeps the flat indices
// and, on a device, shares the whole buffer's allocation.
inline halide_buffer_t* argument_buffer(SegmentSlot slot, const TrainingLayout& layout, const std::vector<Segment>& segments,
                                        int s, const SegmentMemory& memory, halide_buffer_t* scratch,
                                        Halide::Runtime::Buffer<void>& crop) {
    const ArgumentShape shape = argument_shape(slot, layout, segments, s);
    if (shape.scratch) return scratch;
    halide_buffer_t* whole = memory.buffer(slot);
    if (slot.argument != SegmentArgument::parameter_gradients && slot.argument != SegmentArgument::batch_statistics) return whole;
    crop = Halide::Runtime::Buffer<void>(*whole).cropped(0, shape.min, shape.extents[0]);
    return crop.raw_buffer();
}

// After a call that wrote a crop of `whole` on a device: the whole buffer's device copy is the
// newest there too.
inline void mark_written(const Halide::Runtime::Buffer<void>& crop, halide_buffer_t* whole) {
    if (crop.dimensions() > 0 && crop.device_dirty()) whole->set_device_dirty(true);
}

}  // namespace snc
