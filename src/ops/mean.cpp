// GlobalAvgPool (layers/pool.hpp): each channel's mean over the image, (N, H, W, C) -> (N, C).
#include "op.hpp"

namespace snc::halide {

namespace {

class GlobalMean final : public OpCompiler {
public:
    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict&) const override {
        const reference::Values& in = values[std::size_t(op.input)];
        const std::int64_t pixels = op.in.h() * op.in.w(), channels = op.in.c();
        reference::Values out(std::size_t(op.out.elements()), 0.0);
        for (std::size_t k = 0; k < in.size(); ++k)  // NHWC: the channel is k mod C, the image k / (HWC)
            out[std::size_t(std::int64_t(k) / (pixels * channels) * channels + std::int64_t(k) % channels)] += in[k] / double(pixels);
        return out;
    }

    Expr lower(StageContext& stage) const override {
        const Op& op = stage.main();
        RDom r(0, int(op.in.w()), 0, int(op.in.h()), stage.stage.name + "_r");
        stage.funcs.pattern = Pattern::rowwise;
        stage.funcs.reduction = r;
        return Halide::sum(stage.value(stage.stage.input)(stage.lowered.c, r.x, r.y, stage.lowered.n)) /
               float(op.in.w() * op.in.h());
    }

    void forward(TrainingContext& t, int i) const override {
        Training& f = t.funcs();
        const Op& op = t.op(i);
        RDom r(0, int(op.in.w()), 0, int(op.in.h()), t.name(i, "_r"));
        Func total(t.name(i, "_sum")), out(t.name(i, ""));
        total(f.c, f.n) = t.real(0);
        total(f.c, f.n) += t.value(op.input)(f.c, r.x, r.y, f.n);
        f.reductions.emplace_back(total, op.out);
        out(f.c, f.n) = total(f.c, f.n) / t.real(double(op.in.w() * op.in.h()));
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        if (!t.needs_input_gradient(i)) return;
        Training& f = t.funcs();
        const Op& op = t.op(i);
        Func din(t.name(i, "_din"));
        din(f.c, f.x, f.y, f.n) = g(f.c, f.n) / t.real(double(op.in.w() * op.in.h()));
        t.add_gradient(op.input, t.pointwise(din, op.in));
    }
};

}  // namespace

const OpCompiler& global_avg_pool_op() {
    static const GlobalMean compiler;
    return compiler;
}

}  // namespace snc::halide
