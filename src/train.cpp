// The training step's algorithm, per segment: the forward pass in training mode, the loss, the
// backward pass, and the flat outputs. Each op's forward and backward come from its file
// (src/ops/); this file walks the segment and keeps the books: values, gradient contributions,
// the parameter gradients' and batch statistics' places in the flat buffers.
#include <snc/halide/train.hpp>

#include "ops/op.hpp"

namespace snc::halide {

TrainingContext::TrainingContext(const TrainingLayout& layout, const Segment& segment, SegmentInputs inputs,
                                 Halide::Type real)
    : graph_(layout.graph), segment_(segment), in_(std::move(inputs)), readers_(layout.graph.readers()) {
    t_.layout = &layout;
    t_.segment = segment;
    t_.real = real;
}

std::vector<Var> TrainingContext::vars(const Shape& shape) const {
    return shape.is_image() ? std::vector<Var>{t_.c, t_.x, t_.y, t_.n} : std::vector<Var>{t_.c, t_.n};
}

std::vector<Expr> TrainingContext::args(const Shape& shape) const {
    std::vector<Var> v = vars(shape);
    return {v.begin(), v.end()};
}

std::string TrainingContext::name(int op, const std::string& what) const {
    return "t" + std::to_string(op) + "_" + std::string(op_kind_name(graph_.ops[std::size_t(op)].spec.kind)) + what;
}

Expr TrainingContext::parameter(int op, int slot, const std::vector<Expr>& coordinates) const {
    const TrainingLayout& layout = *t_.layout;
    const Layout packed = tensor_layout(graph_.ops[std::size_t(op)], slot, layout.packing).packed;
    return in_.parameters(int(layout.parameter(op, slot).offset) + packed.offset(coordinates.data()));
}

Func TrainingContext::channel_sum(const std::string& name, const Shape& s, const std::function<Expr(Expr, Expr, Expr, Expr)>& term) {
    Func sum(name);
    sum(t_.c) = real(0);
    if (s.is_image()) {
        RDom r(0, int(s.w()), 0, int(s.h()), 0, int(s.n()), name + "_r");
        sum(t_.c) += term(t_.c, r.x, r.y, r.z);
    } else {
        RDom r(0, int(s.n()), name + "_r");
        sum(t_.c) += term(t_.c, Expr(), Expr(), r.x);
    }
    t_.per_channel.push_back({sum, int(s.c()), s.is_image() ? int(s.n()) : 0, s.is_image() ? int(s.w()) : 0});
    return sum;
}

void TrainingContext::set_batch_statistics(int op, Func mean, Func variance) {
    t_.batch_mean[std::size_t(op)] = std::move(mean);
    t_.batch_variance[std::size_t(op)] = std::move(variance);
}

Func TrainingContext::across_processes(const Func& local, int op, int sum) {
    if (!in_.synchronizable) return local;
    // The forward sums of a backward pass that follows its own forward pass (every segment but
    // the last) are a replay: the forward pass communicated them.
    const bool replay = pass_ == SegmentPass::backward && !in_backward_ && segment_.last != int(graph_.ops.size());
    Func averaged(local.name() + "_across");
    averaged.define_extern("snc_collective_mean", {Expr(4 * op + sum), Expr(replay ? 1 : 0), local}, t_.real, 1,
                           Halide::NameMangling::C);
    t_.across_processes.push_back(averaged);
    return averaged;
}

Training TrainingContext::build(SegmentPass pass) {
    pass_ = pass;
    forward();
    if (pass == SegmentPass::backward) {
        in_backward_ = true;
        if (segment_.last == int(graph_.ops.size())) loss();
        backward();
    }
    outputs();
    if (pass == SegmentPass::forward) {
        for (int value : in_.kept_convs) t_.conv_outputs.push_back(t_.values[std::size_t(value)]);
        t_.output = t_.values[std::size_t(segment_.output())];
        bool placed = false;  // a conv's or a dense's output is placed as such
        for (const ConvFuncs& conv : t_.convs) placed = placed || conv.output.name() == t_.output.name();
        for (const TileFuncs& tiles : t_.tiles) placed = placed || tiles.output.name() == t_.output.name();
        for (Pointwise& p : t_.pointwise)
            if (p.func.name() == t_.output.name()) p.output = placed = true;
        if (!placed) {
            t_.pointwise.push_back({t_.output, graph_.shape_of(segment_.output())});
            t_.pointwise.back().output = true;
        }
    }
    // The facts the ops gave, onto the Funcs the schedule decides for.
    for (Pointwise& p : t_.pointwise) {
        p.shared = p.shared || shared_.count(p.func.name()) > 0;
        p.reread = p.reread || reread_.count(p.func.name()) > 0;
    }
    return std::move(t_);
}

void TrainingContext::forward() {
    t_.values.assign(graph_.ops.size() + 1, Func());
    t_.values[std::size_t(segment_.input())] = in_.input;
    t_.batch_mean.resize(graph_.ops.size());
    t_.batch_variance.resize(graph_.ops.size());
    for (int i = segment_.first; i < segment_.last; ++i) {
        compiler_of(graph_.ops[std::size_t(i)].spec.kind).forward(*this, i);
        // A value read by two ops (a residual block's output feeds the next block's body and its
        // shortcut) is a join: inlined, each block would carry every block before it.
        if (readers_[std::size_t(i + 1)] > 1) shared(t_.values[std::size_t(i + 1)]);
    }
}

// loss = mean over the batch of log(sum_u exp(z_u)) - z_label; d loss / d z = (softmax(z) - onehot) / N
void TrainingContext::loss() {
    Var c = t_.c, n = t_.n;
    Func z = t_.values[std::size_t(graph_.output)];
    const Shape out = graph_.shape_of(graph_.output);
    const int classes = int(out.c()), batch = int(out.n());
    RDom classes_r(0, classes, "classes"), batch_r(0, batch, "batch");
    Func label("label"), top("top"), log_sum_exp("log_sum_exp"), predicted("predicted");
    label(n) = Halide::clamp(in_.labels(n), 0, classes - 1);
    top(n) = Halide::maximum(z(classes_r, n));
    log_sum_exp(n) = top(n) + Halide::log(Halide::sum(Halide::exp(z(classes_r, n) - top(n))));
    predicted(n) = Halide::argmax(z(classes_r, n))[0];
    for (Func f : {top, log_sum_exp, predicted}) t_.scalars.push_back(f);
    t_.batch = batch;
    t_.loss = Func("loss");
    t_.loss() = Halide::sum(log_sum_exp(batch_r) - z(label(batch_r), batch_r)) / real(batch);
    t_.correct = Func("correct");
    t_.correct() = Halide::sum(Halide::select(predicted(batch_r) == label(batch_r), 1, 0));
    t_.scalars.push_back(t_.loss);
    t_.scalars.push_back(t_.correct);
    logit_gradient_ = Func("logit_gradient");
    logit_gradient_(c, n) = (Halide::exp(z(c, n) - log_sum_exp(n)) - Halide::select(c == label(n), real(1), real(0))) / real(batch);
    pointwise(logit_gradient_, out);
}

// d loss / d `value`: its one contribution, or the sum of several (a value read twice: a block's
// input feeds its body and its shortcut), which is a join like the forward's.
Func TrainingContext::gradient_of(int value, const Shape& shape) {
    const std::vector<Func>& parts = contributions_[std::size_t(value)];
    if (parts.size() == 1) return parts.front();
    std::vector<Expr> at = args(shape);
    Func g("v" + std::to_string(value) + "_gradient");
    Expr total = parts[0](at);
    for (std::size_t k = 1; k < parts.size(); ++k) total += parts[k](at);
    g(at) = total;
    shared(pointwise(g, shape));
    return g;
}

void TrainingContext::backward() {
    contributions_.assign(t_.values.size(), {});
    if (segment_.last == int(graph_.ops.size())) add_gradient(graph_.output, logit_gradient_);
    else add_gradient(segment_.output(), in_.output_gradient);
    for (int i = segment_.last - 1; i >= segment_.first; --i) {
        const Op& op = graph_.ops[std::size_t(i)];
        if (contributions_[std::size_t(i + 1)].empty()) continue;  // nothing downstream reaches the loss
        compiler_of(op.spec.kind).backward(*this, i, gradient_of(i + 1, op.out));
    }
    if (segment_.input() > 0) {
        const Shape shape = graph_.shape_of(segment_.input());
        std::vector<Expr> at = args(shape);
        Expr total = real(0);
        for (const Func& part : contributions_[std::size_t(segment_.input())]) total += part(at);
        t_.input_gradient = Func("input_gradient");
        t_.input_gradient(at) = total;
        t_.pointwise.push_back({t_.input_gradient, shape});
        t_.pointwise.back().output = true;
    }
}

// The flat outputs: the parameter gradients and the batch statistics over the segment's ranges of
// their buffers, one update per tensor, each element written at its packed place.
void TrainingContext::outputs() {
    const TrainingLayout& layout = *t_.layout;
    Var i = t_.i;
    if (!contributions_.empty()) {
        t_.parameter_gradients = Func("parameter_gradients");
        t_.parameter_gradients(i) = real(0);  // the alignment gaps between tensors
        for (const TrainingTensor& tensor : layout.parameters) {
            if (tensor.op < segment_.first || tensor.op >= segment_.last) continue;
            const Layout packed = tensor_layout(graph_.ops[std::size_t(tensor.op)], tensor.slot, layout.packing).packed;
            RDom r(0, int(tensor.elements), "gradient_" + identifier(tensor.name));
            std::vector<Expr> coordinates(std::size_t(packed.rank));
            packed.coordinates(Expr(r.x), coordinates.data());
            t_.parameter_gradients(int(tensor.offset) + r) = tensor_gradients_.at({tensor.op, tensor.slot})(coordinates);
        }
        t_.flat_outputs.emplace_back(t_.parameter_gradients, range_of(layout.parameters, segment_));
        if (segment_.last == int(graph_.ops.size())) {
            t_.loss_stats = Func("loss_stats");
            t_.loss_stats(i) = Halide::select(i == 0, t_.loss(), Halide::cast(t_.real, t_.correct()));
        }
    }
    // Each batch statistic where the running statistic it updates sits.
    t_.batch_statistics = Func("batch_statistics");
    t_.batch_statistics(i) = real(0);
    for (const TrainingTensor& tensor : layout.statistics) {
        if (tensor.op < segment_.first || tensor.op >= segment_.last) continue;
        const bool mean = graph_.ops[std::size_t(tensor.op)].tensors.items[tensor.slot].role == TensorRole::running_mean;
        Func batch = mean ? t_.batch_mean[std::size_t(tensor.op)] : t_.batch_variance[std::size_t(tensor.op)];
        RDom r(0, int(tensor.elements), "statistics_" + identifier(tensor.name));
        t_.batch_statistics(int(tensor.offset) + r) = batch(r);
    }
    t_.flat_outputs.emplace_back(t_.batch_statistics, range_of(layout.statistics, segment_));
}

Training lower_training_segment(const TrainingLayout& layout, const Segment& segment, SegmentPass pass,
                                SegmentInputs inputs, Halide::Type real) {
    return TrainingContext(layout, segment, std::move(inputs), real).build(pass);
}

}  // namespace snc::halide
