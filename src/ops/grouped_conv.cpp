// A conv with groups, dilation or a rectangular kernel (layers/conv.hpp: Conv<F, K, Groups<G>,
// Dilation<D>, KernelWidth<W>>), cig = C / G input and cog = F / G output channels a group:
//
//   out(co, x, y, n) = b(co) + sum over ci < cig, kx, ky of
//                      w(co, ci, ky, kx) * in(g cig + ci, x s + kx D - pl, y s + ky D - pt, n),  g = co / cog
//
// with zeros where the window reaches past the input. A depthwise conv (cig = 1) does K^2
// multiply-adds per output against a dense conv's K^2 C: it is bound by memory, not by the FMA
// units, and the dense conv's register tiles over an input-channel reduction have nothing to tile.
// So it has a pattern of its own (Pattern::grouped): vectors across output channels, the taps
// unrolled, the padded rows kept per row of output (src/schedule/). Winograd never takes it
// (winograd::output_tile is for the dense op alone). The batch norm after it folds into it at pack
// time, as into a dense conv: the scale is per output channel either way.
//
// Training: the forward sum and the input gradient are stored reductions; the weight gradient
//   dw(co, ci, ky, kx) = sum over x, y, n of g(co, x, y, n) * in(g cig + ci, x s + kx D - pl, y s + ky D - pt, n)
// is a conv's weight gradient (summed per group of images, tiled); the input gradient
//   din(C', X, Y, n) = sum over j < cog, kx, ky with X + pl - kx D a multiple of s (and Y's) of
//                      w(g cog + j, C' - g cig, ky, kx) * g(g cog + j, (X + pl - kx D) / s, (Y + pt - ky D) / s, n),  g = C' / cig
// visits every tap and keeps those that land (a strided depthwise conv wastes 3 of 4 at stride 2).
#include "op.hpp"

namespace snc::halide {

namespace {

class GroupedConv final : public OpCompiler {
public:
    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict& tensors) const override {
        const reference::Values& in = values[std::size_t(op.input)];
        const Shape i = op.in, o = op.out;
        const Window& win = op.spec.window;
        const std::int64_t cig = i.c() / op.spec.groups, cog = o.c() / op.spec.groups;
        const std::vector<float>& w = tensors.at(op.tensor_name(op.tensors.items[0])).data;
        const std::vector<float>* b = op.spec.bias ? &tensors.at(op.tensor_name(op.tensors.items[1])).data : nullptr;
        const Layout weight = tensor_layout(op, 0, Packing{}).source, image = image_layout(i), output = image_layout(o);
        reference::Values out(std::size_t(o.elements()));
        for (std::int64_t n = 0; n < o.n(); ++n)
            for (std::int64_t co = 0; co < o.c(); ++co)
                for (std::int64_t y = 0; y < o.h(); ++y)
                    for (std::int64_t x = 0; x < o.w(); ++x) {
                        double sum = b ? (*b)[std::size_t(co)] : 0.0;
                        const std::int64_t first = co / cog * cig;
                        for (std::int64_t ky = 0; ky < win.rows(); ++ky) {
                            const std::int64_t iy = y * win.stride + ky * win.dilation - win.pad_top;
                            if (iy < 0 || iy >= i.h()) continue;
                            for (std::int64_t kx = 0; kx < win.columns(); ++kx) {
                                const std::int64_t ix = x * win.stride + kx * win.dilation - win.pad_left;
                                if (ix < 0 || ix >= i.w()) continue;
                                for (std::int64_t ci = 0; ci < cig; ++ci)
                                    sum += double(w[std::size_t(weight(co, ci, ky, kx))]) * in[std::size_t(image(n, first + ci, iy, ix))];
                            }
                        }
                        out[std::size_t(output(n, co, y, x))] = sum;
                    }
        return out;
    }

    Expr lower(StageContext& stage) const override {
        const Op& op = stage.main();
        const Window& w = op.spec.window;
        const int cig = int(op.in.c()) / op.spec.groups, cog = int(op.out.c()) / op.spec.groups;
        Var c = stage.lowered.c, x = stage.lowered.x, y = stage.lowered.y, n = stage.lowered.n;
        Func source = stage.value(stage.stage.input);
        if (w.padded()) source = stage.funcs.padded = padded_input(source, op.in, 0.0f, stage.stage.name);
        // r.x: input channel of the group, r.y: kernel column, r.z: kernel row.
        RDom r(0, cig, 0, w.columns(), 0, w.rows(), stage.stage.name + "_r");
        Func acc(stage.stage.name + "_acc");
        acc(c, x, y, n) = stage.bias(c);
        acc(c, x, y, n) += stage.weight({c, r.x, r.z, r.y}) *
                           source(c / cog * cig + r.x, x * w.stride + r.y * w.dilation - w.pad_left,
                                  y * w.stride + r.z * w.dilation - w.pad_top, n);
        stage.funcs.pattern = Pattern::grouped;
        stage.funcs.accumulator = acc;
        stage.funcs.reduction = r;
        return acc(c, x, y, n);
    }

