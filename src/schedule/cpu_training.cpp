// The CPU schedule of a training segment. Every stored Func is computed whole (compute_root) with
// constant bounds; the convolutions, forward and input gradients alike, take the inference tiles
// (schedule_conv_cpu), or inference's Winograd schedule (schedule_winograd_cpu: an image a thread in
// a batch) where winograd.hpp's rule takes F(m, 3); dense layers and weight gradients (Winograd's
// products over the transformed tiles too) the register tiles of inference's dense
// layers (schedule_tiles_cpu); the rest runs with vectors across channels and threads across rows
// or images. What is stored is decided here, from the facts the algorithm gives (train.hpp):
//   - element-wise Funcs are inlined into their readers, unless shared (read by two ops: inlined,
//     each residual block would carry every block before it), re-read by a window or a tile (a
//     conv's input: inlined, BNLeNet's sigmoids and batch norms before its second conv and first
//     dense layer were evaluated 400 and 120 times over, 26 times slower a step), or an output.
//     Storing every element-wise Func instead cost FashionCNN's step more time than its
//     convolutions (Halide's profiler);
//   - per-channel sums over a batch of images are summed per image first, one image per thread,
//     then over the images (rfactor): a single serial loop over a batch of 128 28x28 planes took
//     as long as the conv it normalized;
//   - a conv's weight gradient is summed per group of images first, so that a thread's tiles
//     re-read one group's gradients and inputs from cache (one image each when the partial sums fit
//     in 16 M floats and the image has 1024 output pixels; 8 groups at least), then over the groups
//     (rfactor). In one pass over the whole batch, every tile streamed the batch from memory:
//     FashionCNN's second conv took 28 ms of 146;
//   - weights read by an input gradient are stored transposed, the reduction's channel innermost,
//     so that the tiles load them as vectors.
#include "cpu.hpp"

#include <algorithm>
#include <set>

#include "cpu_machine.hpp"

