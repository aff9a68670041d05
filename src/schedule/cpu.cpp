// The CPU schedule of every stage kind.
//
// Conv stages follow Halide's apps/conv_layer: the output is cut into tiles of `tile_c` channels by
// `tile_x` columns whose accumulators all live in vector registers (AVX-512: 4 zmm of 16 channels
// by 7 columns = 28 of the 32 registers; AVX2: 12 of 16), the reduction runs input channel
// innermost (contiguous in NHWC), and rows and channel tiles are spread over the threads. Measured
// on the 2-core build machine (AMD EPYC, AVX-512; bench/fma_peak: 226 GFLOP/s FP32 on 2 threads):
// 3x3 conv 64->64 at 56x56 with folded BN, residual and ReLU in 1.03 ms, 224 GFLOP/s; Halide's
// default schedule: 173 ms. bench/schedules compares every ResNet-18 stage with Halide's
// autoschedulers (Mullapudi2016, Adams2019 at beam 1): this schedule is 2x to 7x faster on each.
#include "cpu.hpp"

#include <algorithm>

#include "cpu_machine.hpp"

namespace snc::halide {

using Halide::Func;
using Halide::TailStrategy;
using Halide::Var;

// Tiles of (vectors x lanes) a by tile_b b accumulate in registers while the reduction runs inside;
// every other dimension and the tiles are fused into one loop over the threads.
void schedule_tiles_cpu(TileFuncs t, const Halide::Target& target, std::vector<Halide::RVar> reduction) {
    const Machine m = machine_of(target);
    const std::vector<Var> args = t.output.args();
    const Var a = args[0], b = args[1];
    const int a_extent = t.extents[0], b_extent = t.extents[1];
    bound_to(t.output, args, t.extents);
    const int lanes = lanes_for(a_extent, m.vector_lanes);
    const int vectors = a_extent >= lanes ? std::clamp(a_extent / lanes, 1, 4) : 1;
    const int tile_a = lanes * vectors, tile_b = std::clamp(m.accumulators / vectors, 1, std::min(b_extent, 8));
    Var ao("ao"), ai("ai"), bo("bo"), bi("bi");
    std::vector<Var> others = args;
    t.output.compute_root()
        .split(a, ao, ai, tile_a, TailStrategy::ShiftInwards)
        .split(b, bo, bi, tile_b, TailStrategy::ShiftInwards)
        .reorder(ai, bi, ao, bo)
        .vectorize(ai, lanes)
        .unroll(ai)
        .unroll(bi);
    Var task = ao;
    std::vector<Var> outer{bo};
    for (const Var& v : others)
        if (v.name() != a.name() && v.name() != b.name()) outer.push_back(v);
    for (const Var& v : outer) {
        Var fused(task.name() + "_" + v.name());
        t.output.fuse(task, v, fused);
        task = fused;
    }
    t.output.parallel(task);
    t.accumulator.compute_at(t.output, task).vectorize(a, lanes).unroll(a).unroll(b);
    std::vector<Halide::VarOrRVar> order{a, b};
    if (reduction.empty()) reduction = t.accumulator.rvars(0);
    for (const Halide::RVar& r : reduction) order.push_back(r);
    t.accumulator.update().reorder(order).vectorize(a, lanes).unroll(a).unroll(b);
}

void schedule_conv_cpu(ConvFuncs f, const Halide::Target& target) {
    const Machine m = machine_of(target);
    const Var c = f.c, x = f.x, y = f.y, n = f.n;
    const int channels = int(f.out.c()), width = int(f.out.w()), in_channels = int(f.in.c());
    const int lanes = lanes_for(channels, m.vector_lanes);
    const int vectors = channels >= lanes ? std::clamp(channels / lanes, 1, 4) : 1;
    const int tile_c = lanes * vectors;
    const int tile_x = std::clamp(m.accumulators / vectors, 1, std::min(width, 14));
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), yn("yn"), task("task");
    Halide::RVar ci_r(f.reduction.x), kx_r(f.reduction.y), ky_r(f.reduction.z);

