// Lowering: an inference plan (plan.hpp) to Halide Funcs. The algorithm only; where and how each
// Func is computed is the schedule's business (schedule.hpp), as in Halide's apps.
//
// Layout: images are Funcs (c, x, y, n) over NHWC memory, C innermost; features are (c, n).
// The weights are one packed 1-D Func in the plan's layout.
#pragma once

#include <optional>
#include <vector>

#include <Halide.h>

#include <snc/plan.hpp>

namespace snc::halide {

struct StageFuncs {
    Halide::Func output;       // what the stage stores: act(accumulator + residual), or the pool, ...
    Halide::Func accumulator;  // conv and dense: bias + the reduction, computed inside the output's tiles
    Halide::Func padded;       // conv and pool with padding: the input with its zero (or -inf) border
    Halide::RDom reduction;
};

struct Lowered {
    const Plan* plan = nullptr;
    std::vector<StageFuncs> stages;
    Halide::Func output;  // the last stage: the network's result
    Halide::Var c{"c"}, x{"x"}, y{"y"}, n{"n"};

    // The Func holding `value`: the input, or the output of the stage that stores it.
    Halide::Func input;
    Halide::Func value(int v) const { return v == 0 ? input : stages[std::size_t(plan->stage_of(v))].output; }
    std::vector<Halide::Var> vars(const Shape& shape) const {
        return shape.is_image() ? std::vector<Halide::Var>{c, x, y, n} : std::vector<Halide::Var>{c, n};
    }
};

// Defines every stage. `output`, when given (a generator's Output), receives the last stage's
// definition, so the pipeline's result is stored straight into the caller's buffer.
Lowered lower(const Plan& plan, Halide::Func input, Halide::Func packed_weights,
              std::optional<Halide::Func> output = std::nullopt);

// A shape's extents in Halide's dimension order: (C, W, H, N) or (F, N).
inline std::vector<int> halide_extents(const Shape& shape) {
    if (shape.is_image()) return {int(shape.c()), int(shape.w()), int(shape.h()), int(shape.n())};
    return {int(shape.c()), int(shape.n())};
}

// Fixes a buffer's bounds and dense strides to a static shape, and tells the autoschedulers:
// works on ImageParams and on a generator's Input and Output buffers alike. A buffer of another
// shape is then refused by the pipeline's own checks.
template <class BufferLike>
void constrain(BufferLike& buffer, const Shape& shape) {
    int stride = 1;
    std::vector<int> extents = halide_extents(shape);
    for (int d = 0; d < int(extents.size()); ++d) {
        buffer.dim(d).set_bounds(0, extents[std::size_t(d)]).set_stride(stride).set_estimate(0, extents[std::size_t(d)]);
        stride *= extents[std::size_t(d)];
    }
}

}  // namespace snc::halide
