// The CPU schedule of a training segment. Every stored Func is computed whole (compute_root) with
// constant bounds; the convolutions, forward and input gradients alike, take the inference tiles
// (schedule_conv_cpu), dense layers and weight gradients the register tiles of inference's dense
// layers (schedule_tiles_cpu); the rest runs with vectors across channels and threads across rows
// or images.
#include <snc/halide/train.hpp>

#include "cpu_machine.hpp"

namespace snc::halide {

using Halide::Func;
using Halide::TailStrategy;
using Halide::Var;

namespace {

std::vector<Var> vars_of(const Training& t, const Shape& s) {
    return s.is_image() ? std::vector<Var>{t.c, t.x, t.y, t.n} : std::vector<Var>{t.c, t.n};
}

// Element-wise (and small per-pixel reductions): vectors across channels, threads across rows.
void schedule_pointwise(Training& t, Func f, const Shape& s, const Machine& m) {
    const bool updates = f.num_update_definitions() > 0;
    const int lanes = updates ? dividing_lanes(int(s.c()), m.vector_lanes) : lanes_for(int(s.c()), m.vector_lanes);
    bound_to(f, vars_of(t, s), halide_extents(s));
    f.compute_root().vectorize(t.c, lanes, TailStrategy::ShiftInwards);
    Var rows("rows");
    if (s.is_image()) f.fuse(t.y, t.n, rows).parallel(rows);
    else f.parallel(t.n);
    for (int k = 0; k < f.num_update_definitions(); ++k) {
        f.update(k).vectorize(t.c, lanes).parallel(t.n);
    }
}

// The flat outputs (parameter gradients, batch statistics): one vectorized loop per tensor, each
// writing its own range.
void schedule_flat_updates(Func f, const Machine& m) {
    f.compute_root().vectorize(f.args()[0], m.vector_lanes, TailStrategy::GuardWithIf);
    for (int k = 0; k < f.num_update_definitions(); ++k) {
        std::vector<Halide::RVar> r = f.rvars(k);
        f.update(k).allow_race_conditions().vectorize(r[0], m.vector_lanes, TailStrategy::GuardWithIf);
    }
}

}  // namespace

void schedule_training_cpu(Training& t, const Halide::Target& target) {
    const Machine m = machine_of(target);
    for (ConvFuncs conv : t.convs) {
        bound_to(conv.output, {conv.c, conv.x, conv.y, conv.n}, halide_extents(conv.out));
        schedule_conv_cpu(conv, target);
    }
    for (const Tiles& tiles : t.tiles) {
        bound_to(tiles.funcs.output, tiles.funcs.output.args(), tiles.extents);
        schedule_tiles_cpu(tiles.funcs, target);
    }
    for (auto& [f, shape] : t.pointwise) schedule_pointwise(t, f, shape, m);
    for (auto& [f, channels] : t.channel_sums) {
        const int lanes = dividing_lanes(channels, m.vector_lanes);
        f.bound(t.c, 0, channels).compute_root().vectorize(t.c, lanes);
        for (int k = 0; k < f.num_update_definitions(); ++k) f.update(k).vectorize(t.c, lanes);
    }
    for (auto& [f, extents] : t.weight_sums) {
        const int lanes = dividing_lanes(extents[0], m.vector_lanes);
        bound_to(f, f.args(), extents);
        f.compute_root().vectorize(t.c, lanes).parallel(t.ky);
        f.update().vectorize(t.c, lanes).parallel(t.ky);
    }
    for (Func f : t.scalars) {
        if (f.dimensions() == 1) f.bound(f.args()[0], 0, t.batch);
        f.compute_root();
    }
    for (auto& [f, region] : t.padded_inputs) {
        for (std::size_t d = 0; d < region.size(); ++d) f.bound(f.args()[d], region[d].min, region[d].extent);
        f.compute_root().vectorize(t.c, m.vector_lanes, TailStrategy::GuardWithIf).parallel(t.y);
    }
    for (auto& [f, range] : t.flat_outputs) schedule_flat_updates(f, m);
    if (t.loss_stats.defined()) t.loss_stats.compute_root();
}

}  // namespace snc::halide
