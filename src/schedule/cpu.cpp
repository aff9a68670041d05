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

#include <snc/winograd.hpp>

#include "cpu_machine.hpp"

namespace snc::halide {

using Halide::Func;
using Halide::TailStrategy;
using Halide::Var;

namespace {

// Computes a stored Func where `placement` says, with constant bounds: the whole shape, or inside a
// batch tile its images (the last argument is the batch). With constant bounds every loop and every
// per-tile buffer below has a constant size. Without, a stage read by two others (a block's output,
// read by the next block and its shortcut) got symbolic bounds, and its tiles' accumulators went
// to the heap: 2,800 mallocs per ResNet-18 run. The batch tiles' root is computed whole and its batch
// loop cut into the tiles, which the threads share.
void place(Func f, const std::vector<Var>& vars, const std::vector<int>& extents, const Placement& placement) {
    const std::size_t batch = vars.size() - 1;
    if (placement.kind == Placement::Kind::inside) {
        f.compute_at(placement.within, placement.tile);
        for (std::size_t d = 0; d < batch; ++d) f.bound(vars[d], 0, extents[d]);
        f.bound_extent(vars[batch], placement.images);
        return;
    }
    f.compute_root();
    bound_to(f, vars, extents);
    if (placement.kind == Placement::Kind::batch_tiles)
        f.split(vars[batch], placement.tile, vars[batch], placement.images).parallel(placement.tile);
}

// Narrow convs (16 channels or fewer, LeNet's): a task of one row and one channel tile held 96
// outputs of BNLeNet's first conv, and the thread pool's cost per task outweighed the work: 6,144
// tasks a batch ran no faster on 2 threads than on 1. A task takes whole rows, every channel tile
// inside (rows_per_task). Measured (BNLeNet at batch 128, JIT without the profiler): 2.30 -> 1.88
// ms on 1 thread, 2.02 -> 1.40 ms on 2. Inside a batch tile, the tile's rows are one task. (The
// split must not be longer than the rows: ShiftInwards would move it onto images outside the tile.)
int conv_rows_per_task(const Shape& out, const Placement& placement) {
    if (!placement.own_threads()) return int(out.h()) * placement.images;
    return rows_per_task(int(out.w() * out.c()), int(out.h() * out.n()));
}

// A narrow conv's rows (y and n fused into yn) cut into tasks of `row`s, the threads over the tasks
// unless a batch tile holds them.
void row_tasks(ConvFuncs& f, const Placement& placement, Var yn, Var task, Var row) {
    f.output.fuse(f.y, f.n, yn).split(yn, task, row, conv_rows_per_task(f.out, placement));
    if (placement.own_threads()) f.output.parallel(task);
}

}  // namespace

// Tiles of (vectors x lanes) a by tile_b b accumulate in registers while the reduction runs inside;
// every other dimension and the tiles are fused into one loop over the threads.
void schedule_tiles_cpu(TileFuncs t, const Halide::Target& target, std::vector<Halide::RVar> reduction,
                        const Placement& placement) {
    const Machine m = machine_of(target);
    const std::vector<Var> args = t.output.args();
    const Var a = args[0], b = args[std::size_t(t.b)];
    const bool b_tiled = placement.kind != Placement::Kind::whole && std::size_t(t.b) + 1 == args.size();  // b is the batch
    const int a_extent = t.extents[0], b_extent = b_tiled ? placement.images : t.extents[std::size_t(t.b)];
    place(t.output, args, t.extents, placement);
    const int lanes = lanes_for(a_extent, m.vector_lanes);
    const int vectors = a_extent >= lanes ? std::clamp(a_extent / lanes, 1, 4) : 1;
    const int tile_a = lanes * vectors, tile_b = tile_length(b_extent, std::clamp(m.accumulators / vectors, 1, 8));
    Var ao("ao"), ai("ai"), bo("bo"), bi("bi");
    std::vector<Var> others = args;
    t.output.split(a, ao, ai, tile_a, TailStrategy::ShiftInwards)
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
    if (placement.own_threads()) t.output.parallel(task);
    t.accumulator.compute_at(t.output, task).vectorize(a, lanes).unroll(a).unroll(b);
    std::vector<Halide::VarOrRVar> order{a, b};
    if (reduction.empty()) reduction = t.accumulator.rvars(0);
    for (const Halide::RVar& r : reduction) order.push_back(r);
    t.accumulator.update().reorder(order).vectorize(a, lanes).unroll(a).unroll(b);
}

void schedule_conv_cpu(ConvFuncs f, const Halide::Target& target, const Placement& placement) {
    const Machine m = machine_of(target);
    const Var c = f.c, x = f.x, y = f.y, n = f.n;
    const int channels = int(f.out.c()), width = int(f.out.w()), in_channels = int(f.in.c());
    const int lanes = lanes_for(channels, m.vector_lanes);
    const int vectors = channels >= lanes ? std::clamp(channels / lanes, 1, 4) : 1;
    const int tile_c = lanes * vectors;
    const int tile_x = tile_length(width, std::clamp(m.accumulators / vectors, 1, 14));
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), yn("yn"), task("task");
    Halide::RVar ci_r(f.reduction.x), kx_r(f.reduction.y), ky_r(f.reduction.z);

