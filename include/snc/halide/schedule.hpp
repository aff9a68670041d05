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

}  // namespace snc::halide
