// The GPU schedule of every stage kind, inference.
//
// Convolutions (with their folded batch norm, residual add and activation): each output tile is
// 32 channels by a few columns and rows. Portable (OpenCL): 32 threads across the channels, each
// thread keeping its tile_x by tile_y accumulators in registers, the reduction (input channels,
// then the kernel's taps, unrolled) inside; the padded input the block's windows read is loaded
// once into shared memory by the block's threads when it fits in 32 KB (the least local memory
// OpenCL promises a GPU device; NVIDIA's limit without opting in is 48 KB), else read through the
// caches. CUDA: one warp per block, gpu_lanes over the channels, the accumulators of the whole
// tile in the warp's registers, the input passed between lanes by shuffles, chunks of 16 input
// channels at a time (Halide's apps/conv_layer measured 88% of a GTX 980's peak with it).
// Dense layers: 32 threads across units, each with 4 images' accumulators. Pools, means and
// element-wise stages: 2-D blocks of threads over channels and columns.
//
// Not tuned on hardware: this session had no GPU (PoCL runs OpenCL on the CPU and says nothing
// about a GPU's speed). scripts/bench-gpu times these on one.
#include "gpu.hpp"

#include <algorithm>

namespace snc::halide {

using Halide::Func;
using Halide::RVar;
using Halide::TailStrategy;
using Halide::Var;

namespace {

// The largest power of two no larger than `cap` and than `extent`.
int fit(int extent, int cap) {
    int size = 1;
    while (size * 2 <= std::min(extent, cap)) size *= 2;
    return size;
}

}  // namespace

void schedule_pointwise_gpu(Func f, const std::vector<int>& extents, bool bound) {
    std::vector<Var> args = f.args();
    if (bound)
        for (std::size_t d = 0; d < args.size(); ++d) f.bound(args[d], 0, extents[d]);
    auto place = [&](Halide::Stage stage, std::vector<Var> vars) {
        if (vars.empty()) {
            stage.gpu_single_thread();
            return;
        }
        const int a_extent = extents[0];
        const int a_threads = fit(a_extent, 32);
        Var ao("ao"), ai("ai");
        stage.split(vars[0], ao, ai, a_threads, TailStrategy::GuardWithIf);
        if (vars.size() == 1) {
            stage.gpu_blocks(ao).gpu_threads(ai);
            return;
        }
        const int b_threads = fit(extents[1], std::max(1, 128 / a_threads));
        Var bo("bo"), bi("bi");
        stage.split(vars[1], bo, bi, b_threads, TailStrategy::GuardWithIf);
        Var rest = bo;
        for (std::size_t d = 2; d < vars.size(); ++d) {
            Var fused(rest.name() + "_" + vars[d].name());
            stage.fuse(rest, vars[d], fused);
            rest = fused;
        }
        stage.reorder(ai, bi, ao, rest).gpu_blocks(ao, rest).gpu_threads(ai, bi);
    };
    f.compute_root();
    place(f, args);
    for (int k = 0; k < f.num_update_definitions(); ++k) {
        std::vector<Var> pure;
        for (const Var& v : args) pure.push_back(v);
        place(f.update(k), pure);
    }
}

void schedule_tiles_gpu(TileFuncs t, std::vector<RVar> reduction) {
    const std::vector<Var> args = t.output.args();
    for (std::size_t d = 0; d < args.size(); ++d) t.output.bound(args[d], 0, t.extents[d]);
    const Var a = args[0], b = args[1];
    const int threads = fit(t.extents[0], 32), per_thread = std::min(4, t.extents[1]);
    Var ao("ao"), ai("ai"), bo("bo"), bi("bi");
    t.output.compute_root()
        .split(a, ao, ai, threads, TailStrategy::GuardWithIf)
        .split(b, bo, bi, per_thread, TailStrategy::GuardWithIf)
        .reorder(bi, ai, ao, bo);
    Var rest = bo;
    for (std::size_t d = 2; d < args.size(); ++d) {
        Var fused(rest.name() + "_" + args[d].name());
        t.output.fuse(rest, args[d], fused);
        rest = fused;
    }
    t.output.gpu_blocks(ao, rest).gpu_threads(ai).unroll(bi);
    t.accumulator.compute_at(t.output, ai).unroll(b);
    std::vector<Halide::VarOrRVar> order{b};
    if (reduction.empty()) reduction = t.accumulator.rvars(0);
    for (const RVar& r : reduction) order.push_back(r);
    t.accumulator.update().reorder(order).unroll(b);
}

void schedule_conv_gpu(ConvFuncs f, const Halide::Target& target) {
    const Var c = f.c, x = f.x, y = f.y, n = f.n;
    const int channels = int(f.out.c()), width = int(f.out.w()), height = int(f.out.h()), in_channels = int(f.in.c());
    const bool lanes = target.has_feature(Halide::Target::CUDA) && channels % 32 == 0;
    const int kernel = f.window.kernel, stride = f.window.stride;
    // The input positions `tile` outputs along one axis read across `span` taps of the window.
    auto reach = [&](int tile, int span) { return stride <= span ? (tile - 1) * stride + span : tile * span; };
    // CUDA: the largest register tile whose inputs, read at once by the unrolled taps, fit with its
    // accumulators in the 64 registers a thread Halide's CUDA runtime allows (it loads modules with
    // CU_JIT_MAX_REGISTERS = 64; past it the driver spills). Budget 56: the rest holds addresses,
    // indices and a weight. Measured with ptxas for sm_90 (tools/cuda_kernels.py), before this
    // choice every conv took 4x4 with its taps unrolled: 48-56 registers for a 3x3 conv, 72 for a
    // stride-2 3x3 in training, 96 for the course's 7x7/2 stem and 182-255 for torchvision's, which
    // spilled 1.4-1.9 KB a thread under the cap. Now: 3x3 4x4 (stride 2: 4x2), stems 4x2 a row of
    // taps at a time (72 wanted, none spilled).
    enum class Taps { all, row_at_a_time };
    int tile_x = std::min(4, width), tile_y = std::min(lanes ? 4 : 2, height);
    Taps taps = Taps::all;
    if (lanes) {
        constexpr int budget = 56;
        auto fits = [&](int tx, int ty) { return reach(tx, kernel) * reach(ty, kernel) + tx * ty <= budget; };
        if (!fits(tile_x, tile_y)) {
            tile_y = std::min(2, height);
            // A row of taps at a time reads a row of inputs a tile row: 13 x 2 for a 7x7/2 stem.
            if (!fits(tile_x, tile_y)) taps = Taps::row_at_a_time;
        }
    }
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), yo("yo"), yi("yi"), block("block");
    RVar r_channel(f.reduction.x), r_column(f.reduction.y), r_row(f.reduction.z);
    f.output.compute_root()
        .split(c, co, ci, 32, TailStrategy::GuardWithIf)
        .split(x, xo, xi, tile_x, TailStrategy::ShiftInwards)
        .split(y, yo, yi, tile_y, TailStrategy::ShiftInwards)
        .reorder(xi, yi, ci, xo, yo, co, n)
        .unroll(xi)
        .unroll(yi)
        .fuse(co, n, block)
        .gpu_blocks(xo, yo, block);