    place(f.output, {c, x, y, n}, halide_extents(f.out), placement);
    const int column_lanes = lanes_for(width, m.vector_lanes);
    if (dot_products(channels, in_channels, m)) {
        // Few output channels from many (BNLeNet's second conv's input gradient: 6 channels from
        // 16, 5x5): a tile across 6 output channels took two overlapping 4-lane vectors and a
        // broadcast of one input value for every multiply-add. As dot products instead: vectors
        // across the reduction's channels (rfactor), a tile of channels x `tile` columns of them
        // in registers with the kernel taps outside, each tap one load of the input's channels and
        // one of each output channel's weights; then one horizontal sum an output. Measured
        // (BNLeNet's training step at batch 128, 1 thread, Halide's profiler): 7.47 -> 1.21 ms,
        // the step 20.5 -> 17.1 ms.
        Var u("u");
        Func partial = f.accumulator.update().rfactor(ci_r, u);
        const int tile = std::clamp((m.accumulators - channels - 2) / channels, 1, width);
        f.output.split(x, xo, xi, tile, TailStrategy::ShiftInwards).reorder(c, xi, xo, y, n).unroll(c).unroll(xi);
        row_tasks(f, placement, yn, task, Var("row"));
        f.accumulator.compute_at(f.output, xo).unroll(c).unroll(x);
        f.accumulator.update().atomic().vectorize(ci_r).unroll(c).unroll(x);
        std::vector<Var> storage{u};
        for (const Var& v : partial.args())
            if (v.name() != u.name()) storage.push_back(v);
        partial.compute_at(f.output, xo).reorder_storage(storage).vectorize(u).unroll(c).unroll(x);
        const std::vector<Halide::RVar> taps = partial.rvars(0);
        partial.update().reorder(u, c, x, taps[0], taps[1]).vectorize(u).unroll(c).unroll(x);
        if (f.padded.defined())
            f.padded.compute_at(f.output, task).store_in(Halide::MemoryType::Stack).vectorize(f.padded.args()[0], m.vector_lanes);
        return;
    }
    if (channels < m.vector_lanes && column_lanes == m.vector_lanes) {
        // Fewer channels than a vector's lanes (LeNet's first conv: 6): vectors across columns
        // instead, every channel unrolled, so a tile is channels x one vector of columns and the
        // stage's epilogue (BN and sigmoid) runs on full vectors. Across channels, 6 channels took
        // two overlapping 4-lane vectors a pixel, and its sigmoid cost twice its conv. The
        // stores' channel stride is undone by Halide's interleaving of the unrolled channels'
        // stores. Measured (BNLeNet at batch 128 in batch tiles, JIT without the profiler):
        // 2.01 -> 1.29 ms on 1 thread, 1.38 -> 0.70 ms on 2.
        f.output.split(x, xo, xi, column_lanes, TailStrategy::ShiftInwards).reorder(c, xi, xo, y, n).vectorize(xi).unroll(c);
        f.accumulator.compute_at(f.output, xo).reorder_storage(x, c, y, n).vectorize(x).unroll(c);
        f.accumulator.update().reorder(c, x, ci_r, kx_r, ky_r).vectorize(x).unroll(c);
        row_tasks(f, placement, yn, task, Var("row"));
        if (f.padded.defined())
            f.padded.compute_at(f.output, task).store_in(Halide::MemoryType::Stack).vectorize(f.padded.args()[1], column_lanes,
                                                                                              TailStrategy::GuardWithIf);
        return;
    }
    const int height = int(f.out.h()), pixels = width * height;
    if (placement.own_threads() && f.out.n() > 1 && width <= 4 && height <= 4 && channels % lanes == 0 &&
        in_channels >= 64) {
        // A batch of planes of a few pixels (the course ResNet-18's last stage: 3x3 planes of 512
        // channels, 9.4 MB of weights a conv): a tile of 3 columns by 4 vectors used each weight
        // vector for 3 multiply-adds and streamed its channel tile's 1.2 MB of weights once per
        // row. The whole plane is the tile instead, vectors x pixels accumulators (2 x 9), so each
        // weight vector feeds 9 and a channel tile's weights (590 KB) pass once an image; one image
        // a task, its padded plane computed once for all its channel tiles. Measured (JIT, 2
        // threads): the course ResNet-18 at batch 64, each 512-channel conv 11.6 -> 9.0 ms (Halide's
        // profiler), the network 100 -> 92-100 ms, 175 -> 161 ms on 1 thread; its training step
        // at batch 128 (forward convs and input gradients) 1262 -> 983 ms.
        f.output.split(c, co, ci, lanes * dividing_vectors(channels, lanes, m.accumulators / pixels))
            .reorder(ci, x, y, co, n)
            .vectorize(ci, lanes)
            .unroll(ci)
            .unroll(x)
            .unroll(y)
            .parallel(n);
        f.accumulator.compute_at(f.output, co).vectorize(c, lanes).unroll(c).unroll(x).unroll(y);
        f.accumulator.update().reorder(c, x, y, ci_r, kx_r, ky_r).vectorize(c, lanes).unroll(c).unroll(x).unroll(y);
        if (f.padded.defined())
            f.padded.compute_at(f.output, n)
                .store_in(Halide::MemoryType::Stack)
                .vectorize(c, lanes_for(in_channels, m.vector_lanes));
        return;
    }
    f.output.split(c, co, ci, tile_c, TailStrategy::ShiftInwards)
        .split(x, xo, xi, tile_x, TailStrategy::ShiftInwards)
        .reorder(ci, xi, xo, y, n, co)
        .vectorize(ci, lanes)
        .unroll(ci)
        .unroll(xi);

