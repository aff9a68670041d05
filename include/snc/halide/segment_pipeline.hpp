// A training segment's pass as one Halide pipeline: its parameters declared by the calling
// convention (runtime/segments.hpp), lowered, scheduled for the target, its outputs bounded. The
// training compiler compiles it ahead of time; the JIT engine (halide/jit.hpp) realizes it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <Halide.h>

#include <snc/halide/train.hpp>

namespace snc::halide {

struct SegmentPipeline {
    Training funcs;
    Halide::Pipeline pipeline;
    SegmentPass pass;
    std::vector<SegmentSlot> arguments;    // in the convention's order
    std::vector<Halide::Argument> inputs;  // the input arguments, in that order, for compile_to_module
    std::vector<Halide::Func> outputs;     // the outputs, in that order

    // Named as the convention names them: input, labels, parameters, seed, output_gradient,
    // conv_output<k> (the backward pass's kept conv outputs).
    Halide::ImageParam input, labels, parameters, output_gradient;
    Halide::Param<std::uint32_t> seed;
    std::vector<Halide::ImageParam> conv_outputs;
};

SegmentPipeline segment_pipeline(const TrainingLayout& layout, const std::vector<Segment>& segments, int s, SegmentPass pass,
                                 const Halide::Target& target, Halide::Type real = Halide::Float(32));

// The C functions a training segment calls (the synchronized batch norm's stage), for the JIT: a
// pipeline realized from a segment's Funcs needs them set (segment_pipeline's are).
std::map<std::string, Halide::JITExtern> training_jit_externs();

}  // namespace snc::halide

namespace snc::halide {

// The update passes (runtime/segments.hpp): SGD, and the running statistics, over the flat
// buffers, each a pipeline for the same target as the segments, so that on a GPU the parameters
// never leave it.
struct UpdatePipeline {
    Halide::Pipeline pipeline;
    std::vector<Halide::Argument> inputs;  // in the convention's order
    Halide::ImageParam parameters, velocity, gradients, running, batch;
    Halide::Param<float> learning_rate{"learning_rate"}, momentum{"momentum"}, weight_decay{"weight_decay"};
};

//   v <- momentum v + (g + weight_decay p),  p <- p - learning_rate v     (PyTorch's SGD, dampening 0)
UpdatePipeline sgd_pipeline(const TrainingLayout& layout, const Halide::Target& target, Halide::Type real = Halide::Float(32));
//   r <- (1 - M) r + M batch, the variance's batch value made unbiased by m / (m - 1)
UpdatePipeline statistics_pipeline(const TrainingLayout& layout, const Halide::Target& target, Halide::Type real = Halide::Float(32));

}  // namespace snc::halide
