// What each op kind contributes to the compiler, and what the compiler offers it.
//
// One file per layer family in this folder (conv.cpp and grouped_conv.cpp, dense.cpp, norm.cpp,
// activation.cpp, pool.cpp, join.cpp, channel.cpp, ...: a header of include/snc/layers/ each, the
// convs two) holds everything that is each of its ops' own: its reference loops (the definition
// the tests check against), its inference lowering, its forward pass in training mode and its
// adjoints. The drivers (src/lower.cpp,
// src/train.cpp, src/reference.cpp) only walk the plan or the graph and dispatch here through
// compiler_of(kind); the table behind it is made from SNC_OP_KINDS (layers/layer.hpp). No file
// here makes a target's choice: what is stored and how loops run is the schedules' (src/schedule/).
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <Halide.h>

#include <snc/halide/lower.hpp>
#include <snc/halide/train.hpp>
#include <snc/reference.hpp>

namespace snc::halide {

using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Var;

// Inference: the stage being lowered.
struct StageContext {
    Lowered& lowered;
    const Plan& plan;
    const Stage& stage;
    StageFuncs& funcs;

    const Op& main() const { return plan.main_op(stage); }
    Func value(int v) const { return lowered.value(v); }
    std::vector<Var> vars(const Shape& shape) const { return lowered.vars(shape); }
    std::vector<Expr> args(const Shape& shape) const {
        std::vector<Var> v = vars(shape);
        return {v.begin(), v.end()};
    }
    // The stage's folded weight at PyTorch's coordinates of its main op's weight, and its bias (or a
    // lone batch norm's scale and shift) of output unit (or feature) `unit`.
    Expr weight(const std::vector<Expr>& coordinates) const {
        const Layout packed = tensor_layout(main(), 0, plan.packing).packed;
        return lowered.weights(int(stage.weight_offset) + packed.offset(coordinates.data()));
    }
    Expr scale(Expr unit) const { return lowered.weights(int(stage.weight_offset) + unit); }
    Expr bias(Expr unit) const { return lowered.weights(int(stage.bias_offset) + unit); }
};

// Training: the segment being lowered (src/train.cpp builds it; the op files call it).
class TrainingContext {
public:
    TrainingContext(const TrainingLayout& layout, const Segment& segment, SegmentInputs inputs, Halide::Type real);
    Training build(SegmentPass pass);

    // The graph and the Funcs built so far.
    Training& funcs() { return t_; }
    const Graph& graph() const { return graph_; }
    const Op& op(int i) const { return graph_.ops[std::size_t(i)]; }
    Expr real(double v) const { return Halide::cast(t_.real, Expr(v)); }
    std::vector<Var> vars(const Shape& shape) const;
    std::vector<Expr> args(const Shape& shape) const;
    std::string name(int op, const std::string& what) const;
    Func value(int v) const { return t_.values[std::size_t(v)]; }
    // The image `value` is the Flatten of, when that Flatten is in this segment (Graph::flattened_image).
    int flattened_image(int value) const {
        return value - 1 >= segment_.first ? graph_.flattened_image(value) : -1;
    }
    void define_value(int op, Func f) { t_.values[std::size_t(op + 1)] = std::move(f); }

    // A parameter of the segment at PyTorch's coordinates of its tensor, read from the packed buffer.
    Expr parameter(int op, int slot, const std::vector<Expr>& coordinates) const;
    Expr seed() const { return in_.seed; }

    // Facts for the schedule, and things it places.
    void reread(const Func& f) { reread_.insert(f.name()); }  // read many times per output
    void shared(const Func& f) { shared_.insert(f.name()); }  // the join of paths: never recomputed per path
    Func pointwise(Func f, const Shape& shape) {               // an element-wise Func worth a decision
        t_.pointwise.push_back({f, shape});
        return f;
    }
    // The sum over every pixel of a channel, term(c, x, y, n) (or term(c, n) for features: x, y undefined).
    Func channel_sum(const std::string& name, const Shape& shape, const std::function<Expr(Expr, Expr, Expr, Expr)>& term);
    Func per_channel(Func f, int channels) {
        t_.per_channel.push_back({f, channels, 0});
        return f;
    }
    void set_batch_statistics(int op, Func mean, Func variance);
    // A per-channel sum of `op`'s, averaged over the processes of a data-parallel job when the
    // batch norm is synchronized (runtime/collective.hpp), else `local` itself. `sum` tells the
    // op's sums apart (0..3); the backward pass's recomputed forward replays the forward pass's.
    Func across_processes(const Func& local, int op, int sum);
    // Forward Funcs an op keeps for its own backward pass ("normalized", "argmax", ...).
    Func& saved(int op, const std::string& what) { return saved_[{op, what}]; }
    // The backward pass: op's output as the forward pass kept it (a conv's), or an undefined Func.
    Func kept_output(int op) const {
        for (std::size_t k = 0; k < in_.conv_outputs.size(); ++k)
            if (in_.kept_convs[k] == op + 1) return in_.conv_outputs[k];
        return {};
    }