    // (gpu_lanes needs each lane to own exactly one channel of every tile: 32 divides the channels.)
    if (lanes) {
        // One warp a block: the lanes own 32 channels, the tile's accumulators sit in their registers.
        f.output.gpu_lanes(ci);
        RVar chunk("chunk"), within("within"), pair("pair");
        // Chunks of input channels that divide them: a guarded tail chunk (3 channels in chunks of
        // 2) cost torchvision's stem 128 B of spills a thread.
        int chunk_size = fit(in_channels, 16);
        while (in_channels % chunk_size) chunk_size /= 2;
        f.accumulator.compute_at(f.output, xo)
            .store_in(Halide::MemoryType::Register)
            .gpu_lanes(c)
            .unroll(x)
            .unroll(y);
        Halide::Stage update = f.accumulator.update();
        update.split(r_channel, chunk, within, chunk_size, TailStrategy::GuardWithIf)
            .reorder(c, x, y, r_column, r_row, within, chunk)
            .gpu_lanes(c)
            .unroll(x)
            .unroll(y);
        update.unroll(r_column);
        if (taps == Taps::all) update.unroll(r_row);
        return;
    }
    // Portable: a thread per channel, its tile's accumulators in its registers.
    f.output.gpu_threads(ci);
    f.accumulator.compute_at(f.output, ci).unroll(x).unroll(y);
    f.accumulator.update().reorder(x, y, r_channel, r_column, r_row).unroll(x).unroll(y);
    if (f.padded.defined()) {
        // The block's padded input: every input channel of the columns and rows its windows reach.
        const std::int64_t tile_floats = std::int64_t(in_channels) * ((tile_x - 1) * stride + kernel) * ((tile_y - 1) * stride + kernel);
        if (tile_floats <= 8 * 1024) {
            Var pc("pc"), pci("pci");
            f.padded.compute_at(f.output, xo)
                .store_in(Halide::MemoryType::GPUShared)
                .split(c, pc, pci, 32, TailStrategy::GuardWithIf)
                .gpu_threads(pci);
        }
    }
}

