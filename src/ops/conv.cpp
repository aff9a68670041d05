// Conv: a 2-D convolution over NHWC images (layers/conv.hpp).
//
//   out(co, x, y, n) = b(co) + sum over ci, kx, ky of w(co, ci, ky, kx) * in(ci, x*s + kx - pl, y*s + ky - pt, n)
//
// with zeros where the window reaches past the input. At inference it starts a stage that the
// batch norm after it is folded into (at pack time) and a residual add and an activation join.
#include <functional>

#include <snc/winograd.hpp>

#include "op.hpp"

namespace snc::halide {

namespace {

// A transform's coefficient times a term, in the term's arithmetic type (float at inference, double
// in the gradient checks, where F(4,3)'s 1/6 and 1/24 must not pass through a float).
Expr scaled(double k, const Expr& term) {
    return k == 1 ? term : Halide::Internal::make_const(term.type(), k) * term;
}

// A sum of `alpha` x `alpha` terms term(i, j) with the coefficients left(a, i) left(b, j) (the zero
// ones left out): the 2-D transforms' entries at position (a, b).
template <class Coefficient, class Term>
Expr transform_sum(int extent, Coefficient&& left, int a, int b, Term&& term) {
    Expr sum;
    for (int j = 0; j < extent; ++j)
        for (int i = 0; i < extent; ++i) {
            const double k = left(a, i) * left(b, j);
            if (k == 0) continue;
            Expr scaled_term = scaled(k, term(i, j));
            sum = sum.defined() ? sum + scaled_term : scaled_term;
        }
    return sum;
}

// V(ci, tx, ty, p, n) = (B^T d B)(p) of each m x m tile's (m + 2) x (m + 2) input d, read from
// `padded` at the input's coordinates from (tx m - 1, ty m - 1): a mux over p that the schedules
// unroll, so each position is one expression. args: (c, tx, ty, p, n).
Func winograd_input(const std::string& name, int m, const Func& padded, const std::vector<Var>& args) {
    const winograd::Transforms t = winograd::transforms(m);
    const Var c = args[0], tx = args[1], ty = args[2], p = args[3], n = args[4];
    std::vector<Expr> terms;
    for (int b = 0; b < t.alpha; ++b)
        for (int a = 0; a < t.alpha; ++a)
            terms.push_back(transform_sum(t.alpha, [&](int row, int i) { return t.input[row * t.alpha + i]; }, a, b,
                                          [&](int i, int j) { return padded(c, tx * m + i - 1, ty * m + j - 1, n); }));
    Func transformed(name);
    transformed(c, tx, ty, p, n) = Halide::mux(p, terms);
    return transformed;
}

// Winograd's F(m, 3) (winograd.hpp) of a 3x3 stride-1 conv with one pixel of padding, over
// f.padded read at the input's coordinates (-1 to the plane's size), m = f.tile:
//   transformed_input(ci, tx, ty, p, n) = (B^T d B)(p) of the tile's input d
//   accumulator(co, tx, ty, p, n)       = sum over ci < in_channels of weight(co, ci, p) * transformed_input
//   value at (c, x, y, n)               = bias(c) + (A^T M A)(x mod m, y mod m) of the tile's products M
// Defines f's transformed_input, accumulator, product and reduction and returns the value; the
// caller defines f.output from it (inference fuses its epilogue in first). Shared by inference
// (weights transformed at pack time) and training (the step transforms them: winograd_weights).
Expr winograd_conv(WinogradFuncs& f, const std::string& name, int in_channels,
                   const std::function<Expr(Expr, Expr, Expr)>& weight, const std::function<Expr(Expr)>& bias) {
    const int m = f.tile;
    const winograd::Transforms t = winograd::transforms(m);
    const int alpha = t.alpha;
    const Var c = f.c, x = f.x, y = f.y, n = f.n;
    Var tx("tx"), ty("ty"), p("p");

    f.transformed_input = winograd_input(name + "_winograd_input", m, f.padded, {c, tx, ty, p, n});

    f.reduction = RDom(0, in_channels, name + "_r");
    const RDom& r = f.reduction;
    f.accumulator = Func(name + "_winograd_product_acc");
    f.product = Func(name + "_winograd_product");
    f.accumulator(c, tx, ty, p, n) = Halide::Internal::make_zero(f.padded.value().type());
    f.accumulator(c, tx, ty, p, n) += weight(c, r.x, p) * f.transformed_input(r.x, tx, ty, p, n);
    f.product(c, tx, ty, p, n) = f.accumulator(c, tx, ty, p, n);

    // A^T M A at the output's place in its tile: a mux over (x mod m, y mod m), constant once the
    // schedule splits x and y by m and unrolls.
    std::vector<Expr> output_terms;
    for (int v = 0; v < m; ++v)
        for (int u = 0; u < m; ++u) {
            Expr sum = bias(c);
            for (int b = 0; b < alpha; ++b)
                for (int a = 0; a < alpha; ++a) {
                    const double k = t.output[u * alpha + a] * t.output[v * alpha + b];
                    if (k == 0) continue;
                    sum = sum + scaled(k, f.product(c, x / m, y / m, a + alpha * b, n));
                }
            output_terms.push_back(sum);
        }
    return Halide::mux(x % m + m * (y % m), output_terms);
}

// The step's transformed weights of a 3x3 kernel for F(m, 3): U(co, ci, p) = (G g G^T)(p) of the
// kernel g(co, ci, ky, kx) (a + alpha b = p), a mux over p that the schedule unrolls. (At inference
// the packer does this once; in training the weights change every step.) Per (co, ci) pair,
// alpha^2 sums of up to 9 terms: 0.1 GFLOP for 512 x 512 channels at F(4,3), against 5 GFLOP of
// the course ResNet-18's convs at batch 128.
Func winograd_weights(const std::string& name, int m, Var co, Var ci, Var p,
                      const std::function<Expr(Expr, Expr, Expr, Expr)>& kernel) {
    const winograd::Transforms t = winograd::transforms(m);
    std::vector<Expr> terms;
    for (int b = 0; b < t.alpha; ++b)
        for (int a = 0; a < t.alpha; ++a)
            terms.push_back(transform_sum(3, [&](int row, int k) { return t.kernel[row * 3 + k]; }, a, b,
                                          [&](int kx, int ky) { return kernel(co, ci, ky, kx); }));
    Func weights(name);
    weights(co, ci, p) = Halide::mux(p, terms);
    return weights;
}

class Conv final : public OpCompiler {
public:
    // The definition is the grouped conv's loops (grouped_conv.cpp) with one group and no dilation.
    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict& tensors) const override {
        return grouped_conv_op().reference(op, values, tensors);
    }