    f.output.compute_root()
        .split(c, co, ci, tile_c, TailStrategy::ShiftInwards)
        .split(x, xo, xi, tile_x, TailStrategy::ShiftInwards)
        .reorder(ci, xi, xo, y, n, co)
        .vectorize(ci, lanes)
        .unroll(ci)
        .unroll(xi);

    const bool small_plane = f.out.h() * f.out.w() * f.out.n() <= 64 && in_channels >= 64 && channels >= 64;
    if (small_plane) {
        // Few output pixels, many weights (ResNet's last stage: 7x7 outputs, 9.4 MB of weights per
        // conv): weights are the traffic. Each thread takes whole channel tiles; the tile's plane of
        // accumulators stays in L1 while the input channels pass in chunks of 128, so every weight
        // comes from memory once. Measured, 3x3 conv 512->512 at 7x7 with cold weights, 2 threads:
        // 1.89 ms (123 GFLOP/s) against 3.54 ms for the row-tile schedule below.
        Halide::RVar chunk("chunk"), in_chunk("in_chunk");
        f.output.parallel(co);
        f.accumulator.compute_at(f.output, co).vectorize(c, lanes).unroll(c);
        f.accumulator.update()
            .split(ci_r, chunk, in_chunk, std::min(128, in_channels))
            .split(x, xo, xi, tile_x, TailStrategy::GuardWithIf)
            .reorder(c, xi, in_chunk, kx_r, ky_r, xo, y, n, chunk)
            .vectorize(c, lanes)
            .unroll(c)
            .unroll(xi);
        if (f.padded.defined()) f.padded.compute_root().parallel(y).vectorize(c, lanes_for(in_channels, m.vector_lanes));
        return;
    }
    if (channels <= m.vector_lanes) {
        // Narrow convs (LeNet's 6 and 16 channels): a task of one row and one channel tile holds
        // 96 outputs of BNLeNet's first conv, and the thread pool's cost per task outweighed the
        // work: 6,144 tasks a batch ran no faster on 2 threads than on 1. A task takes whole rows,
        // 4096 outputs or more, every channel tile inside; but 8 tasks at least. Measured
        // (BNLeNet at batch 128, JIT without the profiler): 2.30 -> 1.88 ms on 1 thread, 2.02 ->
        // 1.40 ms on 2.
        const int row_outputs = width * channels, all_rows = int(f.out.h() * f.out.n());
        const int per_task = std::clamp((4096 + row_outputs - 1) / row_outputs, 1, std::max(1, all_rows / 8));
        Var row("row");
        f.output.fuse(y, n, yn).split(yn, task, row, per_task).reorder(ci, xi, xo, row, co, task).parallel(task);
    } else {
        f.output.fuse(y, n, yn).fuse(yn, co, task).parallel(task);
    }
    f.accumulator.compute_at(f.output, xo).vectorize(c, lanes).unroll(c).unroll(x);
    f.accumulator.update()
        .reorder(c, x, ci_r, kx_r, ky_r)
        .vectorize(c, lanes)
        .unroll(c)
        .unroll(x);
    if (f.padded.defined()) {
        // The few padded rows a task reads live on its stack (44 KB for 56x56x64): 860 fewer
        // mallocs per ResNet-18 run.
        f.padded.compute_at(f.output, task)
            .store_in(Halide::MemoryType::Stack)
            .vectorize(c, lanes_for(in_channels, m.vector_lanes));
    }
}

