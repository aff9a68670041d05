// The CPU schedule of a training segment. Every stored Func is computed whole (compute_root) with
// constant bounds; the convolutions, forward and input gradients alike, take the inference tiles
// (schedule_conv_cpu); weight gradients are register-blocked outer products; the rest runs with
// vectors across channels and threads across rows or images.
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

// output(a, b, ...) = sum over the reduction of terms contiguous along a: tiles of
// (vectors x lanes) a by tile_b b accumulate in registers while the reduction runs inside.
void schedule_outer_product(const OuterProduct& p, const Machine& m) {
    const int lanes = lanes_for(p.a_extent, m.vector_lanes);
    const int vectors = p.a_extent >= lanes ? std::clamp(p.a_extent / lanes, 1, 4) : 1;
    const int tile_a = lanes * vectors, tile_b = std::clamp(m.accumulators / vectors, 1, std::min(p.b_extent, 8));
    Func output = p.output, accumulator = p.accumulator;
    Var ao("ao"), ai("ai"), bo("bo"), bi("bi"), task("task");
    bound_to(output, output.args(), p.extents);
    output.compute_root()
        .split(p.a, ao, ai, tile_a, TailStrategy::ShiftInwards)
        .split(p.b, bo, bi, tile_b, TailStrategy::ShiftInwards)
        .reorder(ai, bi, bo, ao)
        .vectorize(ai, lanes)
        .unroll(ai)
        .unroll(bi);
    // Spread the tiles over the threads: all outer dimensions fused into one task loop.
    std::vector<Halide::VarOrRVar> outer{bo, ao};
    std::vector<Var> rest = output.args();
    Var fused = bo;
    for (Var v : {ao}) {
        Var next(fused.name() + "_" + v.name());
        output.fuse(fused, v, next);
        fused = next;
    }
    for (const Var& v : rest) {
        if (v.name() == p.a.name() || v.name() == p.b.name()) continue;
        Var next(fused.name() + "_" + v.name());
        output.fuse(fused, v, next);
        fused = next;
    }
    output.parallel(fused);
    accumulator.compute_at(output, fused).vectorize(p.a, lanes).unroll(p.a).unroll(p.b);
    std::vector<Halide::VarOrRVar> order{p.a, p.b};
    for (const Halide::RVar& r : accumulator.rvars(0)) order.push_back(r);
    accumulator.update().reorder(order).vectorize(p.a, lanes).unroll(p.a).unroll(p.b);
}

// Dense layers and their input gradients: out(c, n), tiles of c by n in registers.
void schedule_dense(Training& t, Func out, Func accumulator, const Shape& s, const Machine& m) {
    const int units = int(s.c()), batch = int(s.n());
    const int lanes = lanes_for(units, m.vector_lanes);
    const int vectors = units >= lanes ? std::clamp(units / lanes, 1, 4) : 1;
    const int tile_c = lanes * vectors;
    const int tile_n = std::clamp(m.accumulators / vectors, 1, std::min(batch, 8));
    Var co("co"), ci("ci"), no("no"), ni("ni"), task("task");
    bound_to(out, {t.c, t.n}, {units, batch});
    out.compute_root()
        .split(t.c, co, ci, tile_c, TailStrategy::ShiftInwards)
        .split(t.n, no, ni, tile_n, TailStrategy::ShiftInwards)
        .reorder(ci, ni, co, no)
        .vectorize(ci, lanes)
        .unroll(ci)
        .unroll(ni)
        .fuse(co, no, task)
        .parallel(task);
    accumulator.compute_at(out, task).vectorize(t.c, lanes).unroll(t.c).unroll(t.n);
    std::vector<Halide::VarOrRVar> order{t.c, t.n};
    for (const Halide::RVar& r : accumulator.rvars(0)) order.push_back(r);
    accumulator.update().reorder(order).vectorize(t.c, lanes).unroll(t.c).unroll(t.n);
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
    for (const OuterProduct& p : t.outer_products) schedule_outer_product(p, m);
    for (std::size_t k = 0; k < t.dense_layers.size(); ++k)
        schedule_dense(t, t.dense_layers[k].first, t.dense_accumulators[k].first, t.dense_layers[k].second, m);
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
