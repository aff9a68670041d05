// The training step as Halide Funcs, one segment of the network at a time (training.hpp): forward
// in training mode, softmax cross-entropy on the last segment, the backward pass by written
// adjoints. The SGD update and the running statistics are plain loops over the packed buffers
// (runtime/training_step.hpp), which chains the segments. The algorithm only: each op's forward and
// backward live in its file under src/ops/; what is stored, and how it is computed, is the
// training schedule's choice (schedule.hpp).
//
// Why written adjoints rather than Halide::propagate_adjoints: the adjoints of strided convolutions
// and pools are gathers written here with exact loop bounds (no scatter, no wasted multiply-adds),
// and each gradient is a Func with a known shape of computation, so the schedule can tile the hot
// ones like the forward convolutions. propagate_adjoints' gradients of the same convolutions are
// scatters into the input, and its default schedule took over 10 minutes to compile on tiny sizes
// with Halide 14.
//
// For a batch of N images with integer labels:
//   forward   BatchNorm with the batch's mean and biased variance (m = N*H*W per channel, or N)
//   loss      mean over the batch of log-sum-exp(z) - z[label]
//   backward  d loss / d every parameter of the segment, and d loss / d its input
// The arithmetic type is a parameter: float32 for training, float64 for the gradient checks.
#pragma once

#include <vector>

#include <Halide.h>

#include <snc/halide/lower.hpp>
#include <snc/runtime/segments.hpp>

namespace snc::halide {

struct SegmentInputs {
    Halide::Func input;            // the segment's input: the images (C, W, H, N), or the output of the segment before
    Halide::Func labels;           // the backward pass of the last segment: (N) int32 classes
    Halide::Func parameters;       // the whole parameter buffer; the segment reads its own tensors
    Halide::Func output_gradient;  // the backward pass of all but the last segment: d loss / d the segment's output
    Halide::Expr seed;             // uint32: the step's random stream (dropout); the same in a step's passes
    std::vector<int> kept_convs;   // the value ids of the conv outputs the forward pass keeps (runtime/segments.hpp)
    std::vector<Halide::Func> conv_outputs;  // the backward pass: those values as the forward pass wrote them
    // Whether each BatchNorm's sums go through the synchronized batch norm's extern stage
    // (runtime/collective.hpp): the CPU targets. A GPU step keeps its sums on the device.
    bool synchronizable = false;
};

// A Func over a shape, computed point by point, and what its readers do with it. The schedule
// decides from these facts whether it is stored or recomputed where it is read.
struct Pointwise {
    Halide::Func func;
    Shape shape;
    bool shared = false;  // read by two ops, or the join of two paths: inlined, each path would
                          // carry everything before it
    bool reread = false;  // read many times per output by a window or a tile (a conv's input)
    bool output = false;  // an output of the pipeline
};

// d loss / d a conv's weights: sum over the batch's pixels, reduction (x, y, n) with n last. Or,
// for a conv computed by Winograd, the products M(co, ci, p) summed over the batch's tiles
// (src/ops/conv.cpp): the same shape of computation.
struct WeightGradient {
    Halide::Func sum;          // (co, ci, kx, ky), or (co, ci, p)
    std::vector<int> extents;  // of its arguments
    int batch = 0;
    int plane = 0;  // terms per image: output pixels, or tiles
};

// One value per channel: a sum over (x, y, n) of an image or over (n) of features, or a Func of
// such sums (batch norm's 1 / sqrt(var + eps)).
struct PerChannel {
    Halide::Func func;
    int channels = 0;
    int images = 0;  // when the reduction runs over images' pixels: its last variable, over the images
    int width = 0;   // and the images' width, its first variable's extent
};

// A layer's weights as a Func in PyTorch's coordinates, read by an input gradient with `along`
// innermost: how it is stored is the schedule's choice.
struct WeightView {
    Halide::Func view;
    std::vector<int> extents;
    Halide::Var along;
};

// A Winograd transform the step stores whole: a mux over its argument number `position` (a
// position of the alpha x alpha tile, or a kernel tap), with the extents of each argument.
//   a conv's weights for F(m, 3), U(co, ci, p) = (G g G^T)(p), or its weight gradient transformed
//   back, dw(co, ci, kx + 3 ky) (position 2);
//   a Winograd weight gradient's tiles (c, tx, ty, p, n): the forward pass's input (B^T d B) and
//   the output gradient (A g A^T) (position 3).
struct StoredTransform {
    Halide::Func func;
    std::vector<int> extents;
    int position = 0;
};

struct Training {
    const TrainingLayout* layout = nullptr;
    Segment segment;
    Halide::Type real;
    Halide::Var c{"c"}, x{"x"}, y{"y"}, n{"n"}, ci{"ci"}, kx{"kx"}, ky{"ky"}, i{"i"};

    std::vector<Halide::Func> values;                      // forward, by value id (defined for the segment's values)
    std::vector<Halide::Func> batch_mean, batch_variance;  // per BatchNorm op of the segment
    Halide::Func loss, correct;                            // the last segment: scalar Funcs

    // The pipeline's outputs.
    Halide::Func output;               // forward: the segment's output value
    Halide::Func input_gradient;       // backward of a segment that does not start at the images
    Halide::Func parameter_gradients;  // backward: over the segment's range of the parameter buffer
    Halide::Func batch_statistics;     // each BatchNorm's batch mean and biased variance, where its
                                       // running mean and variance sit in the statistics buffer
    Halide::Func loss_stats;           // backward of the last segment: (mean loss, correct predictions)
    std::vector<Halide::Func> conv_outputs;  // forward: the kept convs' outputs, for the backward pass

    // What the schedule places, by shape of computation.
    std::vector<ConvFuncs> convs;                   // forward convs, input gradients of convs
    std::vector<WinogradFuncs> winograd_convs;      // the same by Winograd's F(m, 3) (winograd.hpp's rule)
    std::vector<StoredTransform> winograd_transforms;  // their weights, and the weight gradients' tiles
    std::vector<std::pair<Halide::Func, Halide::Region>> padded_inputs;  // conv inputs with their zero border
    std::vector<TileFuncs> tiles;                   // dense layers, their input and weight gradients
    std::vector<WeightGradient> weight_gradients;   // conv weight gradients
    std::vector<WeightView> weight_views;           // weights read by input gradients
    std::vector<Pointwise> pointwise;               // element-wise Funcs worth a decision
    std::vector<std::pair<Halide::Func, Shape>> reductions;  // window and plane reductions read again (argmax, sums)
    std::vector<PerChannel> per_channel;
    std::vector<Halide::Func> across_processes;     // the synchronized batch norm's extern stages
    std::vector<Halide::Func> scalars;              // per-image or whole-batch reductions
    int batch = 0;
    std::vector<std::pair<Halide::Func, FloatRange>> flat_outputs;  // parameter gradients, batch statistics
};

Training lower_training_segment(const TrainingLayout& layout, const Segment& segment, SegmentPass pass,
                                SegmentInputs inputs, Halide::Type real = Halide::Float(32));

}  // namespace snc::halide