void schedule_winograd_cpu(WinogradFuncs f, const Halide::Target& target) {
    const Machine m = machine_of(target);
    const Var c = f.c, x = f.x, y = f.y, n = f.n;
    const int tile = f.tile, channels = int(f.out.c()), in_channels = int(f.in.c());
    const int tiles_x = int(f.out.w()) / tile;
    // The products' register tile: up to 4 vectors of output channels by as many tiles of the row
    // as the registers hold, both dividing their extents (an update's loops must not overlap).
    const int lanes = dividing_lanes(channels, m.vector_lanes);
    int vectors = 1;
    for (int v = 1; v <= 4; ++v)
        if (channels % (lanes * v) == 0) vectors = v;
    int tile_tx = 1;
    for (int d = 1; d <= tiles_x; ++d)
        if (tiles_x % d == 0 && d * vectors <= m.accumulators) tile_tx = d;

    Var tx("tx"), xi("xi"), ty("ty"), yi("yi"), co("co"), cv("cv"), row("row"), task("task");
    const std::vector<Var> tile_args = f.accumulator.args();  // (c, tx, ty, p, n)
    const Var p = tile_args[3], tile_x = tile_args[1];
    const int in_lanes = lanes_for(in_channels, m.vector_lanes);
    // Where the products' weights come from decides the loop nest. Up to 1 MB of products an image
    // (the tiles of 14x14x256 and 28x28x128, 24x24x64 in the course's network), the image is
    // one unit: its transformed input, then its products, each task one position by one block of
    // output channels, whose weights (64 KB for 256 input channels) come from memory once and stay
    // in L2 while every tile of the image passes; then the output transform by rows. Per row of tiles
    // instead, a 14-wide plane rereads all of the stage's transformed weights (4 MB at 256
    // channels) 7 times. Measured (torchvision ResNet-18, 1 thread, Halide's profiler): products
    // of 14x14x256 2.24 -> 1.15 ms, 28x28x128 1.00 -> 0.63 ms, the stages with their transforms
    // 2.43 -> 1.5 and 1.26 -> 1.07 ms; but 56x56x64 (1.8 MB of products, past L2) 0.97 -> 1.24 ms,
    // so larger images keep the rows.
    const long products_bytes = long(channels) * tiles_x * (f.out.h() / tile) * (tile + 2) * (tile + 2) * 4;
    // The output transform: vectors across channels, a tile's m x m outputs unrolled.
    f.output.compute_root()
        .split(x, tx, xi, tile)
        .split(y, ty, yi, tile)
        .split(c, co, cv, lanes_for(channels, m.vector_lanes), TailStrategy::ShiftInwards)
        .reorder(cv, xi, yi, tx, co, ty, n)
        .vectorize(cv)
        .unroll(xi)
        .unroll(yi);
    if (products_bytes <= (1l << 20)) {
        Var txo("txo"), txi("txi");
        f.output.parallel(ty);
        const std::vector<Var> product_args = f.product.args();
        const Var pc = product_args[0], ptx = product_args[1], pty = product_args[2], pp = product_args[3];
        f.product.compute_at(f.output, n)
            .split(pc, co, cv, lanes * vectors)
            .split(ptx, txo, txi, tile_tx, TailStrategy::ShiftInwards)
            .reorder(cv, txi, txo, pty, co, pp)
            .vectorize(cv, lanes)
            .unroll(cv)
            .unroll(txi)
            .fuse(co, pp, task)
            .parallel(task);
        f.accumulator.compute_at(f.product, txo).vectorize(c, lanes).unroll(c).unroll(tile_x);
        f.accumulator.update().reorder(c, tile_x, f.reduction.x).vectorize(c, lanes).unroll(c).unroll(tile_x);
        const std::vector<Var> input_args = f.transformed_input.args();
        f.transformed_input.compute_at(f.output, n)
            .reorder(input_args[0], input_args[3], input_args[1], input_args[2])
            .vectorize(input_args[0], in_lanes)
            .unroll(input_args[3])
            .parallel(input_args[2]);
        const std::vector<Var> padded_args = f.padded.args();
        f.padded.compute_at(f.output, n).vectorize(padded_args[0], in_lanes).parallel(padded_args[2]);
        return;
    }

    // One task per row of tiles (and image): its transformed input and products, (m + 2)^2
    // positions by the row's tiles by the channels, stay in L2 (129 KB each for 64 channels on a
    // 56-wide plane); the output transform reads them back in vectors across channels.
    f.output.fuse(ty, n, row).parallel(row);

    Var txo("txo"), txi("txi");
    f.accumulator.compute_at(f.output, row).vectorize(c, lanes);
    f.accumulator.update()
        .split(c, co, cv, lanes * vectors)
        .split(tile_x, txo, txi, tile_tx)
        .reorder(cv, txi, f.reduction.x, txo, co, p)
        .vectorize(cv, lanes)
        .unroll(cv)
        .unroll(txi);
    const std::vector<Var> input_args = f.transformed_input.args();
    f.transformed_input.compute_at(f.output, row)
        .reorder(input_args[0], input_args[3], input_args[1])
        .vectorize(input_args[0], lanes_for(in_channels, m.vector_lanes))
        .unroll(input_args[3]);
    f.padded.compute_at(f.output, row)
        .store_in(Halide::MemoryType::Stack)
        .vectorize(f.padded.args()[0], lanes_for(in_channels, m.vector_lanes));
}

