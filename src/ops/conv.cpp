// Conv: a 2-D convolution over NHWC images (layers/conv.hpp).
//
//   out(co, x, y, n) = b(co) + sum over ci, kx, ky of w(co, ci, ky, kx) * in(ci, x*s + kx - pl, y*s + ky - pt, n)
//
// with zeros where the window reaches past the input. At inference it starts a stage that the
// batch norm after it is folded into (at pack time) and a residual add and an activation join.
#include "op.hpp"

namespace snc::halide {

namespace {

class Conv final : public OpCompiler {
public:
    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict& tensors) const override {
        const reference::Values& in = values[std::size_t(op.input)];
        const Shape i = op.in, o = op.out;
        const Window& win = op.spec.window;
        const std::vector<float>& w = tensors.at(op.tensor_name(op.tensors.items[0])).data;
        const std::vector<float>* b = op.spec.bias ? &tensors.at(op.tensor_name(op.tensors.items[1])).data : nullptr;
        const Layout weight = tensor_layout(op, 0, Packing{}).source, image = image_layout(i), output = image_layout(o);
        reference::Values out(std::size_t(o.elements()));
        for (std::int64_t n = 0; n < o.n(); ++n)
            for (std::int64_t co = 0; co < o.c(); ++co)
                for (std::int64_t y = 0; y < o.h(); ++y)
                    for (std::int64_t x = 0; x < o.w(); ++x) {
                        double sum = b ? (*b)[std::size_t(co)] : 0.0;
                        for (std::int64_t ky = 0; ky < win.kernel; ++ky) {
                            const std::int64_t iy = y * win.stride + ky - win.pad_top;
                            if (iy < 0 || iy >= i.h()) continue;
                            for (std::int64_t kx = 0; kx < win.kernel; ++kx) {
                                const std::int64_t ix = x * win.stride + kx - win.pad_left;
                                if (ix < 0 || ix >= i.w()) continue;
                                for (std::int64_t ci = 0; ci < i.c(); ++ci)
                                    sum += double(w[std::size_t(weight(co, ci, ky, kx))]) * in[std::size_t(image(n, ci, iy, ix))];
                            }
                        }
                        out[std::size_t(output(n, co, y, x))] = sum;
                    }
        return out;
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
    // with (m + 2)^2 multiplies per input channel for m^2 outputs instead of 9 m^2.
    Expr lower_winograd(StageContext& stage) const {
        const Op& op = stage.main();
        const int m = stage.stage.winograd_tile;
        const winograd::Transforms t = winograd::transforms(m);
        const int alpha = t.alpha, in_channels = int(op.in.c());
        const std::string& name = stage.stage.name;
        Var c = stage.lowered.c, x = stage.lowered.x, y = stage.lowered.y, n = stage.lowered.n;
        Var tx("tx"), ty("ty"), p("p");
        Func padded = stage.funcs.padded = padded_input(stage.value(stage.stage.input), op.in, 0.0f, name);

        // B^T d B at each position, as a sum of the tile's pixels with constant coefficients (the
        // zero ones left out); a mux over p that the schedules unroll, so each is one expression.
        std::vector<Expr> input_terms;
        for (int b = 0; b < alpha; ++b)
            for (int a = 0; a < alpha; ++a) {
                Expr sum;
                for (int j = 0; j < alpha; ++j)
                    for (int i = 0; i < alpha; ++i) {
                        const double k = t.input[a * alpha + i] * t.input[b * alpha + j];
                        if (k == 0) continue;
                        Expr term = padded(c, tx * m + i - 1, ty * m + j - 1, n);
                        if (k != 1) term = float(k) * term;
                        sum = sum.defined() ? sum + term : term;
                    }
                input_terms.push_back(sum);
            }
        Func transformed(name + "_winograd_input");
        transformed(c, tx, ty, p, n) = Halide::mux(p, input_terms);

        const Layout weights = winograd::weight_layout(op, m);
        RDom r(0, in_channels, name + "_r");
        Func acc(name + "_winograd_product_acc"), product(name + "_winograd_product");
        acc(c, tx, ty, p, n) = 0.0f;
        acc(c, tx, ty, p, n) += stage.lowered.weights(int(stage.stage.weight_offset) + weights(Expr(c), Expr(r.x), Expr(p))) *
                                transformed(r.x, tx, ty, p, n);
        product(c, tx, ty, p, n) = acc(c, tx, ty, p, n);

        // A^T M A at the output's place in its tile: a mux over (x mod m, y mod m), constant once the
        // schedule splits x and y by m and unrolls.
        std::vector<Expr> output_terms;
        for (int v = 0; v < m; ++v)
            for (int u = 0; u < m; ++u) {
                Expr sum = stage.bias(c);
                for (int b = 0; b < alpha; ++b)
                    for (int a = 0; a < alpha; ++a) {
                        const double k = t.output[u * alpha + a] * t.output[v * alpha + b];
                        if (k == 0) continue;
                        Expr term = product(c, x / m, y / m, a + alpha * b, n);
                        sum = sum + (k == 1 ? term : float(k) * term);
                    }
                output_terms.push_back(sum);
            }
        stage.funcs.pattern = Pattern::winograd;
        stage.funcs.transformed_input = transformed;
        stage.funcs.accumulator = acc;
        stage.funcs.product = product;
        stage.funcs.reduction = r;
        return Halide::mux(x % m + m * (y % m), output_terms);
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
        RDom r(0, int(op.in.c()), 0, w.kernel, 0, w.kernel, t.name(i, "_r"));
        Func acc(t.name(i, "_acc")), out(t.name(i, ""));
        acc(c, x, y, n) = op.spec.bias ? t.parameter(i, 1, {c}) : t.real(0);
        acc(c, x, y, n) += t.parameter(i, 0, {c, r.x, r.z, r.y}) *
                           source(r.x, x * w.stride + r.y - w.pad_left, y * w.stride + r.z - w.pad_top, n);
        out(c, x, y, n) = acc(c, x, y, n);
        f.convs.push_back({out, acc, Func(), r, op.in, op.out, c, x, y, n});
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
        RDom r(0, int(op.out.w()), 0, int(op.out.h()), 0, int(op.out.n()), t.name(i, "_dw_r"));
        Func dw(t.name(i, "_dw"));
        dw(c, ci, kx, ky) = t.real(0);
        dw(c, ci, kx, ky) += g(c, r.x, r.y, r.z) * t.saved(i, "source")(ci, r.x * s + kx - w.pad_left, r.y * s + ky - w.pad_top, r.z);
        f.weight_gradients.push_back({dw, {out_channels, in_channels, k, k}, int(op.out.n()), int(op.out.w() * op.out.h())});
        t.set_tensor_gradient(i, 0, [dw](const std::vector<Expr>& at) { return dw(at[0], at[1], at[3], at[2]); });
        if (!t.needs_input_gradient(i)) return;

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
        Halide::Region output_region;
        for (int extent : halide_extents(op.out)) output_region.emplace_back(0, extent);
        Func g_border = Halide::BoundaryConditions::constant_exterior(g, t.real(0), output_region);
        RDom rd(0, out_channels, 0, taps, 0, taps, t.name(i, "_din_r"));
        Expr tap_x = (x + w.pad_left) % s + s * rd.y, tap_y = (y + w.pad_top) % s + s * rd.z;
        Expr weight = weight_of(rd.x, c, Halide::min(tap_x, k - 1), Halide::min(tap_y, k - 1));
        if (k % s) weight = Halide::select(tap_x < k && tap_y < k, weight, t.real(0));
        Func din_acc(t.name(i, "_din_acc")), din(t.name(i, "_din"));
        din_acc(c, x, y, n) = t.real(0);
        din_acc(c, x, y, n) += weight * g_border(rd.x, (x + w.pad_left - tap_x) / s, (y + w.pad_top - tap_y) / s, n);
        din(c, x, y, n) = din_acc(c, x, y, n);
        f.convs.push_back({din, din_acc, Func(), rd, op.out, op.in, c, x, y, n});
        t.add_gradient(op.input, din);
    }
};

}  // namespace

const OpCompiler& conv_op() {
    static const Conv compiler;
    return compiler;
}

}  // namespace snc::halide
