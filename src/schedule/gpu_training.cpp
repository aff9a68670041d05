// The GPU schedule of a training segment: every Func the CPU schedule stores is stored here too,
// computed on the device, so that a step's data stays there (only the images and labels go in, the
// loss comes out). The shapes of computation take the inference's GPU schedules (convolutions,
// tiles, point-wise); reductions over a batch sum per image (or per group of images for a conv's
// weight gradient) across blocks first, then across the images, as on the CPU.
#include <algorithm>

#include "gpu.hpp"

namespace snc::halide {

using Halide::Func;
using Halide::Var;

namespace {

std::vector<int> extents_of(const Training&, const Shape& s) { return halide_extents(s); }

}  // namespace

void schedule_flat_gpu(Func flat) {
    Var i = flat.args()[0], io("io"), ii("ii");
    flat.compute_root().split(i, io, ii, 64, Halide::TailStrategy::GuardWithIf).gpu_blocks(io).gpu_threads(ii);
    for (int k = 0; k < flat.num_update_definitions(); ++k) {
        Halide::RVar r = flat.rvars(k)[0], ro("ro"), ri("ri");
        flat.update(k).allow_race_conditions().split(r, ro, ri, 64, Halide::TailStrategy::GuardWithIf).gpu_blocks(ro).gpu_threads(ri);
    }
}

void schedule_training_gpu(Training& t, const Halide::Target& target) {
    for (ConvFuncs conv : t.convs) {
        for (std::size_t d = 0; d < 4; ++d) conv.output.bound(conv.output.args()[d], 0, halide_extents(conv.out)[d]);
        schedule_conv_gpu(conv, target);
    }
    for (WinogradFuncs w : t.winograd_convs) {
        for (std::size_t d = 0; d < 4; ++d) w.output.bound(w.output.args()[d], 0, halide_extents(w.out)[d]);
        schedule_winograd_gpu(w);
    }
    for (const StoredTransform& u : t.winograd_transforms) schedule_pointwise_gpu(u.func, u.extents);
    for (const TileFuncs& tiles : t.tiles) schedule_tiles_gpu(tiles);
    for (WeightGradient w : t.weight_gradients) {
        // Partial sums per group of images, each a tile job over (co, ci), then their sum.
        const int groups = std::min(w.batch, 16);
        int per_group = (w.batch + groups - 1) / groups;
        while (w.batch % per_group) ++per_group;
        const std::vector<Halide::RVar> r = w.sum.rvars(0);  // (x, y, image)
        Halide::RVar group_of_images("group_of_images"), image_in_group("image_in_group");
        Var group("group");
        w.sum.update().split(r[2], group_of_images, image_in_group, per_group);
        Func per_group_sum = w.sum.update().rfactor(group_of_images, group);
        std::vector<int> extents = w.extents;
        extents.push_back(w.batch / per_group);
        schedule_tiles_gpu({per_group_sum.in(w.sum), per_group_sum, extents}, {r[0], r[1], image_in_group});
        schedule_pointwise_gpu(w.sum, w.extents);
    }
    for (WeightView w : t.weight_views) schedule_pointwise_gpu(w.view, w.extents);
    for (const Pointwise& p : t.pointwise)
        if (p.output || p.shared || p.reread) schedule_pointwise_gpu(p.func, extents_of(t, p.shape));
    for (const auto& [f, shape] : t.reductions) schedule_pointwise_gpu(f, extents_of(t, shape));
    for (PerChannel p : t.per_channel) {
        if (p.images) {
            const std::vector<Halide::RVar> r = p.func.rvars(0);  // (x, y, image)
            Func per_image = p.func.update().rfactor(r[2], t.n);
            schedule_pointwise_gpu(per_image, {p.channels, p.images});
        }
        schedule_pointwise_gpu(p.func, {p.channels});
    }
    for (Func f : t.scalars) schedule_pointwise_gpu(f, f.dimensions() == 1 ? std::vector<int>{t.batch} : std::vector<int>{});
    for (auto& [f, region] : t.padded_inputs) {
        Func padded = f;
        for (std::size_t d = 0; d < region.size(); ++d) padded.bound(padded.args()[d], region[d].min, region[d].extent);
        std::vector<int> extents;
        for (const Halide::Range& range : region) extents.push_back(*Halide::Internal::as_const_int(range.extent));
        schedule_pointwise_gpu(padded, extents, false);  // bounded to the region above
    }
    for (auto& [f, range] : t.flat_outputs) schedule_flat_gpu(f);
    if (t.loss_stats.defined()) t.loss_stats.compute_root().gpu_single_thread();
}

}  // namespace snc::halide
