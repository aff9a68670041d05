// Element-wise activations (layers/activation.hpp). Each is one function and its derivative, of
// the input x or the output y:
//   relu          max(x, 0)                       d/dx = (y > 0)
//   sigmoid       1 / (1 + exp(-x))               d/dx = y (1 - y)
//   tanh          tanh(x)                         d/dx = 1 - y^2
//   relu6         min(max(x, 0), 6)               d/dx = (0 < x < 6)
//   hard_sigmoid  min(max(x + 3, 0), 6) / 6       d/dx = (-3 < x < 3) / 6
//   hard_swish    x min(max(x + 3, 0), 6) / 6     d/dx = 0 below -3, 1 above 3, (2x + 3) / 6 between
//   silu          x sigmoid(x)                    d/dx = s (1 + x (1 - s)), s = sigmoid(x)
//   gelu          x/2 (1 + erf(x / sqrt 2))       d/dx = Phi(x) + x phi(x)
//   leaky_relu    x >= 0 ? x : a x                d/dx = x > 0 ? 1 : a
// The derivatives at the kinks are PyTorch's (hardswish's at -3 and 3 too).
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
    virtual Expr input_gradient(Expr x, Expr y, Expr g, const Op& op) const = 0;  // g d y / d x

    // The activations with a parameter (LeakyReLU's slope) read it from the op.
    virtual double apply(double x, const Op&) const { return apply(x); }
    virtual Expr apply(Expr x, const Op&) const { return apply(x); }

    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict&) const override {
        reference::Values out = values[std::size_t(op.input)];
        for (double& v : out) v = std::isnan(v) ? v : apply(v, op);
        return out;
    }

    Expr lower(StageContext& stage) const override {
        stage.funcs.pattern = Pattern::rowwise;
        return apply(stage.value(stage.stage.input)(stage.args(stage.stage.out)), stage.main());
    }
    Expr fuse(StageContext&, const Op& op, Expr value) const override { return apply(value, op); }

    void forward(TrainingContext& t, int i) const override {
        const Op& op = t.op(i);
        std::vector<Expr> args = t.args(op.out);
        Func out(t.name(i, ""));
        out(args) = apply(t.value(op.input)(args), op);
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        if (!t.needs_input_gradient(i)) return;
        const Op& op = t.op(i);
        std::vector<Expr> args = t.args(op.out);
        Func din(t.name(i, "_din"));
        din(args) = input_gradient(t.value(op.input)(args), t.value(i + 1)(args), g(args), op);
        t.add_gradient(op.input, t.pointwise(din, op.in));
    }
};

class ReLU final : public Activation {
public:
    double apply(double x) const override { return x < 0.0 ? 0.0 : x; }
    Expr apply(Expr x) const override { return Halide::select(is_nan_bits(x), x, Halide::max(x, zero(x.type()))); }
    Expr input_gradient(Expr, Expr y, Expr g, const Op&) const override { return Halide::select(y > zero(y.type()), g, zero(g.type())); }
};

class Sigmoid final : public Activation {
public:
    double apply(double x) const override { return 1.0 / (1.0 + std::exp(-x)); }
    // exp(88) is 1.7e38, near float's largest: clamped there, sigmoid(-inf) is 0 and sigmoid(inf) 1.
    Expr apply(Expr x) const override {
        Expr bounded = Halide::clamp(x, Halide::cast(x.type(), Expr(-88.0f)), Halide::cast(x.type(), Expr(88.0f)));
        return Halide::select(is_nan_bits(x), x, one(x.type()) / (one(x.type()) + Halide::exp(-bounded)));
    }
    Expr input_gradient(Expr, Expr y, Expr g, const Op&) const override { return g * y * (one(y.type()) - y); }
};

class Tanh final : public Activation {
public:
    double apply(double x) const override { return std::tanh(x); }
    Expr apply(Expr x) const override { return Halide::tanh(x); }
    Expr input_gradient(Expr, Expr y, Expr g, const Op&) const override { return g * (one(y.type()) - y * y); }
};

Expr constant(Halide::Type type, double v) { return Halide::cast(type, Expr(v)); }
// min(max(x, lo), hi) that keeps a NaN (x86's max and min drop it).
Expr clip(Expr x, double lo, double hi) {
    return Halide::select(is_nan_bits(x), x, Halide::clamp(x, constant(x.type(), lo), constant(x.type(), hi)));
}

class ReLU6 final : public Activation {
public:
    double apply(double x) const override { return std::min(std::max(x, 0.0), 6.0); }
    Expr apply(Expr x) const override { return clip(x, 0, 6); }
    Expr input_gradient(Expr x, Expr, Expr g, const Op&) const override {
        return Halide::select(x > zero(x.type()) && x < constant(x.type(), 6), g, zero(g.type()));
    }
};

class HardSigmoid final : public Activation {
public:
    double apply(double x) const override { return std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0; }
    Expr apply(Expr x) const override { return clip(x + constant(x.type(), 3), 0, 6) / constant(x.type(), 6); }
    Expr input_gradient(Expr x, Expr, Expr g, const Op&) const override {
        return Halide::select(x > constant(x.type(), -3) && x < constant(x.type(), 3), g / constant(g.type(), 6), zero(g.type()));
    }
};

class HardSwish final : public Activation {
public:
    double apply(double x) const override { return x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0; }
    Expr apply(Expr x) const override { return x * clip(x + constant(x.type(), 3), 0, 6) / constant(x.type(), 6); }
    // PyTorch's hardswish_backward: 0 below -3, 1 above 3 (both strict), (2x + 3) / 6 between, ends included.
    Expr input_gradient(Expr x, Expr, Expr g, const Op&) const override {
        const Halide::Type t = x.type();
        return Halide::select(x < constant(t, -3), zero(g.type()), x <= constant(t, 3),
                              g * (constant(t, 2) * x + constant(t, 3)) / constant(t, 6), g);
    }
};

