// Lowering: an inference plan (plan.hpp) to Halide Funcs. The algorithm only: each op's part lives
// in its file under src/ops/, and where and how each Func is computed is the schedule's business
// (schedule.hpp), as in Halide's apps.
//
// Layout: images are Funcs (c, x, y, n) over NHWC memory, C innermost; features are (c, n).
// The weights are one packed 1-D Func in the plan's layout.
#pragma once

#include <optional>
#include <vector>

#include <Halide.h>

#include <snc/plan.hpp>

namespace snc::halide {

// The shapes of computation the schedules know how to place. The algorithm says which shape each
// thing it builds has; the schedule chooses loops, tiles and storage for that shape and target.
enum class Pattern : std::uint8_t {
    convolution,  // output(c, x, y, n) = accumulator: a reduction over a window of (padded) input
                  // channels, contiguous in NHWC: inference convs, training's forward convs and the
                  // input gradients of convs (a transposed convolution)
    winograd,     // a 3x3 conv by Winograd's F(m, 3) (winograd.hpp): transformed_input, then the
                  // accumulator's products summed over input channels, then output's m x m tiles
    grouped,      // output(c, x, y, n) = accumulator, a reduction over a window of few input channels
                  // (a depthwise or grouped conv's, src/ops/grouped_conv.cpp): bound by memory
    tiles,        // output(a, b, ...) = accumulator, terms contiguous along a, reused along b:
                  // dense layers, their gradients
    rowwise,      // element-wise or small windows: pools, the mean, lone affine maps, adds
    view,         // a reshape of its input: computed by whoever reads it
};

// A convolution-shaped computation: output(c, x, y, n) = accumulator, whose reduction runs over
// (input channel, kernel column, kernel row) of `padded` (or the input itself); in.c() is the
// reduction's channel count.
struct ConvFuncs {
    Halide::Func output, accumulator, padded;
    Halide::RDom reduction;
    Shape in, out;
    Halide::Var c, x, y, n;
    Window window{};  // of `padded`: how much of it a tile of outputs reads
};

// A conv by Winograd's F(m, 3), in tiles (tx, ty) of m x m outputs and positions p = a + alpha b
// of the alpha x alpha transformed tiles, alpha = m + 2:
//   transformed_input(ci, tx, ty, p, n) = (B^T d B)(a, b) of the tile's input d, read from padded
//   accumulator(co, tx, ty, p, n)       = sum over ci (reduction) of U(co, ci, p) transformed_input(ci, tx, ty, p, n)
//   product(co, tx, ty, p, n)           = accumulator: a pure view of it, for schedules that need one
//   output(co, x, y, n)                 = bias + (A^T M A)(x mod m, y mod m) of the tile's products M
struct WinogradFuncs {
    Halide::Func output, accumulator, product, transformed_input, padded;
    Halide::RDom reduction;
    Shape in, out;
    Halide::Var c, x, y, n;
    int tile = 0;  // m
};

// A register-tiled reduction: output(a, ..., b, ...) = accumulator, a its first argument and b
// its argument number `b`, the terms contiguous along a and reused along b; extents of every
// argument of output.
struct TileFuncs {
    Halide::Func output, accumulator;
    std::vector<int> extents;
    int b = 1;
};

struct StageFuncs {
    Pattern pattern = Pattern::rowwise;
    Halide::Func output;       // what the stage stores
    Halide::Func accumulator;  // convolution, grouped, tiles: the reduction, computed inside the output's tiles
    Halide::Func padded;       // windows with padding: the input with its zero (or -inf) border
    Halide::RDom reduction;    // convolution: (input channel, kernel column, kernel row); winograd: input channel
    Halide::Func transformed_input, product;  // winograd (WinogradFuncs)
    // rowwise: a pixel's (or a row's) statistics over its channels, in order (layer norm's mean,
    // then its variance), each computed once per pixel where the output's channels are made.
    std::vector<Halide::Func> statistics;
};

struct Lowered {
    const Plan* plan = nullptr;
    std::vector<StageFuncs> stages;
    Halide::Func input, weights;  // the network's input, the packed weights
    Halide::Func output;          // the last stage: the network's result
    // Where the input's strides are the caller's to choose (the generators: constrain_input), they
    // are here, in Halide's order (C, W, H, N): the stages that read the input are compiled for
    // NHWC and NCHW memory (schedule.hpp). Empty: the input is dense NHWC, fixed.
    std::vector<Halide::Expr> input_strides;
    Halide::Var c{"c"}, x{"x"}, y{"y"}, n{"n"};

    // The Func holding `value`: the input, or the output of the stage that stores it.
    Halide::Func value(int v) const { return v == 0 ? input : stages[std::size_t(plan->stage_of(v))].output; }
    std::vector<Halide::Var> vars(const Shape& shape) const {
        return shape.is_image() ? std::vector<Halide::Var>{c, x, y, n} : std::vector<Halide::Var>{c, n};
    }
};

// Defines every stage. `output`, when given (a generator's Output), receives the last stage's
// definition, so the pipeline's result is stored straight into the caller's buffer.
Lowered lower(const Plan& plan, Halide::Func input, Halide::Func packed_weights,
              std::optional<Halide::Func> output = std::nullopt);

// A shape's extents in Halide's dimension order: (C, W, H, N) or (F, N).
inline std::vector<int> halide_extents(const Shape& shape) {
    if (shape.is_image()) return {int(shape.c()), int(shape.w()), int(shape.h()), int(shape.n())};
    return {int(shape.c()), int(shape.n())};
}

// Fixes a buffer's bounds and dense strides to a static shape, and tells the autoschedulers:
// works on ImageParams and on a generator's Input and Output buffers alike. A buffer of another
// shape is then refused by the pipeline's own checks.
template <class BufferLike>
void constrain(BufferLike& buffer, const Shape& shape) {
    int stride = 1;
    std::vector<int> extents = halide_extents(shape);
    for (int d = 0; d < int(extents.size()); ++d) {
        buffer.dim(d).set_bounds(0, extents[std::size_t(d)]).set_stride(stride).set_estimate(0, extents[std::size_t(d)]);
        stride *= extents[std::size_t(d)];
    }
}

// The generators' input: bounds fixed as constrain() fixes them, strides left to the caller, so
// that one pipeline takes NHWC memory (the entry <id>) and NCHW memory (<id>_from_nchw, a view with
// the channels' stride H x W) without a copy: the transposition is the first stage's loads. An
// (F, N) input is the same in both layouts and stays dense. Returns the strides, which Lowered
// keeps as input_strides, or nothing for an (F, N) input.
template <class BufferLike>
std::vector<Halide::Expr> constrain_input(BufferLike& buffer, const Shape& shape) {
    if (!shape.is_image()) {
        constrain(buffer, shape);
        return {};
    }
    std::vector<int> extents = halide_extents(shape);
    std::vector<Halide::Expr> strides;
    for (int d = 0; d < int(extents.size()); ++d) {
        buffer.dim(d).set_bounds(0, extents[std::size_t(d)]).set_estimate(0, extents[std::size_t(d)]);
        strides.push_back(buffer.dim(d).stride());
    }
    buffer.dim(0).set_stride(Halide::Expr());  // Halide fixes the innermost stride to 1 unless told
    return strides;
}

}  // namespace snc::halide
