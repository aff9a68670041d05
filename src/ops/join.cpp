// The joins of the blocks (layers/block.hpp): the residual add, the concat, the gate.
//   add     body(x) + shortcut(x). At inference it joins the conv stage before it, or is a stage
//           of its own; its adjoint gives the gradient to both branches.
//   concat  out(c) = branch k's channel c - offset_k, offset_k the channels of the branches
//           before k. At inference a stage of its own that copies each branch into its channels
//           (one update per branch, the fused activation applied in each); in training a select
//           over the branches. Each branch's gradient is its slice of the output's.
//   gate    out(c, x, y, n) = in(c, x, y, n) * gate(c, n) (or gate(c, 0, 0, n)); its adjoints:
//           d in = g * gate, d gate(c, n) = sum over x, y of g * in.
#include "op.hpp"

namespace snc::halide {

namespace {

class Add final : public OpCompiler {
public:
    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict&) const override {
        reference::Values out = values[std::size_t(op.input)];
        const reference::Values& other = values[std::size_t(op.joined[0])];
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
        out(args) = t.value(op.input)(args) + t.value(op.joined[0])(args);
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        const Op& op = t.op(i);
        t.add_gradient(op.input, g);
        t.add_gradient(op.joined[0], g);
    }
};

class Concat final : public OpCompiler {
public:
    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict&) const override {
        reference::Values out(std::size_t(op.out.elements()));
        const std::int64_t pixels = op.out.elements() / op.out.c();
        std::int64_t offset = 0;
        for (int value : op.inputs()) {
            const reference::Values& branch = values[std::size_t(value)];
            const std::int64_t channels = std::int64_t(branch.size()) / pixels;
            for (std::int64_t p = 0; p < pixels; ++p)
                for (std::int64_t c = 0; c < channels; ++c)
                    out[std::size_t(p * op.out.c() + offset + c)] = branch[std::size_t(p * channels + c)];
            offset += channels;
        }
        return out;
    }

    // One copy per branch into its channels: out(offset_k + r, x, y, n) = fused(branch_k(r, x, y, n)).
    // As one select over the branches, each vector of channels gathered from every branch at
    // clamped channels: a 256 + 32 concat at 28x28 took 2.6 ms of 1 thread (the 3x3 conv making
    // the 32, 0.37 ms); as copies, a contiguous load and store per vector.
    Expr lower(StageContext& stage) const override {
        stage.funcs.pattern = Pattern::rowwise;
        const Op& op = stage.main();
        Func out = stage.funcs.output;
        const std::vector<Expr> args = stage.args(op.out);
        out(args) = Halide::undef<float>();
        int offset = 0, k = 0;
        for (int value : op.inputs()) {
            const int channels = int(stage.plan.graph.shape_of(value).c());
            RDom r(0, channels, stage.stage.name + "_branch" + std::to_string(k++));
            Expr copied = stage.value(value)(with_channel(args, r.x));
            for (std::size_t j = 1; j < stage.stage.ops.size(); ++j) {
                const Op& fused = stage.plan.op(stage.stage.ops[j]);
                copied = compiler_of(fused.spec.kind).fuse(stage, fused, copied);
            }
            out(with_channel(args, r.x + offset)) = copied;
            offset += channels;
        }
        return Expr();
    }

    void forward(TrainingContext& t, int i) const override {
        const Op& op = t.op(i);
        std::vector<Expr> args = t.args(op.out);
        Func out(t.name(i, ""));
        out(args) = joined(op, args, [&](int value) { return t.value(value); }, [&](int value) { return t.graph().shape_of(value); });
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        const Op& op = t.op(i);
        int offset = 0;
        int k = 0;
        for (int value : op.inputs()) {
            const Shape shape = t.graph().shape_of(value);
            std::vector<Expr> args = t.args(shape);
            Func slice(t.name(i, "_din" + std::to_string(k++)));
            slice(args) = g(with_channel(args, args[0] + offset));
            if (value != 0) t.add_gradient(value, t.pointwise(slice, shape));
            offset += int(shape.c());
        }
    }

private:
    // select(c < end_0, branch_0(c), c < end_1, branch_1(c - end_0), ...), each branch read at a
    // channel clamped into its own range, so that bounds inference asks no branch for more.
    template <class ValueOf, class ShapeOf>
    static Expr joined(const Op& op, const std::vector<Expr>& args, ValueOf&& value_of, ShapeOf&& shape_of) {
        const Expr c = args[0];
        std::vector<Expr> reads, ends;
        int offset = 0;
        for (int value : op.inputs()) {
            const int channels = int(shape_of(value).c());
            reads.push_back(value_of(value)(with_channel(args, Halide::clamp(c - offset, 0, channels - 1))));
            offset += channels;
            ends.push_back(c < offset);
        }
        Expr joined = reads.back();
        for (std::size_t k = reads.size() - 1; k-- > 0;) joined = Halide::select(ends[k], reads[k], joined);
        return joined;
    }
};