namespace snc::halide {

using Halide::Func;
using Halide::TailStrategy;
using Halide::Var;

namespace {

std::vector<Var> vars_of(const Training& t, const Shape& s) {
    return s.is_image() ? std::vector<Var>{t.c, t.x, t.y, t.n} : std::vector<Var>{t.c, t.n};
}

// Stored element-wise (and small per-pixel reductions): vectors across channels, threads across
// rows or images.
void schedule_stored(const Training& t, Func f, const Shape& s, const Machine& m) {
    const bool updates = f.num_update_definitions() > 0;
    const int lanes = updates ? dividing_lanes(int(s.c()), m.vector_lanes) : lanes_for(int(s.c()), m.vector_lanes);
    bound_to(f, vars_of(t, s), halide_extents(s));
    f.compute_root();
    const int column_lanes = s.is_image() ? dividing_lanes(int(s.w()), m.vector_lanes) : 1;
    if (!updates && lanes < 8 && column_lanes >= 8) {
        // Few channels (BNLeNet's 6: overlapping 4-lane vectors): vectors across columns, the
        // channels unrolled (Halide interleaves their stores).
        Var columns("columns"), lane("lane");
        f.split(t.x, columns, lane, column_lanes).reorder(t.c, lane, columns).vectorize(lane).unroll(t.c);
    } else {
        f.vectorize(t.c, lanes, TailStrategy::ShiftInwards);
    }
    Var rows("rows"), task("task"), row("row");
    if (s.is_image()) {
        // Tasks of whole rows (rows_per_task): in rows, BNLeNet's 24x24x6 planes made 3,072 tasks
        // of 144 values, and its step ran 6.1 ms on 2 threads (6.4 on 1); in tasks, 5.0 ms.
        const int per_task = rows_per_task(int(s.w() * s.c()), int(s.h() * s.n()));
        f.fuse(t.y, t.n, rows).split(rows, task, row, per_task).parallel(task);
    } else {
        f.parallel(t.n);
    }
    for (int k = 0; k < f.num_update_definitions(); ++k) f.update(k).vectorize(t.c, lanes).parallel(t.n);
}


void schedule_per_channel(const Training& t, PerChannel p, const Machine& m) {
    const int lanes = dividing_lanes(p.channels, m.vector_lanes);
    Func f = p.func;
    f.bound(t.c, 0, p.channels).compute_root().vectorize(t.c, lanes);
    if (p.images) {
        const std::vector<Halide::RVar> r = f.rvars(0);  // (x, y, image)
        const int column_lanes = dividing_lanes(p.width, m.vector_lanes);
        if (lanes < 8 && column_lanes >= 8) {
            // Few channels (BNLeNet's 6): partial sums per image and column lane, vectors across
            // columns and the channels unrolled. In 2-lane vectors across its 6 channels, each of
            // BNLeNet's first batch norm's sums took about 1.5 ms of a 9.6 ms step.
            Halide::RVar columns("columns"), lane("lane");
            Var u("u");
            f.update().split(r[0], columns, lane, column_lanes);
            Func partial = f.update().rfactor({{r[2], t.n}, {lane, u}});
            partial.bound(t.c, 0, p.channels).compute_root().reorder_storage(u, t.c, t.n).reorder(u, t.c, t.n).vectorize(u).unroll(t.c)
                .parallel(t.n);
            partial.update().reorder(u, t.c, columns, r[1], t.n).vectorize(u).unroll(t.c).parallel(t.n);
        } else {
            Func per_image = f.update().rfactor(r[2], t.n);
            schedule_stored(t, per_image, Shape{p.images, p.channels}, m);
        }
    }
    for (int k = 0; k < f.num_update_definitions(); ++k) f.update(k).vectorize(t.c, lanes);
}

}  // namespace

// The flat outputs (parameter gradients, batch statistics, SGD's and the running statistics'
// results): one vectorized loop per tensor, each writing its own range. A Func of one definition
// (SGD's velocity and parameters) runs in blocks of kFlatBlock floats over the threads: on one
// thread, SGD's pass over the course ResNet-18's 11.2 M parameters (7 streams of 45 MB) took about
// 25 ms of each step while the other thread waited. (The same blocks on the update definitions
// read past a stack buffer in Halide 14: the course ResNet-18's first segment crashed.)
constexpr int kFlatBlock = 1 << 15;

void schedule_flat_cpu(Func f, const Halide::Target& target) {
    const Machine m = machine_of(target);
    f.compute_root();
    if (f.num_update_definitions() == 0) {
        Var block("block"), i("i");
        f.split(f.args()[0], block, i, kFlatBlock, TailStrategy::GuardWithIf)
            .vectorize(i, m.vector_lanes, TailStrategy::GuardWithIf)
            .parallel(block);
        return;
    }
    f.vectorize(f.args()[0], m.vector_lanes, TailStrategy::GuardWithIf);
    for (int k = 0; k < f.num_update_definitions(); ++k) {
        std::vector<Halide::RVar> r = f.rvars(k);
        f.update(k).allow_race_conditions().vectorize(r[0], m.vector_lanes, TailStrategy::GuardWithIf);
    }
}

void schedule_training_cpu(Training& t, const Halide::Target& target) {
    const Machine m = machine_of(target);
    for (const ConvFuncs& conv : t.convs) schedule_conv_cpu(conv, target);
    for (const WinogradFuncs& w : t.winograd_convs) schedule_winograd_cpu(w, target);
    for (StoredTransform u : t.winograd_transforms) {
        // Vectors across the first argument (channels), the positions unrolled (each its own sum),
        // threads across the outermost of the rest: input channels for weights, images for tiles.
        const std::vector<Var> args = u.func.args();
        std::vector<Halide::VarOrRVar> order{args[0], args[std::size_t(u.position)]};
        for (std::size_t d = 1; d < args.size(); ++d)
            if (int(d) != u.position) order.push_back(args[d]);
        bound_to(u.func, args, u.extents);
        u.func.compute_root()
            .reorder(order)
            .vectorize(args[0], dividing_lanes(u.extents[0], m.vector_lanes))
            .unroll(args[std::size_t(u.position)])
            .parallel(order.back().var);
    }
    for (const TileFuncs& tiles : t.tiles) schedule_tiles_cpu(tiles, target);
    for (WeightGradient w : t.weight_gradients) {
        int weights = 1;
        for (int extent : w.extents) weights *= extent;
        int groups = std::min(w.batch, std::max(8, (1 << 24) / weights));
        // And 1024 output pixels a group at least, down to 8 groups: BNLeNet's second conv (8x8
        // outputs) made 3,200 tasks of 384 multiply-adds, and the step ran 4.8 ms on 2 threads,
        // 4.0 ms with 8 groups of 16 images. (Down to one group, the course's ResNet-18 step
        // looked slower on 1 thread, its 512-channel 3x3 planes' tasks streaming all 128 images.)
        groups = std::min(groups, std::max(8, w.batch * w.plane / 1024));
        while (w.batch % groups) --groups;
        const std::vector<Halide::RVar> r = w.sum.rvars(0);  // (x, y, image)
        Halide::RVar group_of_images("group_of_images"), image_in_group("image_in_group");
        Var group("group");
        w.sum.update().split(r[2], group_of_images, image_in_group, w.batch / groups);
        Func per_group = w.sum.update().rfactor(group_of_images, group);
        std::vector<int> extents = w.extents;
        extents.push_back(groups);
        // Tiles of output channels by input channels, or by kernel columns where those are more
        // (BNLeNet's first conv: 1 input channel, 5 columns). With one input channel, a tile was
        // one accumulator, each multiply-add waiting for the one before: 4.5 ms of a 17 ms step
        // (Halide's profiler, 1 thread); by 5 columns, 1.06 ms.
        const int b = w.extents[2] > w.extents[1] ? 2 : 1;
        schedule_tiles_cpu({per_group.in(w.sum), per_group, extents, b}, target, {r[0], r[1], image_in_group});
        const int lanes = dividing_lanes(w.extents[0], m.vector_lanes);
        const std::vector<Var> args = w.sum.args();
        bound_to(w.sum, args, w.extents);
        w.sum.compute_root().vectorize(args.front(), lanes).parallel(args.back());
        w.sum.update().vectorize(args.front(), lanes).parallel(args.back());
    }
    for (WeightView w : t.weight_views) {
        // A conv's (co, ci, kx, ky) weights read by dot products over co: co innermost.
        if (w.extents.size() == 4 && dot_products(w.extents[1], w.extents[0], m)) w.along = w.view.args()[0];
        std::vector<Var> order{w.along};
        for (const Var& v : w.view.args())
            if (v.name() != w.along.name()) order.push_back(v);
        const std::vector<Var> args = w.view.args();
        std::vector<int> extents = w.extents;
        bound_to(w.view, args, extents);
        int along_extent = 0;
        for (std::size_t d = 0; d < args.size(); ++d)
            if (args[d].name() == w.along.name()) along_extent = extents[d];
        std::vector<Halide::VarOrRVar> loops(order.begin(), order.end());
        w.view.compute_root().reorder_storage(order).reorder(loops).vectorize(w.along, lanes_for(along_extent, m.vector_lanes),
                                                                               TailStrategy::ShiftInwards);
        // Threads over the kernel taps (4-D), or over the units (2-D).
        Var task = order.size() > 2 ? order[2] : order[1];
        for (std::size_t k = 3; k < order.size(); ++k) {
            Var fused(task.name() + "_" + order[k].name());
            w.view.fuse(task, order[k], fused);
            task = fused;
        }
        w.view.parallel(task);
    }
    for (const Pointwise& p : t.pointwise)
        if (p.output || p.shared || p.reread) schedule_stored(t, p.func, p.shape, m);
    for (const auto& [f, shape] : t.reductions) schedule_stored(t, f, shape, m);
    for (const PerChannel& p : t.per_channel) schedule_per_channel(t, p, m);
    // The synchronized batch norm's stages (runtime/collective.hpp): once per pass, over every
    // channel, between the sum and its readers.
    for (Func f : t.across_processes) f.compute_root();
    for (Func f : t.scalars) {
        if (f.dimensions() == 1) f.bound(f.args()[0], 0, t.batch);
        f.compute_root();
    }
    for (auto& [f, region] : t.padded_inputs) {
        for (std::size_t d = 0; d < region.size(); ++d) f.bound(f.args()[d], region[d].min, region[d].extent);
        f.compute_root().vectorize(t.c, m.vector_lanes, TailStrategy::GuardWithIf).parallel(t.y);
    }
    for (auto& [f, range] : t.flat_outputs) schedule_flat_cpu(f, target);
    if (t.loss_stats.defined()) t.loss_stats.compute_root();
}

}  // namespace snc::halide
