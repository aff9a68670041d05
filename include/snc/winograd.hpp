// Winograd's minimal filtering for 3x3 stride-1 convolutions (Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016): F(m, 3) computes an m x m tile of outputs from an
// (m + 2) x (m + 2) tile of input with (m + 2)^2 multiplies per input channel instead of 9 m^2:
//
//   out tile = A^T [ U (.) V ] A,   U = G g G^T (the 3x3 kernel g, at pack time),   V = B^T d B
//
// where d is the input tile starting at (x0 - 1, y0 - 1) and (.) is the product element by element,
// summed over input channels: for each of the (m + 2)^2 positions, a matrix product of the
// weights (output x input channels) by the transformed input (input channels x tiles).
// F(2,3): 2.25x fewer multiplies; F(4,3): 4x, with transforms whose entries reach 8 (the points 0,
// +-1, +-2): in float, 4e-6 to 9e-6 of the largest output on random data (16 to 128 channels)
// against 1e-6 for F(2,3) and for direct convolution. The tests hold each Winograd stage to 1e-4
// of the reference and every network to 1e-4 of PyTorch.
//
// The rule, one place, read by the plan (which stage uses which tile), the packer (which weights
// it transforms), the lowering, and the training step (src/ops/conv.cpp: the forward conv, its
// input gradient and its weight gradient, the weights transformed in the step): a Conv with a 3x3
// kernel, stride 1 and one pixel of padding on every side (the output plane is the input's), at
// least 16 input and output channels, and an output plane of 6 or more cut evenly into tiles.
// Larger tiles first (see output_tile).
#pragma once

#include <cstdint>

#include <snc/layout.hpp>

