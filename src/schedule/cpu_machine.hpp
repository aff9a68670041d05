// What the CPU schedules need to know of the target: vector width and register budget.
#pragma once

#include <algorithm>
#include <vector>

#include <Halide.h>

#include <snc/shape.hpp>

namespace snc::halide {

struct Machine {
    int vector_lanes;  // floats per vector register
    int accumulators;  // vector registers a tile may keep
};

inline Machine machine_of(const Halide::Target& target) {
    bool avx512 = target.has_feature(Halide::Target::AVX512) || target.has_feature(Halide::Target::AVX512_Skylake);
    return {target.natural_vector_size<float>(), avx512 ? 28 : 12};
}

// The widest vector that fits `extent` (a split must not be wider than what it splits).
inline int lanes_for(int extent, int vector_lanes) {
    int lanes = 1;
    while (lanes * 2 <= std::min(extent, vector_lanes)) lanes *= 2;
    return lanes;
}

// The widest vector that divides `extent`: for Funcs with update definitions, whose vectorized
// loops must not overlap (ShiftInwards) nor mix tail strategies between pure and update steps
// (seen to double-count in Halide 14: a 3-channel batch variance came out twice too large).
inline int dividing_lanes(int extent, int vector_lanes) {
    int lanes = 1;
    while (lanes * 2 <= vector_lanes && extent % (lanes * 2) == 0) lanes *= 2;
    return lanes;
}

// How many vectors of `lanes` channels a register tile takes across `channels`: the most, up to
// `most` (and 4), that divide them (an update's loops must not overlap).
inline int dividing_vectors(int channels, int lanes, int most) {
    int vectors = 1;
    for (int v = 1; v <= std::min(4, most); ++v)
        if (channels % (lanes * v) == 0) vectors = v;
    return vectors;
}

// A register tile's length along an output dimension of `extent`, at most `longest`: the one with
// the least work, counting each tile's outputs plus one for its loads of the other operand, so a
// length that divides the extent wins over a longer one that does not (ShiftInwards computes the
// last tile's overlap twice). The course ResNet-18's 24- and 12-wide planes take 6 columns, not 7
// (28 and 14 computed for 24 and 12); 56, 28 and 14 keep 7.
inline int tile_length(int extent, int longest) {
    int best = 1, best_work = 0;
    for (int length = 1; length <= std::min(extent, longest); ++length) {
        const int work = (extent + length - 1) / length * (length + 1);
        if (best_work == 0 || work <= best_work) best = length, best_work = work;
    }
    return best;
}

// The rows of a plane (times its images) a thread's task takes: 4096 values or more, so that the
// thread pool's cost per task stays small against the work, but 8 tasks at least.
inline int rows_per_task(int row_values, int rows) {
    return std::clamp((4096 + row_values - 1) / row_values, 1, std::max(1, rows / 8));
}

// A conv with at most half a vector of output channels whose reduction runs over whole vectors of
// input channels (BNLeNet's second conv's input gradient: 6 channels from 16) is computed as dot
// products, vectors across the reduction's channels (src/schedule/cpu.cpp); its weights are then
// read with the reduction's channel innermost (src/schedule/cpu_training.cpp).
inline bool dot_products(int channels, int reduction_channels, const Machine& m) {
    return channels <= m.vector_lanes / 2 && reduction_channels % m.vector_lanes == 0;
}

// Tells Halide a Func is computed whole over `shape`: every loop and every per-tile buffer below it
// then has a constant size.
inline void bound_to(Halide::Func f, const std::vector<Halide::Var>& vars, const std::vector<int>& extents) {
    for (std::size_t d = 0; d < vars.size(); ++d) f.bound(vars[d], 0, extents[d]);
}

}  // namespace snc::halide