// Whether x is -infinity, tested on its bits (is_nan_bits says why).
Expr is_negative_infinity_bits(const Expr& x) {
    const bool wide = x.type().bits() == 64;
    const Halide::Type bits = Halide::UInt(wide ? 64 : 32);
    return Halide::reinterpret(bits, x) == Halide::cast(bits, Expr(wide ? std::uint64_t(0xfff0000000000000ull) : std::uint64_t(0xff800000u)));
}

// sigmoid(x) with exp's argument kept finite (Sigmoid's guard).
Expr logistic(Expr x) {
    Expr bounded = Halide::clamp(x, constant(x.type(), -88), constant(x.type(), 88));
    return one(x.type()) / (one(x.type()) + Halide::exp(-bounded));
}

class SiLU final : public Activation {
public:
    double apply(double x) const override { return x / (1.0 + std::exp(-x)); }
    // PyTorch's x / (1 + exp(-x)) is NaN at -infinity (-inf / inf); x sigmoid(x) would give -inf.
    Expr apply(Expr x) const override {
        return Halide::select(is_nan_bits(x) || is_negative_infinity_bits(x), Halide::cast(x.type(), Expr(std::nan(""))), x * logistic(x));
    }
    Expr input_gradient(Expr x, Expr, Expr g, const Op&) const override {
        Expr s = logistic(x);
        return g * s * (one(x.type()) + x * (one(x.type()) - s));
    }
};

// erf in double: std::erf. In Halide, Abramowitz and Stegun's 7.1.26 is 1.5e-7 off, too coarse
// for float64 gradient checks; erf(x) = 1 - erfc(x) by Numerical Recipes' Chebyshev fit of erfc
// (erfcc: fractional error below 1.2e-7) is no better. So the float64 pipelines use the series
// below, the float ones Halide's own float erf (Halide::erf: 1 ulp-ish in float).
class GELU final : public Activation {
public:
    double apply(double x) const override { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
    Expr apply(Expr x) const override {
        const Halide::Type t = x.type();
        return Halide::select(is_nan_bits(x), x, constant(t, 0.5) * x * (one(t) + erf(x * constant(t, 1.0 / std::sqrt(2.0)))));
    }
    Expr input_gradient(Expr x, Expr, Expr g, const Op&) const override {
        const Halide::Type t = x.type();
        Expr cdf = constant(t, 0.5) * (one(t) + erf(x * constant(t, 1.0 / std::sqrt(2.0))));
        Expr pdf = Halide::exp(constant(t, -0.5) * x * x) * constant(t, 1.0 / std::sqrt(2.0 * M_PI));
        return g * (cdf + x * pdf);
    }

private:
    static Expr erf(Expr z) {
        if (z.type().bits() == 32) return Halide::erf(z);
        // Float64: erf(z) = 2/sqrt(pi) sum_k (-1)^k z^(2k+1) / (k! (2k+1)) for |z| < 3 (terms to
        // k = 60: the series' cancellation leaves 1e-12 at |z| = 3), and 1 - erfc's continued
        // fraction beyond (12 terms: below 1e-13 at |z| = 3), the sign restored.
        const Halide::Type t = z.type();
        Expr a = Halide::abs(z);
        Expr a_small = Halide::min(a, constant(t, 3));
        Expr term = a_small, sum = a_small, z2 = a_small * a_small;
        for (int k = 1; k <= 60; ++k) {
            term = -term * z2 / constant(t, k);
            sum = sum + term / constant(t, 2 * k + 1);
        }
        Expr series = sum * constant(t, 2.0 / std::sqrt(M_PI));
        Expr a_large = Halide::max(a, constant(t, 3));
        Expr fraction = a_large;
        for (int k = 12; k >= 1; --k) fraction = a_large + constant(t, k / 2.0) / fraction;
        Expr tail = one(t) - Halide::exp(-a_large * a_large) / (fraction * constant(t, std::sqrt(M_PI)));
        Expr magnitude = Halide::select(a < constant(t, 3), series, tail);
        return Halide::select(z < zero(t), -magnitude, magnitude);
    }
};

class LeakyReLU final : public Activation {
public:
    double apply(double x) const override { return x; }
    Expr apply(Expr x) const override { return x; }
    double apply(double x, const Op& op) const override { return x >= 0 ? x : double(op.spec.slope) * x; }
    Expr apply(Expr x, const Op& op) const override {
        return Halide::select(x >= zero(x.type()), x, x * constant(x.type(), double(op.spec.slope)));
    }
    Expr input_gradient(Expr x, Expr, Expr g, const Op& op) const override {
        return Halide::select(x > zero(x.type()), g, g * constant(g.type(), double(op.spec.slope)));
    }
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
const OpCompiler& relu6_op() {
    static const ReLU6 compiler;
    return compiler;
}
const OpCompiler& hard_sigmoid_op() {
    static const HardSigmoid compiler;
    return compiler;
}
const OpCompiler& hard_swish_op() {
    static const HardSwish compiler;
    return compiler;
}
const OpCompiler& silu_op() {
    static const SiLU compiler;
    return compiler;
}
const OpCompiler& gelu_op() {
    static const GELU compiler;
    return compiler;
}
const OpCompiler& leaky_relu_op() {
    static const LeakyReLU compiler;
    return compiler;
}

}  // namespace snc::halide
