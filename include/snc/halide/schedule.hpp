// Schedules: where each Func of a lowered network is computed and how its loops run, per target.
// One entry for inference and one for a training segment, called by the generators, the training
// compiler and the JIT engines alike; each branches once on the target, as Halide's apps do. The
// CPU schedules are src/schedule/cpu.cpp (inference, and the conv and tile building blocks) and
// src/schedule/cpu_training.cpp, with the measurements behind their choices.
#pragma once

#include <snc/halide/lower.hpp>
#include <snc/halide/train.hpp>

namespace snc::halide {

// How weights are packed (layout.hpp), for inference (the plan) and for training (the training
// layout): one packing for every target, so that one library's weights file serves all its
// variants and no two targets of a library can disagree (src/schedule/schedule.cpp says why this
// one).
inline constexpr Packing inference_packing = Packing::output_blocked;
inline constexpr Packing training_packing = Packing::output_blocked;

void schedule(Lowered& lowered, const Halide::Target& target);
void schedule(Training& training, const Halide::Target& target);
// A Func over a flat buffer's [0, extent), and each of its updates over its own range.
void schedule_flat(Halide::Func flat, int extent, const Halide::Target& target);

}  // namespace snc::halide
