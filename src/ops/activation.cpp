// Element-wise activations (layers/activation.hpp): ReLU, Sigmoid, Tanh. Each is one function and
// its derivative, written as a function of the output:
//   relu     max(x, 0)             d/dx = (y > 0)
//   sigmoid  1 / (1 + exp(-x))     d/dx = y (1 - y)
//   tanh     tanh(x)               d/dx = 1 - y^2
// A NaN stays NaN and infinities go where PyTorch takes them: max(x, 0) drops a NaN on x86 (and
// Halide folds select(x < 0, 0, x) into it), and Halide's fast exp() is neither NaN- nor
// infinity-safe, so both are guarded (is_nan_bits: why not is_nan).
// At inference an activation joins the stage before it, or is a stage of its own.
#include <cmath>

#include "op.hpp"

namespace snc::halide {

namespace {

Expr zero(Halide::Type type) { return Halide::cast(type, Expr(0.0f)); }
Expr one(Halide::Type type) { return Halide::cast(type, Expr(1.0f)); }

class Activation : public OpCompiler {
public:
    virtual double apply(double x) const = 0;
    virtual Expr apply(Expr x) const = 0;
    virtual Expr input_gradient(Expr y, Expr g) const = 0;  // g d y / d x, from y

    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict&) const override {
        reference::Values out = values[std::size_t(op.input)];
        for (double& v : out) v = apply(v);
        return out;
    }

    Expr lower(StageContext& stage) const override {
        stage.funcs.pattern = Pattern::rowwise;
        return apply(stage.value(stage.stage.input)(stage.args(stage.stage.out)));
    }
    Expr fuse(StageContext&, const Op&, Expr value) const override { return apply(value); }

    void forward(TrainingContext& t, int i) const override {
        const Op& op = t.op(i);
        std::vector<Expr> args = t.args(op.out);
        Func out(t.name(i, ""));
        out(args) = apply(t.value(op.input)(args));
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        if (!t.needs_input_gradient(i)) return;
        const Op& op = t.op(i);
        std::vector<Expr> args = t.args(op.out);
        Func din(t.name(i, "_din"));
        din(args) = input_gradient(t.value(i + 1)(args), g(args));
        t.add_gradient(op.input, t.pointwise(din, op.in));
    }
};

class ReLU final : public Activation {
public:
    double apply(double x) const override { return x < 0.0 ? 0.0 : x; }
    Expr apply(Expr x) const override { return Halide::select(is_nan_bits(x), x, Halide::max(x, zero(x.type()))); }
    Expr input_gradient(Expr y, Expr g) const override { return Halide::select(y > zero(y.type()), g, zero(g.type())); }
};

class Sigmoid final : public Activation {
public:
    double apply(double x) const override { return 1.0 / (1.0 + std::exp(-x)); }
    // exp(88) is 1.7e38, near float's largest: clamped there, sigmoid(-inf) is 0 and sigmoid(inf) 1.
    Expr apply(Expr x) const override {
        Expr bounded = Halide::clamp(x, Halide::cast(x.type(), Expr(-88.0f)), Halide::cast(x.type(), Expr(88.0f)));
        return Halide::select(is_nan_bits(x), x, one(x.type()) / (one(x.type()) + Halide::exp(-bounded)));
    }
    Expr input_gradient(Expr y, Expr g) const override { return g * y * (one(y.type()) - y); }
};

class Tanh final : public Activation {
public:
    double apply(double x) const override { return std::tanh(x); }
    Expr apply(Expr x) const override { return Halide::tanh(x); }
    Expr input_gradient(Expr y, Expr g) const override { return g * (one(y.type()) - y * y); }
};

}  // namespace

const OpCompiler& relu_op() {
    static const ReLU compiler;
    return compiler;
}
const OpCompiler& sigmoid_op() {
    static const Sigmoid compiler;
    return compiler;
}
const OpCompiler& tanh_op() {
    static const Tanh compiler;
    return compiler;
}

}  // namespace snc::halide
