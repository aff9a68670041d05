// The training step as Halide Funcs: forward in training mode, the backward pass by written
// adjoints, softmax cross-entropy, SGD with momentum and weight decay. The algorithm only; the
// schedule is schedule_training_cpu (src/schedule_train_cpu.cpp).
//
// Why written adjoints rather than Halide::propagate_adjoints: the adjoints of strided convolutions
// and pools are gathers written here with exact loop bounds (no scatter, no wasted multiply-adds),
// and each gradient is a Func this file names, so the schedule can tile the hot ones like the forward
// convolutions. propagate_adjoints' gradients of the same convolutions are scatters into the input,
// and its default schedule is unusable (over 10 minutes on tiny sizes, HALIDE14.md).
//
// One step, for a batch of N images with integer labels:
//   forward   BatchNorm with the batch's mean and biased variance (m = N*H*W per channel, or N)
//   loss      mean over the batch of log-sum-exp(z) - z[label]
//   backward  d loss / d every parameter
//   SGD       v <- momentum * v + (g + weight_decay * p),  p <- p - lr * v   (PyTorch's SGD)
//   running   r <- (1 - M) * r + M * batch statistic, with the unbiased variance m / (m - 1) * var
// The arithmetic type is a parameter: float32 for training, float64 for the gradient checks.
#pragma once

#include <optional>
#include <vector>

#include <Halide.h>

#include <snc/halide/schedule.hpp>
#include <snc/training.hpp>

namespace snc::halide {

struct TrainingInputs {
    Halide::Func images;      // (C, W, H, N) or (F, N), the network's input shape
    Halide::Func labels;      // (N), int32 classes
    Halide::Func parameters;  // (TrainingLayout::parameter_floats)
    Halide::Func velocity;    // the momentum buffers, same layout
    Halide::Func statistics;  // (TrainingLayout::statistic_floats): running means and variances
    Halide::Expr learning_rate, momentum, weight_decay;
};

// A generator's Output Funcs, when the step is compiled ahead of time.
struct TrainingOutputs {
    std::optional<Halide::Func> parameters, velocity, statistics, stats;
};

// A tile-scheduled reduction: output(a, b, ...) = accumulator, a reduction whose terms are
// contiguous along `a` (vectorized) and reused along `b` (unrolled): the weight gradients.
struct OuterProduct {
    Halide::Func output, accumulator;
    Halide::Var a, b;
    int a_extent = 0, b_extent = 0;
    std::vector<int> extents;  // of every dimension of output, in order
};

struct Training {
    const TrainingLayout* layout = nullptr;
    Halide::Type real;
    Halide::Var c{"c"}, x{"x"}, y{"y"}, n{"n"}, ci{"ci"}, kx{"kx"}, ky{"ky"};

    std::vector<Halide::Func> values;     // forward: values[0] the images, values[i + 1] op i's output
    std::vector<Halide::Func> gradients;  // d loss / d values[v], where the step needs it
    std::vector<Halide::Func> batch_mean, batch_variance;  // per BatchNorm op (others undefined)
    Halide::Func loss, correct;           // scalar Funcs
    Halide::Func new_parameters, new_velocity, new_statistics, stats;  // stats: (loss, correct)

    // What the schedule places.
    std::vector<ConvFuncs> convs;                              // forward convs, input gradients of convs
    std::vector<std::pair<Halide::Func, Halide::Region>> padded_inputs;  // conv inputs with their zero border
    std::vector<OuterProduct> outer_products;                  // weight gradients
    std::vector<std::pair<Halide::Func, std::vector<int>>> weight_sums;  // conv weight gradients: partial sums added
    std::vector<std::pair<Halide::Func, Shape>> pointwise;     // element-wise, stored
    std::vector<std::pair<Halide::Func, int>> channel_sums;    // reductions to one value per channel
    std::vector<Halide::Func> scalars;                         // per-image or whole-batch reductions
    int batch = 0;
    std::vector<std::pair<Halide::Func, Shape>> dense_layers;  // dense forward (units, n) and input grads
    std::vector<std::pair<Halide::Func, Halide::RDom>> dense_accumulators;
};

Training lower_training(const TrainingLayout& layout, TrainingInputs inputs, TrainingOutputs outputs = {},
                        Halide::Type real = Halide::Float(32));

void schedule_training_cpu(Training& training, const Halide::Target& target);

}  // namespace snc::halide