    Expr lower(StageContext& stage) const override {
        if (stage.stage.winograd_tile) return lower_winograd(stage);
        const Op& op = stage.main();
        const Window& w = op.spec.window;
        const int in_channels = int(op.in.c()), k = w.kernel;
        Var c = stage.lowered.c, x = stage.lowered.x, y = stage.lowered.y, n = stage.lowered.n;
        Func source = stage.value(stage.stage.input);
        if (w.padded()) source = stage.funcs.padded = padded_input(source, op.in, 0.0f, stage.stage.name);
        // r.x: input channel (innermost, contiguous in NHWC), r.y: kernel column, r.z: kernel row.
        RDom r(0, in_channels, 0, k, 0, k, stage.stage.name + "_r");
        Func acc(stage.stage.name + "_acc");
        acc(c, x, y, n) = stage.bias(c);
        acc(c, x, y, n) += stage.weight({c, r.x, r.z, r.y}) * source(r.x, x * w.stride + r.y - w.pad_left, y * w.stride + r.z - w.pad_top, n);
        stage.funcs.pattern = Pattern::convolution;
        stage.funcs.accumulator = acc;
        stage.funcs.reduction = r;
        return acc(c, x, y, n);
    }

    // Winograd's F(m, 3) (winograd.hpp; the plan chose m): the same value as the direct sum above,
    // with (m + 2)^2 multiplies per input channel for m^2 outputs instead of 9 m^2, the weights
    // transformed at pack time.
    Expr lower_winograd(StageContext& stage) const {
        const Op& op = stage.main();
        const int m = stage.stage.winograd_tile;
        const std::string& name = stage.stage.name;
        WinogradFuncs f;
        f.c = stage.lowered.c, f.x = stage.lowered.x, f.y = stage.lowered.y, f.n = stage.lowered.n, f.tile = m;
        f.padded = stage.funcs.padded = padded_input(stage.value(stage.stage.input), op.in, 0.0f, name);
        const Layout weights = winograd::weight_layout(op, m);
        const Expr value = winograd_conv(
            f, name, int(op.in.c()),
            [&](Expr co, Expr ci, Expr p) {
                return stage.lowered.weights(int(stage.stage.weight_offset) + weights(co, ci, p));
            },
            [&](Expr co) { return stage.bias(co); });
        stage.funcs.pattern = Pattern::winograd;
        stage.funcs.transformed_input = f.transformed_input;
        stage.funcs.accumulator = f.accumulator;
        stage.funcs.product = f.product;
        stage.funcs.reduction = f.reduction;
        return value;
    }