void schedule_winograd_gpu(WinogradFuncs f) {
    const int tile = f.tile, alpha = tile + 2;
    const int channels = int(f.out.c()), in_channels = int(f.in.c());
    const int tiles_x = int(f.out.w()) / tile, tiles_y = int(f.out.h()) / tile, images = int(f.out.n());

    // The transformed input: a thread per (input channel, tile), its alpha^2 positions unrolled
    // (the mux over positions becomes straight-line code); the padded input is read in place.
    const std::vector<Var> in_args = f.transformed_input.args();  // (c, tx, ty, p, n)
    const std::vector<int> in_extents{in_channels, tiles_x, tiles_y, alpha * alpha, images};
    for (std::size_t d = 0; d < in_args.size(); ++d) f.transformed_input.bound(in_args[d], 0, in_extents[d]);
    Var co("co"), ci("ci"), rest("rest"), rest2("rest2");
    f.transformed_input.compute_root()
        .reorder(in_args[3], in_args[0], in_args[1], in_args[2], in_args[4])
        .split(in_args[0], co, ci, fit(in_channels, 32), TailStrategy::GuardWithIf)
        .fuse(in_args[2], in_args[4], rest)
        .fuse(in_args[1], rest, rest2)
        .gpu_blocks(co, rest2)
        .gpu_threads(ci)
        .unroll(in_args[3]);

    // The products: for each position a matrix product over input channels, as dense layers.
    schedule_tiles_gpu({f.product, f.accumulator, {channels, tiles_x, tiles_y, alpha * alpha, images}});

    // The output transform and the stage's epilogue: a thread per (channel, tile), its m x m
    // outputs unrolled so each reads constant positions of the products.
    const Var c = f.c, x = f.x, y = f.y, n = f.n;
    Var tx("tx"), xi("xi"), ty("ty"), yi("yi"), cb("cb"), ct("ct"), t("t"), tn("tn");
    f.output.compute_root()
        .split(x, tx, xi, tile)
        .split(y, ty, yi, tile)
        .split(c, cb, ct, fit(channels, 32), TailStrategy::GuardWithIf)
        .reorder(xi, yi, ct, cb, tx, ty, n)
        .unroll(xi)
        .unroll(yi)
        .fuse(tx, ty, t)
        .fuse(t, n, tn)
        .gpu_blocks(cb, tn)
        .gpu_threads(ct);
}

