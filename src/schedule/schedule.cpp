// The schedules' one entry: the target decides which family places the Funcs.
#include <snc/halide/schedule.hpp>

#include "cpu.hpp"
#include "gpu.hpp"

namespace snc::halide {

// Every target reads weights with the output channel fastest: CPU tiles load them as vectors
// across output channels (src/schedule/cpu.cpp), a GPU block's threads (or lanes) own 32
// consecutive output channels and read them coalesced (src/schedule/gpu.cpp). A conv's output
// channels come in blocks of a CPU tile's 64, so that a tile's weights are one stream
// (layout.hpp); a GPU block's 32 channels stay consecutive. One packing for all targets: a
// library's weights file serves every target in it. Training packs its parameters the same way:
// the course's ResNet-18 step (batch 128, 1 thread, Halide's profiler) spent 1.66 s in its
// forward convs unblocked, 1.19 s blocked (and its input gradients, which read the weights
// transposed, 1.05 -> 0.63 s with their own blocks: src/ops/conv.cpp); 4.86 -> 3.68 s a step.
// (inference_packing and training_packing in schedule.hpp.)

void schedule(Lowered& lowered, const Halide::Target& target) {
    if (target.has_gpu_feature()) schedule_inference_gpu(lowered, target);
    else schedule_inference_cpu(lowered, target);
}

void schedule_flat(Halide::Func flat, int extent, const Halide::Target& target) {
    flat.bound(flat.args()[0], 0, extent);
    if (target.has_gpu_feature()) schedule_flat_gpu(flat);
    else schedule_flat_cpu(flat, target);
}

void schedule(Training& training, const Halide::Target& target) {
    if (target.has_gpu_feature()) schedule_training_gpu(training, target);
    else schedule_training_cpu(training, target);
}

}  // namespace snc::halide