class Gate final : public OpCompiler {
public:
    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict&) const override {
        reference::Values out = values[std::size_t(op.input)];
        const reference::Values& gate = values[std::size_t(op.joined[0])];  // (N, C) in memory either way
        const std::int64_t channels = op.out.c(), per_image = op.out.elements() / op.out.n();
        for (std::size_t k = 0; k < out.size(); ++k) {
            const std::int64_t n = std::int64_t(k) / per_image, c = std::int64_t(k) % channels;
            out[k] *= gate[std::size_t(n * channels + c)];
        }
        return out;
    }

    Expr lower(StageContext& stage) const override {
        stage.funcs.pattern = Pattern::rowwise;
        const Op& op = stage.main();
        const std::vector<Expr> args = stage.args(op.out);
        return stage.value(op.input)(args) * stage.value(op.joined[0])(gate_args(stage.plan.graph.shape_of(op.joined[0]), args));
    }

    void forward(TrainingContext& t, int i) const override {
        const Op& op = t.op(i);
        const std::vector<Expr> args = t.args(op.out);
        t.reread(t.value(op.joined[0]));  // once per pixel
        Func out(t.name(i, ""));
        out(args) = t.value(op.input)(args) * t.value(op.joined[0])(gate_args(t.graph().shape_of(op.joined[0]), args));
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        const Op& op = t.op(i);
        const Shape gate_shape = t.graph().shape_of(op.joined[0]);
        const std::vector<Expr> args = t.args(op.out);
        Func gate = t.value(op.joined[0]), in = t.value(op.input);
        if (t.needs_input_gradient(i)) {
            Func din(t.name(i, "_din"));
            din(args) = g(args) * gate(gate_args(gate_shape, args));
            t.add_gradient(op.input, t.pointwise(din, op.in));
        }
        // d gate(c, n) = sum over the pixels of g * in.
        Training& f = t.funcs();
        Func dgate(t.name(i, "_dgate"));
        const std::vector<Expr> gate_at = t.args(gate_shape);
        if (op.out.is_image()) {
            RDom r(0, int(op.out.w()), 0, int(op.out.h()), t.name(i, "_dgate_r"));
            Func sum(t.name(i, "_dgate_sum"));
            sum(f.c, f.n) = t.real(0);
            sum(f.c, f.n) += g(f.c, r.x, r.y, f.n) * in(f.c, r.x, r.y, f.n);
            f.reductions.push_back({sum, Shape{op.out.n(), op.out.c()}});
            dgate(gate_at) = sum(f.c, f.n);
        } else {
            dgate(gate_at) = g(f.c, f.n) * in(f.c, f.n);
        }
        t.add_gradient(op.joined[0], t.pointwise(dgate, gate_shape));
    }

private:
    // The gate's coordinates for the output's `args`: (c, n), or (c, 0, 0, n).
    static std::vector<Expr> gate_args(const Shape& gate, const std::vector<Expr>& args) {
        if (gate.is_image()) return {args[0], 0, 0, args.back()};
        return {args[0], args.back()};
    }
};

}  // namespace

const OpCompiler& add_op() {
    static const Add compiler;
    return compiler;
}
const OpCompiler& concat_op() {
    static const Concat compiler;
    return compiler;
}
const OpCompiler& gate_op() {
    static const Gate compiler;
    return compiler;
}

}  // namespace snc::halide