    const bool small_plane =
        placement.own_threads() && f.out.h() * f.out.w() * f.out.n() <= 64 && in_channels >= 64 && channels >= 64;
    if (small_plane) {
        // Few output pixels, many weights (ResNet's last stage: 7x7 outputs, 9.4 MB of weights per
        // conv): weights are the traffic. Each thread takes whole channel tiles, the tile's plane of
        // accumulators in L1. The kernel taps are the outer loops, in the order the blocked weights
        // lie in memory (input channel, then column, then row), and the plane's rows pass inside
        // each tap: a tile's weights are one sequential stream from memory, each tap's (128 KB at
        // 512 input channels) read again from L2 by the other rows. With the rows outside the taps
        // and the input channels in chunks of 128, the first row fetched a chunk's nine taps while
        // the other rows computed with the memory idle. Measured (1 thread, JIT, Halide's
        // profiler): the course ResNet-18 at batch 1, each 3x3 512->512 conv 0.58-0.65 -> 0.38-0.47
        // ms (the 9.4 MB at 20-25 GB/s, this machine's single-thread stream rate), its 6x6 convs
        // (direct then; F(2,3) since) 0.30-0.35 -> 0.23-0.27 ms, the network 4.54-4.78 -> 3.93-3.95
        // ms (2.91-2.99 -> 2.53-2.69 on 2 threads); torchvision's 7x7 512->512 convs 1.50-1.61 ->
        // 1.36-1.40 ms.
        f.output.parallel(co);
        f.accumulator.compute_at(f.output, co).vectorize(c, lanes).unroll(c);
        f.accumulator.update()
            .split(x, xo, xi, tile_x, TailStrategy::GuardWithIf)
            .reorder(c, xi, ci_r, xo, y, n, kx_r, ky_r)
            .vectorize(c, lanes)
            .unroll(c)
            .unroll(xi);
        if (f.padded.defined()) f.padded.compute_root().parallel(y).vectorize(c, lanes_for(in_channels, m.vector_lanes));
        return;
    }
    if (channels <= m.vector_lanes) {
        Var row("row");
        row_tasks(f, placement, yn, task, row);
        f.output.reorder(ci, xi, xo, row, co, task);
    } else {
        f.output.fuse(y, n, yn).fuse(yn, co, task);
        if (placement.own_threads()) f.output.parallel(task);
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

namespace {

// The input transform V(c, tx, ty, p, n): a vector of channels at every position p of one tile in
// one loop body (p unrolled inside the channel vectors' loop), so the tile's (m + 2)^2 input
// vectors can be loaded once for all its positions. With the channel vectors' loop inside p, each
// position reloaded the inputs its sum reads (F(4,3): 9 to 16, 484 loads a tile against 36).
// Measured (1 thread, JIT, Halide's profiler): torchvision ResNet-18's input
// transforms 0.89 -> 0.53 ms a run, the course ResNet-18's 0.15 -> 0.08 ms; 2 threads 0.57 ->
// 0.31 ms (torchvision). `outer`: the tile loops, innermost first.
void schedule_input_transform(Func transformed, int lanes, std::vector<Var> outer) {
    const std::vector<Var> args = transformed.args();  // (c, tx, ty, p, n)
    const Var c = args[0], p = args[3];
    Var co("transform_co"), cv("transform_cv");
    std::vector<Halide::VarOrRVar> order{cv, p, co};
    for (const Var& v : outer) order.push_back(v);
    transformed.split(c, co, cv, lanes).reorder(order).vectorize(cv).unroll(p);
}

}  // namespace

void schedule_winograd_cpu(WinogradFuncs f, const Halide::Target& target) {
    const Machine m = machine_of(target);
    const Var c = f.c, x = f.x, y = f.y, n = f.n;
    const int tile = f.tile, channels = int(f.out.c()), in_channels = int(f.in.c());
    const int tiles_x = int(f.out.w()) / tile;
    // The products' register tile: up to 4 vectors of output channels by as many tiles of the row
    // as the registers hold, both dividing their extents (an update's loops must not overlap).
    const int lanes = dividing_lanes(channels, m.vector_lanes);
    const int vectors = dividing_vectors(channels, lanes, 4);
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
    place(f.output, {c, x, y, n}, halide_extents(f.out), {});
    f.output.split(x, tx, xi, tile)
        .split(y, ty, yi, tile)
        .split(c, co, cv, lanes_for(channels, m.vector_lanes), TailStrategy::ShiftInwards)
        .reorder(cv, xi, yi, tx, co, ty, n)
        .vectorize(cv)
        .unroll(xi)
        .unroll(yi);
    if (products_bytes <= (1l << 20)) {
        Var txo("txo"), txi("txi");
        const std::vector<Var> product_args = f.product.args();
        const Var pc = product_args[0], ptx = product_args[1], pty = product_args[2], pp = product_args[3];
        f.product.compute_at(f.output, n)
            .split(pc, co, cv, lanes * vectors)
            .split(ptx, txo, txi, tile_tx, TailStrategy::ShiftInwards)
            .reorder(cv, txi, txo, pty, co, pp)
            .vectorize(cv, lanes)
            .unroll(cv)
            .unroll(txi)
            .fuse(co, pp, task);
        f.accumulator.compute_at(f.product, txo).vectorize(c, lanes).unroll(c).unroll(tile_x);
        f.accumulator.update().reorder(c, tile_x, f.reduction.x).vectorize(c, lanes).unroll(c).unroll(tile_x);
        const std::vector<Var> input_args = f.transformed_input.args();
        f.transformed_input.compute_at(f.output, n);
        schedule_input_transform(f.transformed_input, in_lanes, {input_args[1], input_args[2]});
        // (Undefined where the padded input is stored whole: training's forward convs share it with
        // their weight gradients.)
        if (f.padded.defined()) f.padded.compute_at(f.output, n).vectorize(f.padded.args()[0], in_lanes);
        // In a batch, an image a thread, every loop of the image inside: the threads split a small
        // plane's few rows of tiles unevenly (3 rows of F(2,3) tiles at 6x6) and met three times an
        // image. Measured (course ResNet-18 at batch 64, 2 threads, JIT): 138 -> 102 ms.
        if (f.out.n() >= winograd::batched_images) {
            f.output.parallel(n);
        } else {
            f.output.parallel(ty);
            f.product.parallel(task);
            f.transformed_input.parallel(input_args[2]);
            if (f.padded.defined()) f.padded.parallel(f.padded.args()[2]);
        }
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
    f.transformed_input.compute_at(f.output, row);
    schedule_input_transform(f.transformed_input, in_lanes, {input_args[1]});
    if (f.padded.defined())
        f.padded.compute_at(f.output, row)
            .store_in(Halide::MemoryType::Stack)
            .vectorize(f.padded.args()[0], lanes_for(in_channels, m.vector_lanes));
}

namespace {

// Pools and element-wise stages: vectors across channels, threads across rows.
void schedule_rowwise(StageFuncs f, const Shape& out, const Lowered& L, const Machine& m, const Placement& placement) {
    const int lanes = lanes_for(int(out.c()), m.vector_lanes);
    Var yn("yn");
    place(f.output, L.vars(out), halide_extents(out), placement);
    f.output.vectorize(L.c, lanes, TailStrategy::ShiftInwards);
    for (Halide::Func statistic : f.statistics) statistic.compute_at(f.output, out.is_image() ? L.x : L.n);  // once a pixel
    if (out.is_image()) {
        f.output.fuse(L.y, L.n, yn);
        if (placement.own_threads()) f.output.parallel(yn);
        if (f.padded.defined()) f.padded.compute_at(f.output, yn).store_in(Halide::MemoryType::Stack).vectorize(L.c, lanes);
    } else if (placement.own_threads()) {
        f.output.parallel(L.n);
    }
    // A concat's copies, one update per branch: vectors across the branch's channels.
    for (int k = 0; k < f.output.num_update_definitions(); ++k) {
        const Halide::RVar r = f.output.rvars(k)[0];
        Halide::Stage copy = f.output.update(k);
        copy.vectorize(r, lanes, TailStrategy::GuardWithIf);
        if (out.is_image()) {
            Var rows("rows");
            copy.fuse(L.y, L.n, rows);
            if (placement.own_threads()) copy.parallel(rows);
        } else if (placement.own_threads()) {
            copy.parallel(L.n);
        }
    }
}

// Depthwise and grouped convs: vectors across output channels, a few pixels of a row at a time,
// their accumulators in registers while the window's taps (unrolled) and the group's input
// channels run inside; threads across rows.
constexpr int kGroupedPixels = 4;
constexpr int kGroupChannelsToTile = 16;
void schedule_grouped(StageFuncs f, const Shape& out, int group_channels, const Lowered& L, const Machine& m, const Placement& placement) {
    const int lanes = lanes_for(int(out.c()), m.vector_lanes);
    // Where a group has many input channels (a dense rectangular or dilated conv: Inception v3's
    // 1x7 and 7x1), a tile of kGroupedPixels output pixels along a row shares each tap's weight
    // vector and gives the FMA units that many independent accumulators; one pixel's was a chain,
    // each FMA waiting for the last. Measured (JIT, 1 thread): Inception v3 102.6 -> 65.3 ms;
    // AOT, batch 1, 1 / 2 threads: RegNetX-400MF (16 channels a group) 14.6 -> 12.4 / 10.5 -> 8.3 ms.
    // Fewer channels a group keep one pixel: RegNetY-400MF's 8 gained nothing tiled (13.0 / 7.9 ms
    // tiled, 13.1 / 8.0 not, the same sitting), and a depthwise conv's few taps are no chain to
    // break while the tile's registers cost it (MobileNetV2 9.4 -> 10.0 ms, EfficientNet-B0
    // 14.2 -> 18.4 tiled, JIT).
    const int pixels = group_channels >= kGroupChannelsToTile ? int(std::min<std::int64_t>(kGroupedPixels, out.w())) : 1;
    Var yn("yn"), co("co"), ci("ci"), xo("xo"), xi("xi");
    place(f.output, L.vars(out), halide_extents(out), placement);
    f.output.split(L.c, co, ci, lanes, TailStrategy::ShiftInwards).vectorize(ci);
    if (pixels > 1) f.output.split(L.x, xo, xi, pixels, TailStrategy::ShiftInwards).reorder(ci, xi, co, xo, L.y, L.n);
    f.output.fuse(L.y, L.n, yn);
    if (placement.own_threads()) f.output.parallel(yn);
    f.accumulator.compute_at(f.output, co).vectorize(L.c, lanes);
    const std::vector<Halide::RVar> r = f.accumulator.rvars(0);  // (input channel, column, row)
    if (pixels > 1) {
        f.accumulator.unroll(L.x);
        f.accumulator.update().reorder(L.c, L.x, r[0], r[1], r[2]).vectorize(L.c, lanes).unroll(L.x).unroll(r[1]);
    } else {
        f.accumulator.update().reorder(L.c, r[0], r[1], r[2]).vectorize(L.c, lanes).unroll(r[1]);
    }
    // A depthwise conv's padded input is not made: the accumulator reads the input itself, its
    // border a select that Halide's loop partitioning (constant_exterior's likely()) leaves out of
    // the interior pixels. Made a row of output at a time, each input row was copied 3 times (a 3x3 window,
    // stride 1), a pass through memory of the block's widest value. Measured (JIT, 1 / 2
    // threads): MobileNetV2 9.6 / 5.8 -> 7.7 / 4.6 ms, EfficientNet-B0 14.0 / 8.3 -> 12.6 / 7.5 ms;
    // a sliding window of padded rows over bands of 1/8 of the plane got 8.4 / 5.0 and 13.5 / 8.0.
    // (A dense conv's padded rows stay: inlined there, ResNet-50 lost 2 ms of 61; its taps read
    // whole vectors of input channels, and the copy is a small share of its work.) Computing the
    // expansion conv before it inside it, rows at a time in bands of a quarter of the plane (a
    // sliding window), so that the 6x wider value never reached memory, was no faster: MobileNetV2
    // 8.3-8.9 against 7.8-8.4 ms on 1 thread, the 1x1 conv made a row at a time losing what the
    // memory saved.
    // A group of several input channels keeps its padded rows: its vector of output channels reads
    // each input channel of its groups, a gather, which from the padded rows on the stack was
    // cheap and from the input through the select was not (RegNetY-400MF, 8 channels a group:
    // 12.2 -> 16.7 ms on 1 thread, AOT).
    if (!f.padded.defined()) return;
    if (group_channels == 1) f.padded.compute_inline();
    else f.padded.compute_at(f.output, yn).store_in(Halide::MemoryType::Stack).vectorize(L.c, lanes);
}

// Batch tiles: a network whose activations are small (LeNet's: 23 KB an image) runs at batch > 1
// as one loop over tiles of images, each thread a tile at a time and every stage of the tile
// inside, its activations in L2 between stages. Whole, each stage passed its batch through memory
// (BNLeNet's first conv: 1.8 MB at batch 128) and the threads met at every stage's end. The tile:
// the most images whose stored activations fit kTileBytes, with kMinTiles tiles at least (the
// threads' load balance), dividing the batch. None (0) where a stage is a Winograd conv (its
// schedule is for whole planes) or the last stage is not a dense layer or a row-wise stage (or is
// a concat).
// Measured (BNLeNet at batch 128: 16 tiles of 8 images, JIT without the profiler, against every
// stage whole): 0.87-0.92 -> 0.59-0.65 ms on 2 threads, the same on 1 (1.0 ms).
constexpr std::int64_t kTileBytes = 256 * 1024;
constexpr std::int64_t kMinTiles = 16;

int batch_tile_images(const Lowered& L) {
    const Plan& plan = *L.plan;
    const int last = plan.output_stage();
    const Pattern root = L.stages[std::size_t(last)].pattern;
    if (root != Pattern::tiles && root != Pattern::rowwise) return 0;
    // A concat's copies are updates, which the tiles' loop (the output's pure loop) does not enclose.
    if (L.stages[std::size_t(last)].output.num_update_definitions() > 0) return 0;
    const std::int64_t batch = plan.stages[std::size_t(last)].out.n();
    std::int64_t image_bytes = 0;
    for (std::size_t s = 0; s < L.stages.size(); ++s) {
        if (L.stages[s].pattern == Pattern::winograd) return 0;
        if (L.stages[s].pattern != Pattern::view) image_bytes += plan.stages[s].out.elements() / batch * 4;
    }
    for (std::int64_t images = batch / kMinTiles; images >= 1; --images)
        if (batch % images == 0 && images * image_bytes <= kTileBytes) return int(images);
    return 0;
}

}  // namespace

void schedule_inference_cpu(Lowered& L, const Halide::Target& target) {
    const Machine m = machine_of(target);
    const int last = L.plan->output_stage();
    Placement root, inside;  // computed whole, unless in batch tiles
    if (const int images = batch_tile_images(L)) {
        root = {Placement::Kind::batch_tiles, {}, Var("batch_tile"), images};
        inside = {Placement::Kind::inside, L.stages[std::size_t(last)].output, root.tile, images};
    }
    for (std::size_t s = 0; s < L.stages.size(); ++s) {
        const Stage& stage = L.plan->stages[s];
        StageFuncs& f = L.stages[s];
        const Placement& placement = int(s) == last ? root : inside;
        switch (f.pattern) {
            case Pattern::convolution:
                schedule_conv_cpu({f.output, f.accumulator, f.padded, f.reduction, stage.in, stage.out, L.c, L.x, L.y, L.n,
                                   L.plan->main_op(stage).spec.window}, target, placement);
                break;
            case Pattern::winograd:  // computed whole: no batch tiles with Winograd stages
                schedule_winograd_cpu({f.output, f.accumulator, f.product, f.transformed_input, f.padded, f.reduction, stage.in,
                                       stage.out, L.c, L.x, L.y, L.n, stage.winograd_tile}, target);
                break;
            case Pattern::tiles:
                schedule_tiles_cpu({f.output, f.accumulator, halide_extents(stage.out)}, target, {}, placement);
                break;
            // A view is computed by its reader (a Dense reads the image under a Flatten itself), and
            // is not bounded: Halide warns that bounds on an inlined Func are meaningless.
            case Pattern::view:
                if (int(s) == last) schedule_rowwise(f, stage.out, L, m, placement);
                break;
            case Pattern::grouped:
                schedule_grouped(f, stage.out, int(stage.in.c() / L.plan->main_op(stage).spec.groups), L, m, placement);
                break;
            case Pattern::rowwise: schedule_rowwise(f, stage.out, L, m, placement); break;
        }
    }
}

}  // namespace snc::halide
