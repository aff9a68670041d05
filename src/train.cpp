// The training step's algorithm, per segment: forward in training mode, loss, written adjoints.
#include <snc/halide/train.hpp>

#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>

namespace snc::halide {

using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Var;

namespace {

bool has_padding(const Window& w) { return w.pad_top || w.pad_left || w.pad_bottom || w.pad_right; }

class Builder {
public:
    Builder(const TrainingLayout& layout, const Segment& segment, SegmentInputs inputs, Halide::Type real)
        : graph_(layout.graph), segment_(segment), in_(std::move(inputs)), readers_(layout.graph.readers()) {
        t_.layout = &layout;
        t_.segment = segment;
        t_.real = real;
    }

    Training build(SegmentPass pass) {
        forward();
        if (pass == SegmentPass::forward) {
            t_.output = t_.values[std::size_t(segment_.output())];
            if (!stored_.count(t_.output.name())) stored(t_.output, graph_.shape_of(segment_.output()));
            return std::move(t_);
        }
        if (segment_.last == int(graph_.ops.size())) loss();
        backward();
        outputs();
        return std::move(t_);
    }

private:
    const Graph& graph_;
    Segment segment_;
    SegmentInputs in_;
    std::vector<int> readers_;  // per value: how many ops read it
    Training t_;
    std::map<int, Func> sources_, normalized_, inv_std_, argmax_;       // per op, for the backward pass
    std::map<std::pair<int, int>, std::function<Expr(Expr)>> tensor_gradients_;  // (op, slot) -> g(flat index)
    std::vector<std::vector<Func>> contributions_;                     // per value
    Func logit_gradient_;

    Expr real(double v) const { return Halide::cast(t_.real, Expr(v)); }
    std::vector<Var> vars(const Shape& s) const {
        return s.is_image() ? std::vector<Var>{t_.c, t_.x, t_.y, t_.n} : std::vector<Var>{t_.c, t_.n};
    }
    static std::vector<Expr> exprs(const std::vector<Var>& v) { return {v.begin(), v.end()}; }
    static Halide::Region region(const Shape& s) {
        Halide::Region r;
        for (int extent : halide_extents(s)) r.emplace_back(0, extent);
        return r;
    }
    std::string name(int op, const char* what) const {
        return "t" + std::to_string(op) + "_" + detail::op_kind_name(graph_.ops[std::size_t(op)].spec.kind) + what;
    }

    // Parameters in snc's layouts (weights.hpp), read from the packed parameter buffer.
    Expr parameter(int op, int slot, Expr flat) const {
        return in_.parameters(int(t_.layout->parameter(op, slot).offset) + flat);
    }
    Expr conv_weight(int op, Expr co, Expr ci, Expr kx, Expr ky) const {
        const Op& o = graph_.ops[std::size_t(op)];
        const int out_channels = int(o.spec.units), in_channels = int(o.in.c()), k = o.spec.window.kernel;
        return parameter(op, 0, co + out_channels * (ci + in_channels * (kx + k * ky)));
    }
    Expr dense_weight(int op, Expr unit, Expr feature) const {
        return parameter(op, 0, unit + int(graph_.ops[std::size_t(op)].spec.units) * feature);
    }

