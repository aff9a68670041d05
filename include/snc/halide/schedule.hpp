// Schedules for a lowered network: where each stage's Funcs are computed and how their loops run.
// CPU here; the GPU schedule sits beside it when it comes. The choice per stage follows measurements
// recorded in src/schedule_cpu.cpp.
#pragma once

#include <snc/halide/lower.hpp>

namespace snc::halide {

enum class Schedule {
    hand,           // snc's own: register-blocked tiles, vectorized, parallel rows
    mullapudi2016,  // Halide's bundled autoschedulers, for comparison (bench/)
    adams2019,
};

void schedule_cpu(Lowered& lowered, const Halide::Target& target);

// A convolution-shaped computation: output(c, x, y, n) = accumulator, a reduction (r.x innermost,
// contiguous in NHWC; r.y, r.z the window) over `padded` (or the input itself). Inference convs,
// and in training the forward convs and the input gradients of convs (a transposed convolution),
// share this schedule.
struct ConvFuncs {
    Halide::Func output, accumulator, padded;
    Halide::RDom reduction;
    Shape in, out;  // in.c() is the reduction's channel count
    Halide::Var c, x, y, n;
};
void schedule_conv_cpu(ConvFuncs conv, const Halide::Target& target);

// A register-tiled reduction: output(a, b, ...) = accumulator, whose terms are contiguous along a
// (vectorized) and reused along b (unrolled). Dense layers (a: units, b: images), and in training
// their input gradients and every weight gradient (a: output channels, b: input channels).
struct TileFuncs {
    Halide::Func output, accumulator;
    Halide::Var a, b;
    int a_extent = 0, b_extent = 0;
};
void schedule_tiles_cpu(TileFuncs tiles, const Halide::Target& target);  // Funcs are handles: a copy schedules them

}  // namespace snc::halide