namespace snc::winograd {

// The three transforms of F(m, 3), row-major: B^T is alpha x alpha, G alpha x 3, A^T m x alpha.
struct Transforms {
    int m = 0, alpha = 0;
    const double* input = nullptr;   // B^T
    const double* kernel = nullptr;  // G
    const double* output = nullptr;  // A^T
};

inline constexpr double f2_input[] = {1, 0, -1, 0,  //
                                      0, 1, 1, 0,   //
                                      0, -1, 1, 0,  //
                                      0, 1, 0, -1};
inline constexpr double f2_kernel[] = {1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1};
inline constexpr double f2_output[] = {1, 1, 1, 0,  //
                                       0, 1, -1, -1};

inline constexpr double f4_input[] = {4, 0, -5, 0, 1, 0,   //
                                      0, -4, -4, 1, 1, 0,  //
                                      0, 4, -4, -1, 1, 0,  //
                                      0, -2, -1, 2, 1, 0,  //
                                      0, 2, -1, -2, 1, 0,  //
                                      0, 4, 0, -5, 0, 1};
inline constexpr double f4_kernel[] = {1.0 / 4,  0,         0,           //
                                       -1.0 / 6, -1.0 / 6,  -1.0 / 6,    //
                                       -1.0 / 6, 1.0 / 6,   -1.0 / 6,    //
                                       1.0 / 24, 1.0 / 12,  1.0 / 6,     //
                                       1.0 / 24, -1.0 / 12, 1.0 / 6,     //
                                       0,        0,         1};
inline constexpr double f4_output[] = {1, 1, 1, 1, 1, 0,   //
                                       0, 1, -1, 2, -2, 0, //
                                       0, 1, 1, 4, 4, 0,   //
                                       0, 1, -1, 8, -8, 1};

constexpr Transforms transforms(int m) {
    if (m == 2) return {2, 4, f2_input, f2_kernel, f2_output};
    if (m == 4) return {4, 6, f4_input, f4_kernel, f4_output};
    return {};
}

// A batch of this many images or more is computed an image a thread (schedule_winograd_cpu).
inline constexpr std::int64_t batched_images = 8;

// The output tile m of a conv op under the rule above: 4, 2, or 0 (direct convolution).
// Planes: torchvision's ResNet-18 has 56 and 28 (F(4,3)), 14 (F(2,3)), 7 (direct); the course's
// 24 (F(4,3)), 12 and 6 (F(2,3)), 3 (direct). Measured on the 2-core machines, conv + ReLU alone,
// direct against Winograd: 64->64 at 24x24 0.42 / 0.20 ms (F(4,3)); 128->128 at 28x28 1.88 / 1.08
// ms (F(4,3)); F(2,3) at 12x12 (128 channels) and 6x6 (256) at batch 1 within 7 % on the machine
// whose AVX-512 runs at half width (1 thread), and in a batch, an image a thread, the course
// ResNet-18 at batch 64 (JIT, Halide's profiler, 1 thread) 12.4-13.8 -> 6.9-8.3 ms a conv, the
// network 217 -> 175 ms (140 -> 100 ms on 2 threads). On the full-width machine (FMA peak 218
// GFLOP/s a thread), the course ResNet-18 at batch 1 (JIT, 1 thread, Halide's profiler): its
// 12x12 convs 0.21-0.23 -> 0.11-0.13 ms, its 6x6 convs 0.24-0.25 -> 0.16-0.22 ms, the network
// 3.77 -> 3.23 ms (without the profiler, five rounds interleaved: 4.26-4.62 -> 3.61-4.13 ms); on 2
// threads the same within the noise (fastest of six rounds 2.01 / 1.85 ms). Planes of 6 and up
// therefore take F(2,3) at every batch size.
constexpr int output_tile(const Op& op) {
    if (op.spec.kind != OpKind::conv) return 0;
    const Window& w = op.spec.window;
    if (w.kernel != 3 || w.stride != 1 || w.pad_top != 1 || w.pad_left != 1 || w.pad_bottom != 1 || w.pad_right != 1)
        return 0;
    if (op.in.c() < 16 || op.out.c() < 16) return 0;
    const std::int64_t height = op.out.h(), width = op.out.w();
    if (height % 4 == 0 && width % 4 == 0 && height >= 24 && width >= 24) return 4;
    if (height % 2 == 0 && width % 2 == 0 && height >= 6 && width >= 6) return 2;
    return 0;
}

// The packed layout of a conv's transformed weights U: modes (co, ci, p), p = a + alpha b the
// position in the alpha x alpha tile (a along x, b along y), the output channel fastest (vector
// loads across output channels, as the direct convolution's weights), then the input channel.
// Output channels come in blocks of `output_block` when it divides them, as the direct
// convolution's (layout.hpp): a products tile, one position by one block, reads one stream.
constexpr Layout weight_layout(const Op& op, int m) {
    const std::int64_t alpha = m + 2, outputs = op.out.c(), inputs = op.in.c();
    const std::int64_t extents[] = {outputs, inputs, alpha * alpha};
    const int order[] = {0, 1, 2};
    Layout layout = ordered(3, extents, order);
    if (in_blocks(outputs)) {
        // (co % block, ci, co / block, p)
        layout.strides[1] = output_block;
        layout.tiles[0] = output_block;
        layout.tile_strides[0] = output_block * inputs;
    }
    return layout;
}

// U(a, b) = sum over (kx, ky) of G[a][kx] G[b][ky] g(ky, kx): one 3x3 kernel g in PyTorch's
// (ky, kx) order, times `scale`, to alpha^2 values written through `store(a, b, value)`.
template <class Kernel, class Store>
void transform_kernel(const Transforms& t, Kernel&& g, double scale, Store&& store) {
    for (int a = 0; a < t.alpha; ++a)
        for (int b = 0; b < t.alpha; ++b) {
            double sum = 0;
            for (int ky = 0; ky < 3; ++ky)
                for (int kx = 0; kx < 3; ++kx) sum += t.kernel[a * 3 + kx] * t.kernel[b * 3 + ky] * g(ky, kx);
            store(a, b, sum * scale);
        }
}

}  // namespace snc::winograd