    // Backward: d loss / d `value` is the sum of its readers' contributions.
    void add_gradient(int value, Func contribution) { contributions_[std::size_t(value)].push_back(std::move(contribution)); }
    bool needs_input_gradient(int op) const { return graph_.ops[std::size_t(op)].input != 0; }  // the images need none
    // d loss / d tensor `slot` of `op`, as a function of PyTorch's coordinates of that tensor.
    void set_tensor_gradient(int op, int slot, std::function<Expr(const std::vector<Expr>&)> gradient) {
        tensor_gradients_[{op, slot}] = std::move(gradient);
    }

private:
    void forward();
    void loss();
    void backward();
    void outputs();
    Func gradient_of(int value, const Shape& shape);

    const Graph& graph_;
    Segment segment_;
    SegmentInputs in_;
    SegmentPass pass_ = SegmentPass::forward;
    bool in_backward_ = false;  // building the backward pass's own Funcs (after the recomputed forward)
    std::vector<int> readers_;
    Training t_;
    std::map<std::pair<int, std::string>, Func> saved_;
    std::map<std::pair<int, int>, std::function<Expr(const std::vector<Expr>&)>> tensor_gradients_;
    std::vector<std::vector<Func>> contributions_;
    std::set<std::string> reread_, shared_;
    Func logit_gradient_;
};

class OpCompiler {
public:
    virtual ~OpCompiler() = default;

    // The definition at inference, in double loops over NHWC arrays, with PyTorch's tensors as they
    // come (no folding): values[v] is value v of the graph.
    virtual reference::Values reference(const Op& op, const std::vector<reference::Values>& values,
                                        const StateDict& tensors) const = 0;
    // Inference, as the main op of a stage: its value at the stage's Vars, before the ops fused
    // after it. Sets the stage's pattern and the Funcs it defines (accumulator, padded input). Or
    // it defines stage.funcs.output itself, the fused ops included, and returns no Expr.
    virtual Expr lower(StageContext& stage) const;
    // Inference, fused into a stage after its main op: the value after this op.
    virtual Expr fuse(StageContext& stage, const Op& op, Expr value) const;
    // Training: defines value op + 1 in training mode.
    virtual void forward(TrainingContext& t, int op) const = 0;
    // Training: from d loss / d the op's output, d loss / d its input (add_gradient) and its
    // parameters' gradients (set_tensor_gradient).
    virtual void backward(TrainingContext& t, int op, Func gradient) const = 0;
};

const OpCompiler& compiler_of(OpKind kind);

// The ops that are a per-channel affine map at inference (batch norm with its running statistics,
// layer scale: weights.hpp's batch_norm_folding gives both): folded into the conv or dense before
// them at pack time, else a stage y = scale x + shift of the packed scale and shift.
class PerChannelAffine : public OpCompiler {
public:
    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict& tensors) const override;
    Expr lower(StageContext& stage) const override;
    Expr fuse(StageContext&, const Op&, Expr value) const override { return value; }  // folded into the weights
};

// Each op file's entry: conv_op(), dense_op(), ..., one per line of SNC_OP_KINDS.
#define SNC_DECLARE_OP_COMPILER(kind) const OpCompiler& kind##_op();
SNC_OP_KINDS(SNC_DECLARE_OP_COMPILER)
#undef SNC_DECLARE_OP_COMPILER

// Whether x is a NaN, tested on its bits. Halide compiles float arithmetic with LLVM's no-NaNs
// flag (unless the target has strict_float), so LLVM folds is_nan() of a computed value (a conv's
// accumulator) to false; a test of the bits as integers is kept. Measured: a ReLU fused after a
// conv dropped every NaN with is_nan(), none with this. snc keeps NaNs where PyTorch does.
inline Expr is_nan_bits(const Expr& x) {
    const bool wide = x.type().bits() == 64;
    const Halide::Type bits = Halide::UInt(wide ? 64 : 32);
    const Expr magnitude = Halide::reinterpret(bits, x) & Halide::cast(bits, Expr(wide ? std::int64_t(0x7fffffffffffffff) : std::int64_t(0x7fffffff)));
    return magnitude > Halide::cast(bits, Expr(wide ? std::int64_t(0x7ff0000000000000) : std::int64_t(0x7f800000)));
}

// Shared by the normalizations (batch norm, layer norm), y = gamma x^ + beta per channel: the
// gradients of gamma (slot 0) and beta (slot 1) from d loss / d y, summed over every pixel.
void set_affine_gradients(TrainingContext& t, int op, const Func& gradient, const Func& normalized);

// A value's coordinates `args` ((c, x, y, n) or (c, n)) with channel `c` in place of theirs: the
// channel ops and the concat read another channel of the same pixel.
inline std::vector<Expr> with_channel(std::vector<Expr> args, Expr c) {
    args[0] = std::move(c);
    return args;
}

// Shared by the windowed ops (conv and the pools): the input with a `fill` border where windows
// reach past it.
Func padded_input(const Func& in, const Shape& shape, Expr fill, const std::string& name);

}  // namespace snc::halide