namespace {

// Pools, means and element-wise stages; a view only where it is the network's output. A concat's
// copies (one update per branch): a kernel each, threads across the branch's channels.
void schedule_rowwise_gpu(StageFuncs f, const Shape& out, const Lowered& L) {
    // A pixel's statistics (layer norm's): a kernel each, a thread a pixel, its channels a loop.
    for (Halide::Func statistic : f.statistics) {
        statistic.compute_root();
        for (Halide::Stage part : {Halide::Stage(statistic), statistic.update()}) {
            if (out.is_image()) {
                Var yn("yn"), yo("yo"), yi("yi");
                part.fuse(L.y, L.n, yn).gpu_tile(L.x, yn, Var("xo"), yo, Var("xi"), yi, 8, 8, TailStrategy::GuardWithIf);
            } else {
                part.gpu_tile(L.n, Var("no"), Var("ni"), 64, TailStrategy::GuardWithIf);
            }
        }
    }
    if (f.output.num_update_definitions() == 0) {
        schedule_pointwise_gpu(f.output, halide_extents(out));
        return;
    }
    const std::vector<int> extents = halide_extents(out);
    const std::vector<Var> vars = L.vars(out);
    for (std::size_t d = 0; d < vars.size(); ++d) f.output.bound(vars[d], 0, extents[d]);
    f.output.compute_root();
    for (int k = 0; k < f.output.num_update_definitions(); ++k) {
        const RVar r = f.output.rvars(k)[0];
        RVar ro("ro"), ri("ri");
        Halide::Stage copy = f.output.update(k);
        copy.split(r, ro, ri, 32, TailStrategy::GuardWithIf);
        if (out.is_image()) {
            Var yn("yn");
            copy.fuse(L.y, L.n, yn).reorder(ri, ro, L.x, yn).gpu_blocks(ro, L.x, yn).gpu_threads(ri);
        } else {
            copy.reorder(ri, ro, L.n).gpu_blocks(ro, L.n).gpu_threads(ri);
        }
    }
}

// Depthwise and grouped convs: a thread an output (channels across a warp's lanes, coalesced),
// its accumulator in a register, the window's taps and the group's channels a loop inside.
void schedule_grouped_gpu(StageFuncs f, const Shape& out, const Lowered& L) {
    const std::vector<int> extents = halide_extents(out);
    const std::vector<Var> vars = L.vars(out);
    for (std::size_t d = 0; d < vars.size(); ++d) f.output.bound(vars[d], 0, extents[d]);
    const int c_threads = fit(extents[0], 32), x_threads = fit(extents[1], std::max(1, 128 / c_threads));
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), yn("yn");
    f.output.compute_root()
        .split(L.c, co, ci, c_threads, TailStrategy::GuardWithIf)
        .split(L.x, xo, xi, x_threads, TailStrategy::GuardWithIf)
        .fuse(L.y, L.n, yn)
        .reorder(ci, xi, co, xo, yn)
        .gpu_blocks(co, xo, yn)
        .gpu_threads(ci, xi);
    f.accumulator.compute_at(f.output, ci);
    const std::vector<Halide::RVar> r = f.accumulator.rvars(0);
    f.accumulator.update().unroll(r[1]);
}

}  // namespace

void schedule_inference_gpu(Lowered& L, const Halide::Target& target) {
    const int last = L.plan->output_stage();
    for (std::size_t s = 0; s < L.stages.size(); ++s) {
        const Stage& stage = L.plan->stages[s];
        StageFuncs& f = L.stages[s];
        switch (f.pattern) {
            case Pattern::convolution:
                for (std::size_t d = 0; d < 4; ++d) f.output.bound(L.vars(stage.out)[d], 0, halide_extents(stage.out)[d]);
                schedule_conv_gpu({f.output, f.accumulator, f.padded, f.reduction, stage.in, stage.out, L.c, L.x, L.y, L.n,
                                   L.plan->main_op(stage).spec.window}, target);
                break;
            case Pattern::winograd:
                for (std::size_t d = 0; d < 4; ++d) f.output.bound(L.vars(stage.out)[d], 0, halide_extents(stage.out)[d]);
                schedule_winograd_gpu({f.output, f.accumulator, f.product, f.transformed_input, f.padded, f.reduction, stage.in,
                                       stage.out, L.c, L.x, L.y, L.n, stage.winograd_tile});
                break;
            case Pattern::tiles: schedule_tiles_gpu({f.output, f.accumulator, halide_extents(stage.out)}); break;
            case Pattern::view:
                if (int(s) == last) schedule_rowwise_gpu(f, stage.out, L);
                break;
            case Pattern::grouped: schedule_grouped_gpu(f, stage.out, L); break;
            case Pattern::rowwise: schedule_rowwise_gpu(f, stage.out, L); break;
        }
    }
}

}  // namespace snc::halide
