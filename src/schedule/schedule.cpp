// The schedules' one entry: the target decides which family places the Funcs.
#include <snc/halide/schedule.hpp>

#include "cpu.hpp"

namespace snc::halide {

// Every target reads weights with the output channel fastest: CPU tiles load them as vectors
// across output channels (src/schedule/cpu.cpp).
Packing packing_for(const Halide::Target&) { return Packing::output_innermost; }

void schedule(Lowered& lowered, const Halide::Target& target) {
    if (target.has_gpu_feature()) throw Error("snc: no GPU schedule yet for target " + target.to_string());
    schedule_inference_cpu(lowered, target);
}

void schedule(Training& training, const Halide::Target& target) {
    if (target.has_gpu_feature()) throw Error("snc: no GPU schedule yet for target " + target.to_string());
    schedule_training_cpu(training, target);
}

}  // namespace snc::halide
