// The residual add (layers/block.hpp): body(x) + shortcut(x). At inference it joins the conv stage
// before it, or is a stage of its own; its adjoint gives the gradient to both branches.
#include "op.hpp"

namespace snc::halide {

namespace {

class Add final : public OpCompiler {
public:
    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict&) const override {
        reference::Values out = values[std::size_t(op.input)];
        const reference::Values& other = values[std::size_t(op.shortcut)];
        for (std::size_t k = 0; k < out.size(); ++k) out[k] += other[k];
        return out;
    }

    Expr lower(StageContext& stage) const override {
        std::vector<Expr> args = stage.args(stage.stage.out);
        stage.funcs.pattern = Pattern::rowwise;
        return stage.value(stage.stage.input)(args) + stage.value(stage.stage.residual)(args);
    }
    Expr fuse(StageContext& stage, const Op&, Expr value) const override {
        return value + stage.value(stage.stage.residual)(stage.args(stage.stage.out));
    }

    void forward(TrainingContext& t, int i) const override {
        const Op& op = t.op(i);
        std::vector<Expr> args = t.args(op.out);
        Func out(t.name(i, ""));
        out(args) = t.value(op.input)(args) + t.value(op.shortcut)(args);
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        const Op& op = t.op(i);
        t.add_gradient(op.input, g);
        t.add_gradient(op.shortcut, g);
    }
};

}  // namespace

const OpCompiler& add_op() {
    static const Add compiler;
    return compiler;
}

}  // namespace snc::halide
