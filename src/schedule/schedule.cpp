// The schedules' one entry: the target decides which family places the Funcs.
#include <snc/halide/schedule.hpp>

#include <algorithm>

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
    // Where the input may be NHWC or NCHW memory (lower.hpp: constrain_input), each stage that reads
    // it (and the producers computed inside it: a stem conv's padded input) is compiled twice, with
    // the schedule above: once for channels innermost, where the loads are the dense vectors they
    // were, and once for any strides, where the NCHW entry's transposition happens in the stage's
    // own loads. The rest of the pipeline is compiled once. (A view of the input is computed by its
    // readers, which take the general branch.)
    if (!lowered.input_channels_innermost.defined()) return;
    const Plan& plan = *lowered.plan;
    for (std::size_t s = 0; s < plan.stages.size(); ++s) {
        const std::vector<int>& reads = plan.stages[s].reads;
        if (lowered.stages[s].pattern != Pattern::view && std::find(reads.begin(), reads.end(), 0) != reads.end())
            lowered.stages[s].output.specialize(lowered.input_channels_innermost);
    }
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
