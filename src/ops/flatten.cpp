// Flatten (layers/dense.hpp): (N, H, W, C) -> (N, H*W*C), features in NHWC memory's order, so that
// the reshape moves no data. A view: its reader computes it (a Dense reads the image itself,
// Graph::flattened_image).
#include "op.hpp"

namespace snc::halide {

namespace {

// out(f, n) = in(c, x, y, n) with (c, y, x) feature f's coordinates.
Expr flattened(const Func& in, const Shape& image, Expr feature, Expr n) {
    if (!image.is_image()) return in(feature, n);
    Expr coordinates[3];
    feature_layout(image, image.features()).coordinates(feature, coordinates);
    return in(coordinates[0], coordinates[2], coordinates[1], n);
}

class Flatten final : public OpCompiler {
public:
    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict&) const override {
        return values[std::size_t(op.input)];  // NHWC is already (N, H*W*C) in memory
    }

    Expr lower(StageContext& stage) const override {
        stage.funcs.pattern = Pattern::view;
        return flattened(stage.value(stage.stage.input), stage.main().in, stage.lowered.c, stage.lowered.n);
    }

    void forward(TrainingContext& t, int i) const override {
        Training& f = t.funcs();
        const Op& op = t.op(i);
        Func in = t.value(op.input);
        t.reread(in);  // the Dense after it reads each feature once per unit
        Func out(t.name(i, ""));
        out(f.c, f.n) = flattened(in, op.in, f.c, f.n);
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        if (!t.needs_input_gradient(i)) return;
        Training& f = t.funcs();
        const Op& op = t.op(i);
        Func din(t.name(i, "_din"));  // the reshape back
        if (op.in.is_image())
            din(f.c, f.x, f.y, f.n) = g(feature_layout(op.in, op.in.features())(Expr(f.c), Expr(f.y), Expr(f.x)), f.n);
        else
            din(f.c, f.n) = g(f.c, f.n);
        t.add_gradient(op.input, t.pointwise(din, op.in));
    }
};

}  // namespace

const OpCompiler& flatten_op() {
    static const Flatten compiler;
    return compiler;
}

}  // namespace snc::halide