namespace {

// Pools and element-wise stages: vectors across channels, threads across rows.
void schedule_rowwise(StageFuncs f, const Shape& out, const Lowered& L, const Machine& m) {
    const int lanes = lanes_for(int(out.c()), m.vector_lanes);
    Var yn("yn");
    f.output.compute_root().vectorize(L.c, lanes, TailStrategy::ShiftInwards);
    if (out.is_image()) {
        f.output.fuse(L.y, L.n, yn).parallel(yn);
        if (f.padded.defined()) f.padded.compute_at(f.output, yn).store_in(Halide::MemoryType::Stack).vectorize(L.c, lanes);
    } else {
        f.output.parallel(L.n);
    }
}

}  // namespace

void schedule_inference_cpu(Lowered& L, const Halide::Target& target) {
    const Machine m = machine_of(target);
    const int last = L.plan->output_stage();
    for (std::size_t s = 0; s < L.stages.size(); ++s) {
        const Stage& stage = L.plan->stages[s];
        StageFuncs& f = L.stages[s];
        // Every stage is computed whole, so say so: with constant bounds every loop and every
        // per-tile buffer has a constant size. Without, a stage read by two others (a block's
        // output, read by the next block and its shortcut) got symbolic bounds, and its tiles'
        // accumulators went to the heap: 2,800 mallocs per ResNet-18 run.
        // (A view computed by its reader is not bounded: Halide warns that bounds on an inlined
        // Func are meaningless, once per dimension and target.)
        const bool stored = f.pattern != Pattern::view || int(s) == last;
        if (stored) bound_to(f.output, L.vars(stage.out), halide_extents(stage.out));
        switch (f.pattern) {
            case Pattern::convolution:
                schedule_conv_cpu({f.output, f.accumulator, f.padded, f.reduction, stage.in, stage.out, L.c, L.x, L.y, L.n,
                                   L.plan->main_op(stage).spec.window}, target);
                break;
            case Pattern::winograd:
                schedule_winograd_cpu({f.output, f.accumulator, f.product, f.transformed_input, f.padded, f.reduction, stage.in,
                                       stage.out, L.c, L.x, L.y, L.n, stage.winograd_tile}, target);
                break;
            case Pattern::tiles: schedule_tiles_cpu({f.output, f.accumulator, halide_extents(stage.out)}, target); break;
            case Pattern::view:  // computed by its reader (a Dense reads the image under a Flatten itself)
                if (int(s) == last) schedule_rowwise(f, stage.out, L, m);
                break;
            case Pattern::rowwise: schedule_rowwise(f, stage.out, L, m); break;
        }
    }
}

}  // namespace snc::halide
