// The CPU schedules (inference in cpu.cpp, training in cpu_training.cpp) and their building blocks.
#pragma once

#include <snc/halide/lower.hpp>
#include <snc/halide/train.hpp>

namespace snc::halide {

void schedule_inference_cpu(Lowered& lowered, const Halide::Target& target);
void schedule_training_cpu(Training& training, const Halide::Target& target);

// Flat buffers: one vectorized loop per update, each writing its own range.
void schedule_flat_cpu(Halide::Func flat, const Halide::Target& target);

// Where a stored Func is computed. By default whole (compute_root), its loops spread over the
// threads. A small network at batch > 1 runs every stage inside the network output's loop over
// batch tiles instead (schedule_inference_cpu says when): each stage is computed `inside` that
// loop for the tile's images, one thread a tile and nothing parallel below; the output itself is
// the `batch_tiles` root, whose tiles are the threads' tasks.
struct Placement {
    enum class Kind : std::uint8_t { whole, batch_tiles, inside };
    Kind kind = Kind::whole;
    Halide::Func within;  // inside: the output whose loop holds the stage
    Halide::Var tile;     // batch_tiles, inside: that loop
    int images = 0;       // batch_tiles, inside: images per tile

    // Whether the Func's own loops take the threads: computed whole. (A batch tile's loop takes them
    // otherwise.)
    bool own_threads() const { return kind == Kind::whole; }
};

// Register-blocked tiles over output channels and columns, the reduction input-channel innermost;
// for few output channels, tiles over columns (from few input channels) or dot products (from many).
void schedule_conv_cpu(ConvFuncs conv, const Halide::Target& target, const Placement& placement = {});
// Winograd: per row of tiles, the transformed input, then the products in register tiles of output
// channels by tiles, then the output transform with the stage's epilogue.
void schedule_winograd_cpu(WinogradFuncs winograd, const Halide::Target& target);
// Register tiles of (vectors x lanes) a by b, the reduction inside; Funcs are handles.
// `reduction` orders the accumulator's reduction loops inside the tile (default: its RVars in order).
// The batch argument is b, the last: a placement other than whole tiles it by images.
void schedule_tiles_cpu(TileFuncs tiles, const Halide::Target& target, std::vector<Halide::RVar> reduction = {},
                        const Placement& placement = {});

}  // namespace snc::halide
