// The GPU schedules (inference in gpu.cpp, training in gpu_training.cpp) and their building blocks.
// Two flavours of the convolution: a portable one (OpenCL, and anything else) with each thread
// owning a register tile of outputs and the block's input tile in shared memory; and, for CUDA
// targets, Halide's apps/conv_layer formulation with one warp per block, gpu_lanes over 32 output
// channels and the input chunks passed between lanes by warp shuffles.
#pragma once

#include <snc/halide/lower.hpp>
#include <snc/halide/train.hpp>

namespace snc::halide {

void schedule_inference_gpu(Lowered& lowered, const Halide::Target& target);
void schedule_training_gpu(Training& training, const Halide::Target& target);

// Flat buffers: blocks of 64 threads along the buffer, and along each update's range.
void schedule_flat_gpu(Halide::Func flat);

void schedule_conv_gpu(ConvFuncs conv, const Halide::Target& target);
void schedule_tiles_gpu(TileFuncs tiles, std::vector<Halide::RVar> reduction = {});
// Winograd: the transformed input, the products (tiles: threads over output channels, 4 tiles each)
// and the output transform, each a kernel; a thread computes every position of its tile.
void schedule_winograd_gpu(WinogradFuncs winograd);
// A Func computed whole, point by point: blocks and threads over its first two dimensions (the
// rest fused into the blocks); its updates the same over their pure dimensions.
// `bound`: whether to fix its bounds to [0, extent) (false when the caller has given others).
void schedule_pointwise_gpu(Halide::Func f, const std::vector<int>& extents, bool bound = true);

}  // namespace snc::halide
