// Dropout and StochasticDepth (layers/dropout.hpp): the identity at inference (the plan drops
// them). Dropout in training
//   out = in * (keep ? 1 / (1 - rate) : 0),   d in = d out * (keep ? 1 / (1 - rate) : 0)
// (a product, as PyTorch's: a NaN stays NaN where it is dropped)
// with keep drawn per element from a counter-based generator of (the step's seed, the layer, the
// element): the backward pass redraws the forward pass's mask rather than storing it.
// StochasticDepth the same with one draw per sample (the element is the image's index).
#include <cmath>

#include "op.hpp"

namespace snc::halide {

namespace {

Expr u32(std::uint32_t value) { return Halide::cast<std::uint32_t>(Expr(std::int64_t(value))); }

// Chris Wellons' lowbias32: a bijective 32-bit mixer whose output bits each flip with probability
// close to 1/2 when any input bit does.
Expr mix(Expr h) {
    h = h ^ (h >> 16);
    h = h * u32(0x7feb352du);
    h = h ^ (h >> 15);
    h = h * u32(0x846ca68bu);
    return h ^ (h >> 16);
}

class Dropout final : public OpCompiler {
public:
    explicit Dropout(bool per_sample) : per_sample_(per_sample) {}

    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict&) const override {
        return values[std::size_t(op.input)];  // the identity at inference
    }

    void forward(TrainingContext& t, int i) const override {
        const Op& op = t.op(i);
        std::vector<Expr> args = t.args(op.out);
        Func out(t.name(i, ""));
        out(args) = t.value(op.input)(args) * Halide::select(kept(t, i), t.real(1.0 / (1.0 - double(op.spec.rate))), t.real(0));
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        if (!t.needs_input_gradient(i)) return;
        const Op& op = t.op(i);
        std::vector<Expr> args = t.args(op.out);
        Func din(t.name(i, "_din"));
        din(args) = g(args) * Halide::select(kept(t, i), t.real(1.0 / (1.0 - double(op.spec.rate))), t.real(0));
        t.add_gradient(op.input, t.pointwise(din, op.in));
    }

private:
    // Whether the element at the op's output coordinates survives: a uniform 32-bit draw at or
    // above rate * 2^32. The element is its index in the value's NHWC (or NF) memory.
    Expr kept(TrainingContext& t, int i) const {
        const Op& op = t.op(i);
        const Training& f = t.funcs();
        const Expr element = per_sample_         ? Expr(f.n)
                             : op.out.is_image() ? image_layout(op.out)(Expr(f.n), Expr(f.c), Expr(f.y), Expr(f.x))
                                                 : image_layout(op.out)(Expr(f.n), Expr(f.c));
        const Expr stream = mix(t.seed() + u32(std::uint32_t(i) * 0x9E3779B9u));
        const Expr draw = mix(Halide::cast<std::uint32_t>(element) * u32(0x85EBCA6Bu) + stream);
        const double threshold = std::ldexp(double(op.spec.rate), 32);
        return draw >= u32(std::uint32_t(std::min(threshold, 4294967295.0)));
    }
    bool per_sample_;
};

}  // namespace

const OpCompiler& dropout_op() {
    static const Dropout compiler(false);
    return compiler;
}
const OpCompiler& stochastic_depth_op() {
    static const Dropout compiler(true);
    return compiler;
}

}  // namespace snc::halide
