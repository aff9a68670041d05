// The training step as Halide Funcs, one segment of the network at a time (training.hpp): forward
// in training mode, softmax cross-entropy on the last segment, the backward pass by written
// adjoints. The SGD update and the running statistics are plain loops over the packed buffers
// (train_step.hpp), which chains the segments. The algorithm only; the schedule is
// schedule_training_cpu (src/schedule_train_cpu.cpp).
//
// Why written adjoints rather than Halide::propagate_adjoints: the adjoints of strided convolutions
// and pools are gathers written here with exact loop bounds (no scatter, no wasted multiply-adds),
// and each gradient is a Func this file names, so the schedule can tile the hot ones like the forward
// convolutions. propagate_adjoints' gradients of the same convolutions are scatters into the input,
// and its default schedule is unusable (over 10 minutes on tiny sizes, HALIDE14.md).
//
// For a batch of N images with integer labels:
//   forward   BatchNorm with the batch's mean and biased variance (m = N*H*W per channel, or N)
//   loss      mean over the batch of log-sum-exp(z) - z[label]
//   backward  d loss / d every parameter of the segment, and d loss / d its input
// The arithmetic type is a parameter: float32 for training, float64 for the gradient checks.
#pragma once

#include <optional>
#include <vector>

#include <Halide.h>

#include <snc/halide/schedule.hpp>
#include <snc/training.hpp>

namespace snc::halide {

struct SegmentInputs {
    Halide::Func input;            // the segment's input: the images (C, W, H, N), or the output of the segment before
    Halide::Func labels;           // the last segment: (N) int32 classes
    Halide::Func parameters;       // the whole parameter buffer; the segment reads its own tensors
    Halide::Func output_gradient;  // all but the last segment: d loss / d the segment's output
};

// The forward pass alone (its output feeds the next segment), or forward and backward together
// (the backward pass of a segment recomputes its forward pass from its input).
enum class SegmentPass { forward, backward };

// A register-tiled reduction (schedule.hpp) with the extents of every dimension of its output.
struct Tiles {
    TileFuncs funcs;
    std::vector<int> extents;
};

struct Training {
    const TrainingLayout* layout = nullptr;
    Segment segment;
    Halide::Type real;
    Halide::Var c{"c"}, x{"x"}, y{"y"}, n{"n"}, ci{"ci"}, kx{"kx"}, ky{"ky"}, i{"i"};

    std::vector<Halide::Func> values;     // forward, by value id (defined for the segment's values)
    std::vector<Halide::Func> gradients;  // d loss / d values[v], where the segment needs it
    std::vector<Halide::Func> batch_mean, batch_variance;  // per BatchNorm op of the segment
    Halide::Func loss, correct;           // the last segment: scalar Funcs

    // The pipeline's outputs.
    Halide::Func output;                // forward: the segment's output value
    Halide::Func input_gradient;        // backward of a segment that does not start at the images
    Halide::Func parameter_gradients;   // backward: over the segment's range of the parameter buffer
    Halide::Func batch_statistics;      // backward: each BatchNorm's batch mean and biased variance, where
                                        // its running mean and variance sit in the statistics buffer
    Halide::Func loss_stats;            // backward of the last segment: (mean loss, correct predictions)

    // What the schedule places.
    std::vector<ConvFuncs> convs;                              // forward convs, input gradients of convs
    std::vector<std::pair<Halide::Func, Halide::Region>> padded_inputs;  // conv inputs with their zero border
    std::vector<Tiles> tiles;                                  // dense layers, their input and weight gradients
    std::vector<std::pair<Halide::Func, std::vector<int>>> weight_sums;  // conv weight gradients: partial sums added
    std::vector<std::pair<Halide::Func, Shape>> pointwise;     // element-wise, stored
    std::vector<std::pair<Halide::Func, int>> channel_sums;    // reductions to one value per channel
    std::vector<Halide::Func> scalars;                         // per-image or whole-batch reductions
    int batch = 0;
    std::vector<std::pair<Halide::Func, FloatRange>> flat_outputs;  // parameter gradients, batch statistics
};

Training lower_training_segment(const TrainingLayout& layout, const Segment& segment, SegmentPass pass,
                                SegmentInputs inputs, Halide::Type real = Halide::Float(32));

void schedule_training_cpu(Training& training, const Halide::Target& target);

}  // namespace snc::halide