    void forward(TrainingContext& t, int i) const override {
        Training& f = t.funcs();
        Var c = f.c, x = f.x, y = f.y, n = f.n;
        const Op& op = t.op(i);
        const Window& w = op.spec.window;
        const int cig = int(op.in.c()) / op.spec.groups, cog = int(op.out.c()) / op.spec.groups;
        Func in = t.value(op.input), source = in;
        t.reread(in);
        if (w.padded()) {
            source = padded_input(in, op.in, t.real(0), t.name(i, ""));
            f.padded_inputs.push_back({source,
                                       {{0, int(op.in.c())},
                                        {-w.pad_left, int((op.out.w() - 1) * w.stride + w.span_columns())},
                                        {-w.pad_top, int((op.out.h() - 1) * w.stride + w.span_rows())},
                                        {0, int(op.in.n())}}});
        }
        t.saved(i, "source") = source;
        RDom r(0, cig, 0, w.columns(), 0, w.rows(), t.name(i, "_r"));
        Func acc(t.name(i, "_acc")), out(t.name(i, ""));
        acc(c, x, y, n) = op.spec.bias ? t.parameter(i, 1, {c}) : t.real(0);
        acc(c, x, y, n) += t.parameter(i, 0, {c, r.x, r.z, r.y}) *
                           source(c / cog * cig + r.x, x * w.stride + r.y * w.dilation - w.pad_left,
                                  y * w.stride + r.z * w.dilation - w.pad_top, n);
        f.reductions.push_back({acc, op.out});
        out(c, x, y, n) = acc(c, x, y, n);
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        Training& f = t.funcs();
        Var c = f.c, x = f.x, y = f.y, n = f.n, ci = f.ci, kx = f.kx, ky = f.ky;
        const Op& op = t.op(i);
        const Window& w = op.spec.window;
        const int groups = op.spec.groups, cig = int(op.in.c()) / groups, cog = int(op.out.c()) / groups;
        const int s = w.stride, d = w.dilation;
        t.reread(g);

        if (op.spec.bias) {
            Func db = t.channel_sum(t.name(i, "_db"), op.out, [&](Expr c, Expr x, Expr y, Expr n) { return g(c, x, y, n); });
            t.set_tensor_gradient(i, 1, [db](const std::vector<Expr>& at) { return db(at[0]); });
        }
        RDom r(0, int(op.out.w()), 0, int(op.out.h()), 0, int(op.out.n()), t.name(i, "_dw_r"));
        Func dw(t.name(i, "_dw"));
        dw(c, ci, kx, ky) = t.real(0);
        dw(c, ci, kx, ky) += g(c, r.x, r.y, r.z) *
                             t.saved(i, "source")(c / cog * cig + ci, r.x * s + kx * d - w.pad_left, r.y * s + ky * d - w.pad_top, r.z);
        f.weight_gradients.push_back({dw, {int(op.out.c()), cig, w.columns(), w.rows()}, int(op.out.n()), int(op.out.w() * op.out.h())});
        t.set_tensor_gradient(i, 0, [dw](const std::vector<Expr>& at) { return dw(at[0], at[1], at[3], at[2]); });
        if (!t.needs_input_gradient(i)) return;

        Halide::Region output_region;
        for (int extent : halide_extents(op.out)) output_region.emplace_back(0, extent);
        Func g_border = Halide::BoundaryConditions::constant_exterior(g, t.real(0), output_region);
        RDom rd(0, cog, 0, w.columns(), 0, w.rows(), t.name(i, "_din_r"));
        Expr group = c / cig;
        Expr from_x = x + w.pad_left - rd.y * d, from_y = y + w.pad_top - rd.z * d;
        Expr lands = from_x % s == 0 && from_y % s == 0;
        Expr co = group * cog + rd.x;
        Func din_acc(t.name(i, "_din_acc")), din(t.name(i, "_din"));
        din_acc(c, x, y, n) = t.real(0);
        din_acc(c, x, y, n) += Halide::select(lands, t.parameter(i, 0, {co, c - group * cig, rd.z, rd.y}) *
                                                         g_border(co, from_x / s, from_y / s, n),
                                              t.real(0));
        f.reductions.push_back({din_acc, op.in});
        din(c, x, y, n) = din_acc(c, x, y, n);
        t.add_gradient(op.input, t.pointwise(din, op.in));
    }
};

}  // namespace

const OpCompiler& grouped_conv_op() {
    static const GroupedConv compiler;
    return compiler;
}

}  // namespace snc::halide
