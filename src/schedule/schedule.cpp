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

namespace {

// `reader` compiled for each of the dense layouts, its strides constants as a fixed buffer's are:
// each stride's equality is a specialization of its own (Halide substitutes a variable's value
// only from a condition `variable == value`), and any other strides fail. A branch for any strides
// spilled registers in the CUDA kernels of ResNet-18's stem conv (ptxas, sm_80 and sm_90), and
// on the CPU its loads computed addresses from run-time strides. The entries pass one of the two
// layouts only (runtime/entry_checks.hpp and <id>_from_nchw), so the failure is never reached.
void specialize_on_input_layout(Halide::Func reader, const std::vector<Halide::Expr>& strides, const Shape& input) {
    const int c = int(input.c()), w = int(input.w()), h = int(input.h());
    const std::vector<int> nhwc{1, c, c * w, c * w * h}, nchw{h * w, 1, w, c * h * w};  // (C, W, H, N)'s strides
    const std::string message = reader.name() + ": the input is neither a dense NHWC nor a dense NCHW buffer";
    for (const std::vector<int>* layout : {&nhwc, &nchw}) {
        Halide::Stage branch = reader.specialize(strides[0] == (*layout)[0]);
        for (std::size_t d = 1; d < strides.size(); ++d) {
            Halide::Stage inner = branch.specialize(strides[d] == (*layout)[d]);
            branch.specialize_fail(message);
            branch = inner;
        }
    }
    reader.specialize_fail(message);
}

}  // namespace

void schedule(Lowered& lowered, const Halide::Target& target) {
    if (target.has_gpu_feature()) schedule_inference_gpu(lowered, target);
    else schedule_inference_cpu(lowered, target);
    // Where the input may be NHWC or NCHW memory (lower.hpp: constrain_input), each stage that reads
    // it (and the producers computed inside it: a stem conv's padded input) is compiled for both,
    // with the schedule above, and the rest of the pipeline once. (A view of the input is computed
    // by its readers, which then read it with run-time strides: correct, not specialized.)
    if (lowered.input_strides.empty()) return;
    const Plan& plan = *lowered.plan;
    for (std::size_t s = 0; s < plan.stages.size(); ++s) {
        const std::vector<int>& reads = plan.stages[s].reads;
        if (lowered.stages[s].pattern != Pattern::view && std::find(reads.begin(), reads.end(), 0) != reads.end())
            specialize_on_input_layout(lowered.stages[s].output, lowered.input_strides, plan.graph.input);
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