    void forward(TrainingContext& t, int i) const override {
        Training& f = t.funcs();
        Var c = f.c, x = f.x, y = f.y, n = f.n;
        const Op& op = t.op(i);
        const Window& w = op.spec.window;
        Func in = t.value(op.input), source = in;
        t.reread(in);  // once per output channel tile and kernel tap
        if (w.padded()) {
            source = padded_input(in, op.in, t.real(0), t.name(i, ""));
            // Read twice, by the conv and by its weight gradient, over exactly the pixels the windows reach.
            f.padded_inputs.push_back({source,
                                       {{0, int(op.in.c())},
                                        {-w.pad_left, int((op.out.w() - 1) * w.stride + w.kernel)},
                                        {-w.pad_top, int((op.out.h() - 1) * w.stride + w.kernel)},
                                        {0, int(op.in.n())}}});
        }
        t.saved(i, "source") = source;
        if (Func kept = t.kept_output(i); kept.defined()) {
            t.define_value(i, kept);  // the backward pass reads what the forward pass wrote
            return;
        }
        Func out(t.name(i, ""));
        if (const int m = winograd::output_tile(op)) {
            // Winograd's F(m, 3) by inference's rule (the course ResNet-18 at batch 128: F(4,3) on its
            // 24x24 planes, F(2,3) on 12x12 and 6x6), the weights transformed in the step. The
            // padded input is the one the weight gradient reads too (padded_inputs). Measured (that
            // step, 1 thread, Halide's profiler): each 24x24 conv 50 -> 22 ms with its transforms,
            // the step with the input gradients below 2926 -> 2284 ms.
            out(c, x, y, n) = winograd_training_conv(
                t, t.name(i, ""), m, op.in, op.out, source, false,
                [&](Expr o, Expr in_c, Expr ky_at, Expr kx_at) { return t.parameter(i, 0, {o, in_c, ky_at, kx_at}); },
                [&](Expr o) { return op.spec.bias ? t.parameter(i, 1, {o}) : t.real(0); });
            f.winograd_convs.back().output = out;
            t.define_value(i, out);
            return;
        }
        RDom r(0, int(op.in.c()), 0, w.kernel, 0, w.kernel, t.name(i, "_r"));
        Func acc(t.name(i, "_acc"));
        acc(c, x, y, n) = op.spec.bias ? t.parameter(i, 1, {c}) : t.real(0);
        acc(c, x, y, n) += t.parameter(i, 0, {c, r.x, r.z, r.y}) *
                           source(r.x, x * w.stride + r.y - w.pad_left, y * w.stride + r.z - w.pad_top, n);
        out(c, x, y, n) = acc(c, x, y, n);
        f.convs.push_back({out, acc, Func(), r, op.in, op.out, c, x, y, n, w});
        t.define_value(i, out);
    }