    // The sum over every pixel of a channel, term(c, x, y, n) (or term(c, n) for features). Images
    // sum each image's plane first, one image per thread, then the images: a single serial loop over
    // a batch of 128 28x28 planes took as long as the conv it normalized.
    Func channel_sum(const std::string& name, const Shape& s, const std::function<Expr(Expr, Expr, Expr, Expr)>& term) {
        Var c = t_.c, n = t_.n;
        Func sum(name);
        sum(c) = real(0);
        if (s.is_image()) {
            RDom plane(0, int(s.w()), 0, int(s.h()), name + "_plane");
            Func partial(name + "_partial");
            partial(c, n) = real(0);
            partial(c, n) += term(c, plane.x, plane.y, n);
            stored(partial, Shape{s.n(), s.c()});
            RDom images(0, int(s.n()), name + "_images");
            sum(c) += partial(c, images);
        } else {
            RDom rows(0, int(s.n()), name + "_rows");
            sum(c) += term(c, Expr(), Expr(), rows);
        }
        t_.channel_sums.emplace_back(sum, int(s.c()));
        return sum;
    }
    // A Func's value at (c, x, y, n) for images, (c, n) for features.
    static Expr at(const Func& f, const Shape& s, Expr c, Expr x, Expr y, Expr n) {
        return s.is_image() ? f(c, x, y, n) : f(c, n);
    }
    Func stored(Func f, const Shape& s) {
        t_.pointwise.emplace_back(f, s);
        stored_.insert(f.name());
        return f;
    }
    std::set<std::string> stored_;
    // Stores value v (replacing its inlined Func) unless it already is stored or is the input.
    void materialize(int v) {
        Func f = t_.values[std::size_t(v)];
        if (v == segment_.input() || stored_.count(f.name())) return;
        const Shape shape = graph_.shape_of(v);
        std::vector<Expr> args = exprs(vars(shape));
        Func copy(f.name() + "_stored");
        stored(copy, shape)(args) = f(args);
        t_.values[std::size_t(v)] = copy;
    }

    void forward();
    void loss();
    void backward();
    void outputs();

