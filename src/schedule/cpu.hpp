// The CPU schedules (inference in cpu.cpp, training in cpu_training.cpp) and their building blocks.
#pragma once

#include <snc/halide/lower.hpp>
#include <snc/halide/train.hpp>

namespace snc::halide {

void schedule_inference_cpu(Lowered& lowered, const Halide::Target& target);
void schedule_training_cpu(Training& training, const Halide::Target& target);

// Flat buffers: one vectorized loop per update, each writing its own range.
void schedule_flat_cpu(Halide::Func flat, const Halide::Target& target);

// Register-blocked tiles over output channels and columns, the reduction input-channel innermost.
void schedule_conv_cpu(ConvFuncs conv, const Halide::Target& target);
// Winograd: per row of tiles, the transformed input, then the products in register tiles of output
// channels by tiles, then the output transform with the stage's epilogue.
void schedule_winograd_cpu(WinogradFuncs winograd, const Halide::Target& target);
// Register tiles of (vectors x lanes) a by b, the reduction inside; Funcs are handles.
// `reduction` orders the accumulator's reduction loops inside the tile (default: its RVars in order).
void schedule_tiles_cpu(TileFuncs tiles, const Halide::Target& target, std::vector<Halide::RVar> reduction = {});

}  // namespace snc::halide