    //   db(co)              = sum over x, y, n of g(co, x, y, n)
    //   dw(co, ci, ky, kx)  = sum over x, y, n of g(co, x, y, n) * in(ci, x*s + kx - pl, y*s + ky - pt, n)
    //   din(ci, X, Y, n)    = sum over co and the (kx, ky) with X + pl - kx a multiple of s of
    //                         w(co, ci, ky, kx) * g(co, (X + pl - kx) / s, (Y + pt - ky) / s, n)
    // The last visits exactly the kernel taps that reach X: kx = (X + pl) mod s + s j, so a strided
    // conv's input gradient wastes no multiply-add.
    void backward(TrainingContext& t, int i, Func g) const override {
        Training& f = t.funcs();
        Var c = f.c, x = f.x, y = f.y, n = f.n, ci = f.ci, kx = f.kx, ky = f.ky;
        const Op& op = t.op(i);
        const Window& w = op.spec.window;
        const int out_channels = int(op.spec.units), in_channels = int(op.in.c()), k = w.kernel, s = w.stride;
        t.reread(g);  // once per weight tap and input channel tile

        if (op.spec.bias) {
            Func db = t.channel_sum(t.name(i, "_db"), op.out, [&](Expr c, Expr x, Expr y, Expr n) { return g(c, x, y, n); });
            t.set_tensor_gradient(i, 1, [db](const std::vector<Expr>& at) { return db(at[0]); });
        }
        const int m = winograd::output_tile(op);
        if (m) {
            winograd_weight_gradient(t, i, g, m);
        } else {
            RDom r(0, int(op.out.w()), 0, int(op.out.h()), 0, int(op.out.n()), t.name(i, "_dw_r"));
            Func dw(t.name(i, "_dw"));
            dw(c, ci, kx, ky) = t.real(0);
            dw(c, ci, kx, ky) += g(c, r.x, r.y, r.z) * t.saved(i, "source")(ci, r.x * s + kx - w.pad_left, r.y * s + ky - w.pad_top, r.z);
            f.weight_gradients.push_back({dw, {out_channels, in_channels, k, k}, int(op.out.n()), int(op.out.w() * op.out.h())});
            t.set_tensor_gradient(i, 0, [dw](const std::vector<Expr>& at) { return dw(at[0], at[1], at[3], at[2]); });
        }
        if (!t.needs_input_gradient(i)) return;

        Halide::Region output_region;
        for (int extent : halide_extents(op.out)) output_region.emplace_back(0, extent);
        Func g_border = Halide::BoundaryConditions::constant_exterior(g, t.real(0), output_region);
        if (m) {
            // The input gradient of a 3x3 stride-1 conv with one pixel of padding is one too, over g
            // with the kernel turned by 180 degrees and its channels swapped:
            //   din(ci, X, Y, n) = sum over co, i, j of w(co, ci, 2 - j, 2 - i) g(co, X + i - 1, Y + j - 1, n)
            // so it takes Winograd's F(m, 3) as the forward conv does (the same planes, the channel
            // counts swapped), its padded input g with a zero border computed per image.
            Func padded(t.name(i, "_din_padded"));
            padded(c, x, y, n) = g_border(c, x, y, n);
            Func din(t.name(i, "_din"));
            din(c, x, y, n) = winograd_training_conv(
                t, t.name(i, "_din"), m, op.out, op.in, padded, true,
                [&](Expr to, Expr from, Expr ky_at, Expr kx_at) { return t.parameter(i, 0, {from, to, 2 - ky_at, 2 - kx_at}); },
                [&](Expr) { return t.real(0); });
            f.winograd_convs.back().output = din;
            t.add_gradient(op.input, din);
            return;
        }

        // The weights transposed, read along ci below: (co, ci, kx, ky), or with the input
        // channels in blocks of output_block, (ci % block, co, kx, ky, ci / block), so that a tile
        // of the input gradient reads its weights as one stream, as inference's tiles do (layout.hpp).
        Func weights(t.name(i, "_weights"));
        const bool blocked = in_blocks(in_channels);
        auto weight_of = [&](Expr co, Expr ci_at, Expr at_x, Expr at_y) -> Expr {
            if (blocked) return weights(ci_at % int(output_block), co, at_x, at_y, ci_at / int(output_block));
            return weights(co, ci_at, at_x, at_y);
        };
        if (blocked) {
            Var block("block");
            weights(ci, c, kx, ky, block) = t.parameter(i, 0, {c, block * int(output_block) + ci, ky, kx});
            f.weight_views.push_back({weights, {int(output_block), out_channels, k, k, in_channels / int(output_block)}, ci});
        } else {
            weights(c, ci, kx, ky) = t.parameter(i, 0, {c, ci, ky, kx});
            f.weight_views.push_back({weights, {out_channels, in_channels, k, k}, ci});
        }

        const int taps = (k + s - 1) / s;
        RDom rd(0, out_channels, 0, taps, 0, taps, t.name(i, "_din_r"));
        Expr tap_x = (x + w.pad_left) % s + s * rd.y, tap_y = (y + w.pad_top) % s + s * rd.z;
        Expr weight = weight_of(rd.x, c, Halide::min(tap_x, k - 1), Halide::min(tap_y, k - 1));
        if (k % s) weight = Halide::select(tap_x < k && tap_y < k, weight, t.real(0));
        Func din_acc(t.name(i, "_din_acc")), din(t.name(i, "_din"));
        din_acc(c, x, y, n) = t.real(0);
        din_acc(c, x, y, n) += weight * g_border(rd.x, (x + w.pad_left - tap_x) / s, (y + w.pad_top - tap_y) / s, n);
        din(c, x, y, n) = din_acc(c, x, y, n);
        // Its window, for the GPU schedule's register tile: `taps` of the gradient a side, stride 1.
        f.convs.push_back({din, din_acc, Func(), rd, op.out, op.in, c, x, y, n, Window{.kernel = taps, .stride = 1}});
        t.add_gradient(op.input, din);
    }

private:
    // A conv of the training step by F(m, 3) from `in` to `out` over `padded`, its weights
    // kernel(co, ci, ky, kx) transformed in the step: the output's value, its Funcs added to the
    // schedule's lists (winograd_convs: the caller sets the output). The padded input is computed
    // per image unless it is stored whole already (the forward conv's, which its weight gradient
    // reads too).
    static Expr winograd_training_conv(TrainingContext& t, const std::string& name, int m, const Shape& in, const Shape& out,
                                       Func padded, bool padded_per_image,
                                       const std::function<Expr(Expr, Expr, Expr, Expr)>& kernel,
                                       const std::function<Expr(Expr)>& bias) {
        Training& f = t.funcs();
        WinogradFuncs w;
        w.c = f.c, w.x = f.x, w.y = f.y, w.n = f.n, w.tile = m, w.in = in, w.out = out, w.padded = padded;
        Var co("co"), p("p");
        Func weights = winograd_weights(name + "_winograd_weights", m, co, f.ci, p, kernel);
        const Expr value = winograd_conv(w, name, int(in.c()), [&](Expr o, Expr i, Expr at) { return weights(o, i, at); }, bias);
        if (!padded_per_image) w.padded = Func();
        f.winograd_convs.push_back(w);
        f.winograd_transforms.push_back({weights, {int(out.c()), int(in.c()), (m + 2) * (m + 2)}, 2});
        return value;
    }