    void conv_forward(int i, Func in, Func out);
    void conv_backward(int i, Func g);
    void batch_norm_forward(int i, Func in, Func out);
    void batch_norm_backward(int i, Func g);
    void pool_backward(int i, Func g);
    void dense_backward(int i, Func g);
};

void Builder::forward() {
    Var c = t_.c, x = t_.x, y = t_.y, n = t_.n;
    t_.values.assign(graph_.ops.size() + 1, Func());
    t_.values[std::size_t(segment_.input())] = in_.input;
    t_.batch_mean.resize(graph_.ops.size());
    t_.batch_variance.resize(graph_.ops.size());
    for (std::size_t k = std::size_t(segment_.first); k < std::size_t(segment_.last); ++k) {
        const int i = int(k);
        const Op& op = graph_.ops[k];
        // Convs, dense layers and Flatten (which a dense layer reads through) read each input value
        // many times: once per output channel tile and kernel tap, once per unit. Their input is
        // stored, not recomputed: inlined, BNLeNet's sigmoids and batch norms before its second conv
        // and first dense layer were evaluated 400 and 120 times over, 26 times slower a step.
        if (op.spec.kind == OpKind::conv || op.spec.kind == OpKind::flatten ||
            (op.spec.kind == OpKind::dense && graph_.ops[std::size_t(op.input - 1 < 0 ? 0 : op.input - 1)].spec.kind != OpKind::flatten))
            materialize(op.input);
        Func in = t_.values[std::size_t(op.input)];
        Func out(name(i, ""));
        std::vector<Expr> args = exprs(vars(op.out));
        switch (op.spec.kind) {
            case OpKind::conv: conv_forward(i, in, out); break;
            case OpKind::batch_norm: batch_norm_forward(i, in, out); break;
            // Element-wise ops are inlined into their readers: a conv reads them once, through its
            // stored padded input, and the backward pass recomputes them for a few flops. Storing
            // each cost FashionCNN's step more time than its convolutions (Halide's profiler).
            case OpKind::relu: out(args) = Halide::max(in(args), real(0)); break;
            case OpKind::sigmoid: out(args) = real(1) / (real(1) + Halide::exp(-in(args))); break;
            case OpKind::tanh: out(args) = Halide::tanh(in(args)); break;
            case OpKind::add: out(args) = in(args) + t_.values[std::size_t(op.shortcut)](args); break;
            case OpKind::max_pool:
            case OpKind::avg_pool: {
                const Window& w = op.spec.window;
                bool is_max = op.spec.kind == OpKind::max_pool;
                Func source = in;
                if (has_padding(w)) {
                    Expr fill = is_max ? real(-std::numeric_limits<double>::infinity()) : real(0);
                    source = Halide::BoundaryConditions::constant_exterior(in, fill, region(op.in));
                }
                RDom r(0, w.kernel, 0, w.kernel, name(i, "_r"));
                Expr x0 = x * w.stride - w.pad_left, y0 = y * w.stride - w.pad_top;
                Expr window = source(c, x0 + r.x, y0 + r.y, n);
                if (is_max) {
                    // The window's first maximum, in row-major order as PyTorch picks it.
                    Func best(name(i, "_argmax"));
                    best(c, x, y, n) = Halide::argmax(window);
                    argmax_[i] = stored(best, op.out);
                    out(c, x, y, n) = best(c, x, y, n)[2];
                } else {
                    Expr count = op.spec.count_include_pad
                                     ? real(double(w.kernel * w.kernel))
                                     : Halide::cast(t_.real, (Halide::min(y0 + w.kernel, int(op.in.h())) - Halide::max(y0, 0)) *
                                                                 (Halide::min(x0 + w.kernel, int(op.in.w())) - Halide::max(x0, 0)));
                    out(c, x, y, n) = Halide::sum(window) / count;
                }
                break;
            }
            case OpKind::global_avg_pool: {
                RDom r(0, int(op.in.w()), 0, int(op.in.h()), name(i, "_r"));
                Func total(name(i, "_sum"));
                total(c, n) = real(0);
                total(c, n) += in(c, r.x, r.y, n);
                stored(total, op.out);
                out(c, n) = total(c, n) / real(double(op.in.w() * op.in.h()));
                break;
            }
            case OpKind::flatten:  // a reshape, inlined into its readers
                if (op.in.is_image()) {
                    const int channels = int(op.in.c()), width = int(op.in.w());
                    out(c, n) = in(c % channels, (c / channels) % width, c / (channels * width), n);
                } else {
                    out(c, n) = in(c, n);
                }
                break;
            case OpKind::dense: {
                RDom r(0, int(op.in.features()), name(i, "_r"));
                Func acc(name(i, "_acc"));
                acc(c, n) = op.spec.bias ? parameter(i, 1, c) : real(0);
                acc(c, n) += dense_weight(i, c, r) * in(r, n);
                out(c, n) = acc(c, n);
                t_.tiles.push_back({{out, acc, c, n, int(op.out.c()), int(op.out.n())}, {int(op.out.c()), int(op.out.n())}});
                stored_.insert(out.name());
                break;
            }
        }
        // A value read by two ops (a residual block's output feeds the next block's body and its
        // shortcut) is stored: inlined, each block would carry every block before it.
        const bool element_wise = op.spec.kind == OpKind::relu || op.spec.kind == OpKind::sigmoid ||
                                  op.spec.kind == OpKind::tanh || op.spec.kind == OpKind::add ||
                                  op.spec.kind == OpKind::batch_norm || op.spec.kind == OpKind::avg_pool;
        if (element_wise && readers_[std::size_t(i + 1)] > 1) stored(out, op.out);
        t_.values[k + 1] = out;
    }
}

void Builder::conv_forward(int i, Func in, Func out) {
    Var c = t_.c, x = t_.x, y = t_.y, n = t_.n;
    const Op& op = graph_.ops[std::size_t(i)];
    const Window& w = op.spec.window;
    Func source = in, padded;
    if (has_padding(w)) {
        padded = Func(name(i, "_padded"));
        padded(c, x, y, n) = Halide::BoundaryConditions::constant_exterior(in, real(0), region(op.in))(c, x, y, n);
        source = padded;
    }
    sources_[i] = source;
    RDom r(0, int(op.in.c()), 0, w.kernel, 0, w.kernel, name(i, "_r"));
    Func acc(name(i, "_acc"));
    acc(c, x, y, n) = op.spec.bias ? parameter(i, 1, c) : real(0);
    acc(c, x, y, n) += conv_weight(i, c, r.x, r.y, r.z) * source(r.x, x * w.stride + r.y - w.pad_left, y * w.stride + r.z - w.pad_top, n);
    out(c, x, y, n) = acc(c, x, y, n);
    // The padded input is read twice, by the conv and by its weight gradient: stored whole, over
    // exactly the pixels the windows reach.
    if (padded.defined())
        t_.padded_inputs.push_back({padded,
                                    {{0, int(op.in.c())},
                                     {-w.pad_left, int((op.out.w() - 1) * w.stride + w.kernel)},
                                     {-w.pad_top, int((op.out.h() - 1) * w.stride + w.kernel)},
                                     {0, int(op.in.n())}}});
    t_.convs.push_back({out, acc, Func(), r, op.in, op.out, c, x, y, n});
    stored_.insert(out.name());
}

// mu = mean, var = mean of squared deviations (biased), x^ = (x - mu) / sqrt(var + eps), y = gamma x^ + beta
void Builder::batch_norm_forward(int i, Func in, Func out) {
    const Op& op = graph_.ops[std::size_t(i)];
    const Shape s = op.in;
    const double m = double(s.is_image() ? s.n() * s.h() * s.w() : s.n());
    std::vector<Var> v = vars(s);
    std::vector<Expr> args = exprs(v);
    Func total = channel_sum(name(i, "_sum"), s, [&](Expr c, Expr x, Expr y, Expr n) { return at(in, s, c, x, y, n); });
    Func mean(name(i, "_mean"));
    mean(t_.c) = total(t_.c) / real(m);
    Func squares = channel_sum(name(i, "_squares"), s, [&](Expr c, Expr x, Expr y, Expr n) {
        Expr d = at(in, s, c, x, y, n) - mean(c);
        return d * d;
    });
    Func variance(name(i, "_variance"));
    variance(t_.c) = squares(t_.c) / real(m);
    Func inv_std(name(i, "_inv_std"));
    inv_std(t_.c) = real(1) / Halide::sqrt(variance(t_.c) + real(double(op.spec.epsilon)));
    t_.channel_sums.emplace_back(inv_std, int(s.c()));
    Func normalized(name(i, "_normalized"));
    normalized(args) = (in(args) - mean(t_.c)) * inv_std(t_.c);
    out(args) = parameter(i, 0, t_.c) * normalized(args) + parameter(i, 1, t_.c);
    t_.batch_mean[std::size_t(i)] = mean;
    t_.batch_variance[std::size_t(i)] = variance;
    normalized_[i] = normalized;
    inv_std_[i] = inv_std;
}

// loss = mean over the batch of log(sum_u exp(z_u)) - z_label; d loss / d z = (softmax(z) - onehot) / N
void Builder::loss() {
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
    stored(logit_gradient_, out);
}

void Builder::backward() {
    contributions_.assign(t_.values.size(), {});
    if (segment_.last == int(graph_.ops.size())) contributions_[std::size_t(graph_.output)].push_back(logit_gradient_);
    else contributions_[std::size_t(segment_.output())].push_back(in_.output_gradient);
    t_.gradients.assign(t_.values.size(), Func());
    for (int i = segment_.last - 1; i >= segment_.first; --i) {
        const Op& op = graph_.ops[std::size_t(i)];
        const std::vector<Func>& parts = contributions_[std::size_t(i + 1)];
        if (parts.empty()) continue;  // nothing downstream reaches the loss
        Func g = parts.front();
        const bool read_many_times = op.spec.kind == OpKind::conv || op.spec.kind == OpKind::dense;
        if (parts.size() > 1 || (read_many_times && !stored_.count(g.name()))) {
            // Sum the contributions (a value read twice: a block's input feeds its body and its
            // shortcut), stored for the reason above; and store the gradient of a conv or dense
            // output, which their weight and input gradients read once per tap.
            std::vector<Expr> args = exprs(vars(op.out));
            g = Func(name(i, "_gradient"));
            Expr total = parts[0](args);
            for (std::size_t k = 1; k < parts.size(); ++k) total += parts[k](args);
            g(args) = total;
            if (read_many_times || parts.size() > 1) stored(g, op.out);
        }
        t_.gradients[std::size_t(i + 1)] = g;
        const bool to_input = op.input != 0;  // the images need no gradient
        std::vector<Expr> args = exprs(vars(op.in));
        Func o = t_.values[std::size_t(i + 1)];
        auto give = [&](Func d) { contributions_[std::size_t(op.input)].push_back(d); };
        switch (op.spec.kind) {
            case OpKind::conv: conv_backward(i, g); break;
            case OpKind::batch_norm: batch_norm_backward(i, g); break;
            case OpKind::dense: dense_backward(i, g); break;
            case OpKind::max_pool:
            case OpKind::avg_pool:
                if (to_input) pool_backward(i, g);
                break;
            case OpKind::relu:
                if (to_input) {
                    Func d(name(i, "_din"));
                    give(d);
                    d(args) = Halide::select(o(args) > real(0), g(args), real(0));
                }
                break;
            case OpKind::sigmoid:
                if (to_input) {
                    Func d(name(i, "_din"));
                    give(d);
                    d(args) = g(args) * o(args) * (real(1) - o(args));
                }
                break;
            case OpKind::tanh:
                if (to_input) {
                    Func d(name(i, "_din"));
                    give(d);
                    d(args) = g(args) * (real(1) - o(args) * o(args));
                }
                break;
            case OpKind::global_avg_pool:
                if (to_input) {
                    Func d(name(i, "_din"));
                    give(d);
                    d(t_.c, t_.x, t_.y, t_.n) = g(t_.c, t_.n) / real(double(op.in.w() * op.in.h()));
                }
                break;
            case OpKind::flatten:
                if (to_input) {
                    Func d(name(i, "_din"));  // the reshape back, inlined
                    if (op.in.is_image())
                        d(t_.c, t_.x, t_.y, t_.n) = g(t_.c + int(op.in.c()) * (t_.x + int(op.in.w()) * t_.y), t_.n);
                    else
                        d(t_.c, t_.n) = g(t_.c, t_.n);
                    give(d);
                }
                break;
            case OpKind::add:
                contributions_[std::size_t(op.input)].push_back(g);
                contributions_[std::size_t(op.shortcut)].push_back(g);
                break;
        }
    }
}

// out(co, x, y, n) = b(co) + sum over ci, kx, ky of w(co, ci, kx, ky) * in(ci, x*s + kx - pl, y*s + ky - pt, n)
//   db(co)              = sum over x, y, n of g(co, x, y, n)
//   dw(co, ci, kx, ky)  = sum over x, y, n of g(co, x, y, n) * in(ci, x*s + kx - pl, y*s + ky - pt, n)
//   din(ci, X, Y, n)    = sum over co and the (kx, ky) with X + pl - kx a multiple of s of
//                         w(co, ci, kx, ky) * g(co, (X + pl - kx) / s, (Y + pt - ky) / s, n)
// The last visits exactly the kernel taps that reach X: kx = (X + pl) mod s + s j, so a strided
// conv's input gradient wastes no multiply-add.
void Builder::conv_backward(int i, Func g) {
    Var c = t_.c, x = t_.x, y = t_.y, n = t_.n, ci = t_.ci, kx = t_.kx, ky = t_.ky;
    const Op& op = graph_.ops[std::size_t(i)];
    const Window& w = op.spec.window;
    const int out_channels = int(op.spec.units), in_channels = int(op.in.c()), k = w.kernel, s = w.stride;

    if (op.spec.bias) {
        Func db = channel_sum(name(i, "_db"), op.out, [&](Expr c, Expr x, Expr y, Expr n) { return g(c, x, y, n); });
        tensor_gradients_[{i, 1}] = [db](Expr f) { return db(f); };
    }
    // The weight gradient sums over every pixel of the batch. Summed per group of images first, so
    // that a thread's tiles re-read one group's gradients and inputs from cache (one image each when
    // the partial sums fit in 16 M floats), then over the groups. In one pass over the whole batch,
    // every tile streamed the batch from memory: FashionCNN's second conv took 28 ms of 146.
    const int batch = int(op.out.n()), weights = out_channels * in_channels * k * k;
    int groups = std::min(batch, std::max(8, (1 << 24) / weights));
    while (batch % groups) --groups;
    const int per_group = batch / groups;
    Var group("group");
    RDom r(0, int(op.out.w()), 0, int(op.out.h()), 0, per_group, name(i, "_dw_r"));
    Expr image = group * per_group + r.z;
    Func part_acc(name(i, "_dw_part_acc")), part(name(i, "_dw_part")), dw(name(i, "_dw"));
    part_acc(c, ci, kx, ky, group) = real(0);
    part_acc(c, ci, kx, ky, group) +=
        g(c, r.x, r.y, image) * sources_[i](ci, r.x * s + kx - w.pad_left, r.y * s + ky - w.pad_top, image);
    part(c, ci, kx, ky, group) = part_acc(c, ci, kx, ky, group);
    t_.tiles.push_back({{part, part_acc, c, ci, out_channels, in_channels}, {out_channels, in_channels, k, k, groups}});
    RDom over_groups(0, groups, name(i, "_dw_groups"));
    dw(c, ci, kx, ky) = real(0);
    dw(c, ci, kx, ky) += part(c, ci, kx, ky, over_groups);
    t_.weight_sums.push_back({dw, {out_channels, in_channels, k, k}});
    tensor_gradients_[{i, 0}] = [=](Expr f) {
        return dw(f % out_channels, (f / out_channels) % in_channels, (f / (out_channels * in_channels)) % k,
                  f / (out_channels * in_channels * k));
    };
    if (op.input == 0) return;

    // The weights transposed, input channel innermost: the tiles below load them as vectors.
    Func transposed(name(i, "_w_transposed"));
    transposed(c, x, y, n) = conv_weight(i, x, c, y, n);  // (ci, co, kx, ky)
    stored(transposed, Shape{k, k, out_channels, in_channels});

    const int taps = (k + s - 1) / s;
    Func g_border = Halide::BoundaryConditions::constant_exterior(g, real(0), region(op.out));
    RDom rd(0, out_channels, 0, taps, 0, taps, name(i, "_din_r"));
    Expr tap_x = (x + w.pad_left) % s + s * rd.y, tap_y = (y + w.pad_top) % s + s * rd.z;
    Expr weight = transposed(c, rd.x, Halide::min(tap_x, k - 1), Halide::min(tap_y, k - 1));
    if (k % s) weight = Halide::select(tap_x < k && tap_y < k, weight, real(0));
    Func din_acc(name(i, "_din_acc")), din(name(i, "_din"));
    din_acc(c, x, y, n) = real(0);
    din_acc(c, x, y, n) += weight * g_border(rd.x, (x + w.pad_left - tap_x) / s, (y + w.pad_top - tap_y) / s, n);
    din(c, x, y, n) = din_acc(c, x, y, n);
    t_.convs.push_back({din, din_acc, Func(), rd, op.out, op.in, c, x, y, n});
    stored_.insert(din.name());
    contributions_[std::size_t(op.input)].push_back(din);
}

// With m values per channel, x^ the normalized input and g = d loss / d out:
//   dbeta = sum g,  dgamma = sum g x^,  din = gamma / sqrt(var + eps) / m * (m g - dbeta - x^ dgamma)
void Builder::batch_norm_backward(int i, Func g) {
    const Op& op = graph_.ops[std::size_t(i)];
    const Shape s = op.in;
    const double m = double(s.is_image() ? s.n() * s.h() * s.w() : s.n());
    Func x_hat = normalized_[i];
    Func dbeta = channel_sum(name(i, "_dbeta"), s, [&](Expr c, Expr x, Expr y, Expr n) { return at(g, s, c, x, y, n); });
    Func dgamma = channel_sum(name(i, "_dgamma"), s, [&](Expr c, Expr x, Expr y, Expr n) {
        return at(g, s, c, x, y, n) * at(x_hat, s, c, x, y, n);
    });
    tensor_gradients_[{i, 0}] = [dgamma](Expr f) { return dgamma(f); };
    tensor_gradients_[{i, 1}] = [dbeta](Expr f) { return dbeta(f); };
    if (op.input == 0) return;
    std::vector<Expr> args = exprs(vars(s));
    Func din(name(i, "_din"));
    din(args) = parameter(i, 0, t_.c) * inv_std_[i](t_.c) / real(m) *
                           (real(m) * g(args) - dbeta(t_.c) - x_hat(args) * dgamma(t_.c));
    contributions_[std::size_t(op.input)].push_back(din);
}

// Each input pixel gathers from the windows that contain it (the taps kx = (X + pl) mod s + s j):
// max pooling passes the gradient to the window's first maximum, average pooling shares it out.
void Builder::pool_backward(int i, Func g) {
    Var c = t_.c, x = t_.x, y = t_.y, n = t_.n;
    const Op& op = graph_.ops[std::size_t(i)];
    const Window& w = op.spec.window;
    const int k = w.kernel, s = w.stride, out_w = int(op.out.w()), out_h = int(op.out.h());
    const int taps = (k + s - 1) / s;
    RDom r(0, taps, 0, taps, name(i, "_din_r"));
    Expr tap_x = (x + w.pad_left) % s + s * r.x, tap_y = (y + w.pad_top) % s + s * r.y;
    Expr ox = (x + w.pad_left - tap_x) / s, oy = (y + w.pad_top - tap_y) / s;
    Expr valid = tap_x < k && tap_y < k && ox >= 0 && ox < out_w && oy >= 0 && oy < out_h;
    Expr oxc = Halide::clamp(ox, 0, out_w - 1), oyc = Halide::clamp(oy, 0, out_h - 1);
    Expr share;
    if (op.spec.kind == OpKind::max_pool) {
        Func best = argmax_[i];
        share = Halide::select(valid && best(c, oxc, oyc, n)[0] == tap_x && best(c, oxc, oyc, n)[1] == tap_y,
                               g(c, oxc, oyc, n), real(0));
    } else {
        Expr x0 = oxc * s - w.pad_left, y0 = oyc * s - w.pad_top;
        Expr count = op.spec.count_include_pad
                         ? real(double(k * k))
                         : Halide::cast(t_.real, (Halide::min(y0 + k, int(op.in.h())) - Halide::max(y0, 0)) *
                                                     (Halide::min(x0 + k, int(op.in.w())) - Halide::max(x0, 0)));
        share = Halide::select(valid, g(c, oxc, oyc, n) / count, real(0));
    }
    Func din(name(i, "_din"));
    din(c, x, y, n) = Halide::sum(share);
    contributions_[std::size_t(op.input)].push_back(din);
}

// out(u, n) = b(u) + sum over f of w(u, f) in(f, n):
//   db(u) = sum over n of g(u, n),  dw(u, f) = sum over n of g(u, n) in(f, n),  din(f, n) = sum over u of w(u, f) g(u, n)
void Builder::dense_backward(int i, Func g) {
    Var c = t_.c, n = t_.n, ci = t_.ci;
    const Op& op = graph_.ops[std::size_t(i)];
    const int units = int(op.spec.units), features = int(op.in.features()), batch = int(op.in.n());
    Func in = t_.values[std::size_t(op.input)];
    if (op.spec.bias) {
        Func db = channel_sum(name(i, "_db"), op.out, [&](Expr c, Expr, Expr, Expr n) { return g(c, n); });
        tensor_gradients_[{i, 1}] = [db](Expr f) { return db(f); };
    }
    RDom r(0, batch, name(i, "_dw_r"));
    Func dw_acc(name(i, "_dw_acc")), dw(name(i, "_dw"));
    dw_acc(c, ci) = real(0);
    dw_acc(c, ci) += g(c, r) * in(ci, r);
    dw(c, ci) = dw_acc(c, ci);
    t_.tiles.push_back({{dw, dw_acc, c, ci, units, features}, {units, features}});
    tensor_gradients_[{i, 0}] = [=](Expr f) { return dw(f % units, f / units); };
    if (op.input == 0) return;
    Func transposed(name(i, "_w_transposed"));  // (f, u), features innermost
    transposed(c, n) = dense_weight(i, n, c);
    stored(transposed, Shape{units, features});
    RDom ru(0, units, name(i, "_din_r"));
    Func din_acc(name(i, "_din_acc")), din(name(i, "_din"));
    din_acc(c, n) = real(0);
    din_acc(c, n) += transposed(c, ru) * g(ru, n);
    din(c, n) = din_acc(c, n);
    t_.tiles.push_back({{din, din_acc, c, n, features, batch}, {features, batch}});
    stored_.insert(din.name());
    contributions_[std::size_t(op.input)].push_back(din);
}

// The segment's outputs: d loss / d its input (summed over the ops that read it), the parameter
// gradients and the batch statistics as flat buffers over the segment's ranges, one update per tensor.
void Builder::outputs() {
    const TrainingLayout& layout = *t_.layout;
    Var i = t_.i;
    if (segment_.input() > 0) {
        const Shape shape = graph_.shape_of(segment_.input());
        std::vector<Expr> args = exprs(vars(shape));
        const std::vector<Func>& parts = contributions_[std::size_t(segment_.input())];
        Expr total = real(0);
        for (const Func& part : parts) total += part(args);
        t_.input_gradient = Func("input_gradient");
        stored(t_.input_gradient, shape)(args) = total;
    }
    FloatRange parameters = range_of(layout.parameters, segment_), statistics = range_of(layout.statistics, segment_);
    t_.parameter_gradients = Func("parameter_gradients");
    t_.parameter_gradients(i) = real(0);  // the alignment gaps between tensors
    for (const TrainingTensor& tensor : layout.parameters) {
        if (tensor.op < segment_.first || tensor.op >= segment_.last) continue;
        RDom r(0, int(tensor.elements), "gradient_" + detail::identifier(tensor.name));
        t_.parameter_gradients(int(tensor.offset) + r) = tensor_gradients_.at({tensor.op, tensor.slot})(r);
    }
    t_.flat_outputs.emplace_back(t_.parameter_gradients, parameters);
    t_.batch_statistics = Func("batch_statistics");
    t_.batch_statistics(i) = real(0);
    for (int k = segment_.first; k < segment_.last; ++k) {
        const Op& op = graph_.ops[std::size_t(k)];
        if (op.spec.kind != OpKind::batch_norm) continue;
        RDom r(0, int(op.in.c()), "statistics_" + detail::identifier(op.name));
        t_.batch_statistics(int(layout.statistic(k, 2).offset) + r) = t_.batch_mean[std::size_t(k)](r);
        t_.batch_statistics(int(layout.statistic(k, 3).offset) + r) = t_.batch_variance[std::size_t(k)](r);
    }
    t_.flat_outputs.emplace_back(t_.batch_statistics, statistics);
    if (segment_.last == int(graph_.ops.size())) {
        t_.loss_stats = Func("loss_stats");
        t_.loss_stats(i) = Halide::select(i == 0, t_.loss(), Halide::cast(t_.real, t_.correct()));
    }
}

}  // namespace

Training lower_training_segment(const TrainingLayout& layout, const Segment& segment, SegmentPass pass,
                                SegmentInputs inputs, Halide::Type real) {
    return Builder(layout, segment, std::move(inputs), real).build(pass);
}

}  // namespace snc::halide