    // The weight gradient of a conv the forward pass computes by F(m, 3), by Winograd too (Lavin
    // and Gray, section 5): the identity behind F(m, 3), sum over p of A^T[i][p] G[p][k] B^T[p][j]
    // = [j = i + k], read with the output gradient g in the kernel's place, gives
    //   dw(co, ci, ky, kx) = sum over positions p = (a, b) of G[a][kx] G[b][ky] M(co, ci, p)
    //   M(co, ci, p)       = sum over images and tiles of (A g A^T)(co, p) (B^T d B)(ci, p)
    // with d the input tiles of the forward pass: alpha^2 matrix products over the batch's tiles
    // instead of 9 over its pixels, (m + 2)^2 / (9 m^2) of the multiply-adds (0.25 for F(4,3),
    // 0.44 for F(2,3)). The transformed tiles are stored whole, the products summed like a direct
    // weight gradient (per group of images first). Measured (course ResNet-18 step at batch 128, 1
    // thread, Halide's profiler): a 24x24 conv's weight gradient 53 -> 33 ms (products 19, the two
    // transforms 14), 12x12 53 -> 41 ms, 6x6 52 -> 35 ms; the step 2284 -> 2165 ms.
    static void winograd_weight_gradient(TrainingContext& t, int i, const Func& g, int m) {
        Training& f = t.funcs();
        const Op& op = t.op(i);
        const winograd::Transforms transforms = winograd::transforms(m);
        const int alpha = transforms.alpha, positions = alpha * alpha;
        const int out_channels = int(op.out.c()), in_channels = int(op.in.c());
        const int tiles_x = int(op.out.w()) / m, tiles_y = int(op.out.h()) / m, images = int(op.out.n());
        Var c = f.c, ci = f.ci, tx("tx"), ty("ty"), p("p"), n = f.n;

        Func input = winograd_input(t.name(i, "_dw_winograd_input"), m, t.saved(i, "source"), {c, tx, ty, p, n});
        std::vector<Expr> terms;
        for (int b = 0; b < alpha; ++b)
            for (int a = 0; a < alpha; ++a)
                terms.push_back(transform_sum(m, [&](int row, int u) { return transforms.output[u * alpha + row]; }, a, b,
                                              [&](int u, int v) { return g(c, tx * m + u, ty * m + v, n); }));
        Func gradient(t.name(i, "_dw_winograd_gradient"));
        gradient(c, tx, ty, p, n) = Halide::mux(p, terms);
        f.winograd_transforms.push_back({input, {in_channels, tiles_x, tiles_y, positions, images}, 3});
        f.winograd_transforms.push_back({gradient, {out_channels, tiles_x, tiles_y, positions, images}, 3});

        RDom r(0, tiles_x, 0, tiles_y, 0, images, t.name(i, "_dw_r"));
        Func products(t.name(i, "_dw_winograd_product"));
        products(c, ci, p) = t.real(0);
        products(c, ci, p) += gradient(c, r.x, r.y, p, r.z) * input(ci, r.x, r.y, p, r.z);
        f.weight_gradients.push_back({products, {out_channels, in_channels, positions}, images, tiles_x * tiles_y});

        // Back to the 3x3 taps, k = kx + 3 ky.
        Var k("k");
        std::vector<Expr> taps;
        for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx)
                taps.push_back(transform_sum(alpha, [&](int tap, int a) { return transforms.kernel[a * 3 + tap]; }, kx, ky,
                                             [&](int a, int b) { return products(c, ci, a + alpha * b); }));
        Func dw(t.name(i, "_dw"));
        dw(c, ci, k) = Halide::mux(k, taps);
        f.winograd_transforms.push_back({dw, {out_channels, in_channels, 9}, 2});
        t.set_tensor_gradient(i, 0, [dw](const std::vector<Expr>& at) { return dw(at[0], at[1], at[3] + 3 * at[2]); });
    }
};

}  // namespace

const OpCompiler& conv_op() {
    static const Conv compiler;
    return compiler;
}

}  // namespace snc::halide
