// The channel layers (layers/channel.hpp): slice, channel shuffle, layer norm, layer scale.
//   slice            out(c) = in(c + begin): a view; its adjoint puts g back in its channels, zero elsewhere
//   channel_shuffle  out(i G + g) = in(g C/G + i): a view; its adjoint is the inverse permutation
//   layer_norm       at each pixel over its C channels: mu, var (biased), x^ = (x - mu) / sqrt(var + eps),
//                    y = gamma x^ + beta; with gg = g gamma,
//                    d in = 1 / sqrt(var + eps) (gg - mean_c(gg) - x^ mean_c(gg x^)),
//                    d gamma = sum over pixels of g x^, d beta = sum of g
//   layer_scale      y = gamma x per channel: folded into the conv or dense before it as a batch
//                    norm is (weights.hpp), else a per-channel affine stage; d in = g gamma,
//                    d gamma = sum over pixels of g x
#include <cmath>

#include "op.hpp"

namespace snc::halide {

namespace {

// snc's channel (feature) -> the element of the op's tensor `slot` in PyTorch's order.
std::vector<std::size_t> tensor_channels(const Op& op, int slot) {
    std::vector<std::size_t> source(std::size_t(op.in.c()), 0);
    for_each_element(tensor_layout(op, slot, Packing{}),
                     [&](std::int64_t packed, std::int64_t from) { source[std::size_t(packed)] = std::size_t(from); });
    return source;
}

// A per-channel parameter of op i at snc's channel c.
Expr channel_parameter(TrainingContext& t, int i, int slot, Expr c) {
    const Layout features = tensor_layout(t.op(i), slot, t.funcs().layout->packing).packed;
    std::vector<Expr> coordinates(std::size_t(features.rank));
    features.coordinates(c, coordinates.data());
    return t.parameter(i, slot, coordinates);
}

class SliceOp final : public OpCompiler {
public:
    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict&) const override {
        const reference::Values& in = values[std::size_t(op.input)];
        reference::Values out(std::size_t(op.out.elements()));
        const std::int64_t from = op.in.c(), to = op.out.c();
        for (std::int64_t p = 0; p < op.out.elements() / to; ++p)
            for (std::int64_t c = 0; c < to; ++c) out[std::size_t(p * to + c)] = in[std::size_t(p * from + op.spec.begin + c)];
        return out;
    }

    Expr lower(StageContext& stage) const override {
        stage.funcs.pattern = Pattern::view;
        const Op& op = stage.main();
        const std::vector<Expr> args = stage.args(op.out);
        return stage.value(op.input)(with_channel(args, args[0] + int(op.spec.begin)));
    }

    void forward(TrainingContext& t, int i) const override {
        const Op& op = t.op(i);
        const std::vector<Expr> args = t.args(op.out);
        Func out(t.name(i, ""));
        out(args) = t.value(op.input)(with_channel(args, args[0] + int(op.spec.begin)));
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        if (!t.needs_input_gradient(i)) return;
        const Op& op = t.op(i);
        const std::vector<Expr> args = t.args(op.in);
        const int begin = int(op.spec.begin), end = begin + int(op.out.c());
        Func din(t.name(i, "_din"));
        din(args) = Halide::select(args[0] >= begin && args[0] < end, g(with_channel(args, Halide::clamp(args[0] - begin, 0, end - begin - 1))),
                                   t.real(0));
        t.add_gradient(op.input, t.pointwise(din, op.in));
    }
};

class ChannelShuffleOp final : public OpCompiler {
public:
    // Output channel c reads input channel (c mod G) (C / G) + c / G.
    static std::int64_t source_channel(const Op& op, std::int64_t c) {
        const std::int64_t groups = op.spec.groups, per_group = op.in.c() / groups;
        return (c % groups) * per_group + c / groups;
    }
    static Expr source_channel(const Op& op, Expr c) {
        const int groups = op.spec.groups, per_group = int(op.in.c()) / groups;
        return (c % groups) * per_group + c / groups;
    }
    // ...and input channel j goes to output channel (j mod (C / G)) G + j / (C / G).
    static Expr target_channel(const Op& op, Expr j) {
        const int groups = op.spec.groups, per_group = int(op.in.c()) / groups;
        return (j % per_group) * groups + j / per_group;
    }

    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict&) const override {
        const reference::Values& in = values[std::size_t(op.input)];
        reference::Values out(in.size());
        const std::int64_t channels = op.in.c();
        for (std::size_t k = 0; k < in.size(); ++k) {
            const std::int64_t pixel = std::int64_t(k) / channels, c = std::int64_t(k) % channels;
            out[k] = in[std::size_t(pixel * channels + source_channel(op, c))];
        }
        return out;
    }

    Expr lower(StageContext& stage) const override {
        stage.funcs.pattern = Pattern::view;
        const Op& op = stage.main();
        const std::vector<Expr> args = stage.args(op.out);
        return stage.value(op.input)(with_channel(args, source_channel(op, args[0])));
    }

    void forward(TrainingContext& t, int i) const override {
        const Op& op = t.op(i);
        const std::vector<Expr> args = t.args(op.out);
        Func out(t.name(i, ""));
        out(args) = t.value(op.input)(with_channel(args, source_channel(op, args[0])));
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        if (!t.needs_input_gradient(i)) return;
        const Op& op = t.op(i);
        const std::vector<Expr> args = t.args(op.in);
        Func din(t.name(i, "_din"));
        din(args) = g(with_channel(args, target_channel(op, args[0])));
        t.add_gradient(op.input, t.pointwise(din, op.in));
    }
};

class LayerNormOp final : public OpCompiler {
public:
    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict& tensors) const override {
        const reference::Values& in = values[std::size_t(op.input)];
        const std::vector<float>& gamma = tensors.at(op.tensor_name(op.tensors.items[0])).data;
        const std::vector<float>& beta = tensors.at(op.tensor_name(op.tensors.items[1])).data;
        const std::vector<std::size_t> source = tensor_channels(op, 0);
        const std::size_t channels = std::size_t(op.in.c());
        reference::Values out(in.size());
        for (std::size_t pixel = 0; pixel < in.size() / channels; ++pixel) {
            const double* x = in.data() + pixel * channels;
            double mean = 0, variance = 0;
            for (std::size_t c = 0; c < channels; ++c) mean += x[c];
            mean /= double(channels);
            for (std::size_t c = 0; c < channels; ++c) variance += (x[c] - mean) * (x[c] - mean);
            variance /= double(channels);
            const double inv_std = 1.0 / std::sqrt(variance + double(op.spec.epsilon));
            for (std::size_t c = 0; c < channels; ++c)
                out[pixel * channels + c] = (x[c] - mean) * inv_std * gamma[source[c]] + beta[source[c]];
        }
        return out;
    }

    // A stage of its own: the mean and variance of each pixel's channels, each a Func of the pixel
    // that the schedule computes once per pixel (StageFuncs::statistics). As inline sums inside the
    // channel's expression they were recomputed for every channel, the variance's mean for every
    // term: ConvNeXt-T took 2490 ms a run on 1 thread, 2.4 s of it in those sums.
    Expr lower(StageContext& stage) const override {
        stage.funcs.pattern = Pattern::rowwise;
        const Op& op = stage.main();
        const std::vector<Expr> args = stage.args(op.out);
        Func in = stage.value(op.input);
        const int channels = int(op.in.c());
        std::vector<Expr> pixel(args.begin() + 1, args.end());  // the channel is args[0]
        std::vector<Halide::Var> pixel_vars;
        for (const Expr& e : pixel) pixel_vars.push_back(Halide::Var(e.as<Halide::Internal::Variable>()->name));
        RDom r(0, channels, stage.stage.name + "_r");
        auto channel = [&](Expr c) {
            std::vector<Expr> at{c};
            at.insert(at.end(), pixel_vars.begin(), pixel_vars.end());
            return at;
        };
        Func mean(stage.stage.name + "_mean"), variance(stage.stage.name + "_variance");
        mean(pixel_vars) = 0.0f;
        mean(pixel_vars) += in(channel(r));
        Expr deviation = in(channel(r)) - mean(pixel_vars) / float(channels);
        variance(pixel_vars) = 0.0f;
        variance(pixel_vars) += deviation * deviation;
        stage.funcs.statistics = {mean, variance};
        Expr normalized = (in(args) - mean(pixel) / float(channels)) / Halide::sqrt(variance(pixel) / float(channels) + op.spec.epsilon);
        return normalized * stage.scale(args[0]) + stage.bias(args[0]);
    }

    void forward(TrainingContext& t, int i) const override {
        Training& f = t.funcs();
        const Op& op = t.op(i);
        const std::vector<Expr> args = t.args(op.in);
        Func in = t.value(op.input);
        t.reread(in);
        Func mean = pixel_sum(t, t.name(i, "_mean"), op.in, [&](Expr c) { return in(with_channel(args, c)); }, double(op.in.c()));
        Func variance = pixel_sum(t, t.name(i, "_variance"), op.in, [&](Expr c) {
            Expr d = in(with_channel(args, c)) - mean(with_channel(args, 0));
            return d * d;
        }, double(op.in.c()));
        Func normalized(t.name(i, "_normalized")), inv_std(t.name(i, "_inv_std"));
        inv_std(args) = t.real(1) / Halide::sqrt(variance(with_channel(args, 0)) + t.real(double(op.spec.epsilon)));
        normalized(args) = (in(args) - mean(with_channel(args, 0))) * inv_std(args);
        t.saved(i, "normalized") = t.pointwise(normalized, op.in);
        t.reread(normalized);
        t.saved(i, "inv_std") = inv_std;
        Func out(t.name(i, ""));
        out(args) = channel_parameter(t, i, 0, f.c) * normalized(args) + channel_parameter(t, i, 1, f.c);
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        const Op& op = t.op(i);
        const Shape s = op.in;
        const std::vector<Expr> args = t.args(s);
        Func x_hat = t.saved(i, "normalized");
        set_affine_gradients(t, i, g, x_hat);
        if (!t.needs_input_gradient(i)) return;
        Func scaled(t.name(i, "_scaled_gradient"));
        scaled(args) = g(args) * channel_parameter(t, i, 0, args[0]);
        t.reread(t.pointwise(scaled, s));
        const double channels = double(s.c());
        Func mean_g = pixel_sum(t, t.name(i, "_mean_gradient"), s, [&](Expr c) { return scaled(with_channel(args, c)); }, channels);
        Func mean_gx = pixel_sum(t, t.name(i, "_mean_gradient_x"), s, [&](Expr c) {
            return scaled(with_channel(args, c)) * x_hat(with_channel(args, c));
        }, channels);
        Func din(t.name(i, "_din"));
        din(args) = t.saved(i, "inv_std")(args) *
                    (scaled(args) - mean_g(with_channel(args, 0)) - x_hat(args) * mean_gx(with_channel(args, 0)));
        t.add_gradient(op.input, t.pointwise(din, s));
    }

private:
    // sum over the channels of term(c) / divisor at each pixel: a Func of the shape's arguments
    // whose channel is a dummy of extent 1 (read at channel 0), stored by the schedule.
    static Func pixel_sum(TrainingContext& t, const std::string& name, const Shape& s, const std::function<Expr(Expr)>& term,
                         double divisor) {
        const std::vector<Expr> args = t.args(s);
        RDom r(0, int(s.c()), name + "_r");
        Func partial(name + "_sum"), result(name);
        partial(args) = t.real(0);
        partial(args) += term(r);
        result(args) = partial(args) / t.real(divisor);
        Shape stored = s;
        stored.dims[stored.rank - 1] = 1;
        t.funcs().reductions.push_back({partial, stored});
        return result;
    }
};

// Its reference and its inference are the per-channel affine map's (op.hpp): a zero shift.
class LayerScaleOp final : public PerChannelAffine {
public:
    void forward(TrainingContext& t, int i) const override {
        const Op& op = t.op(i);
        const std::vector<Expr> args = t.args(op.out);
        Func out(t.name(i, ""));
        out(args) = t.value(op.input)(args) * channel_parameter(t, i, 0, args[0]);
        t.define_value(i, t.pointwise(out, op.out));
    }

    void backward(TrainingContext& t, int i, Func g) const override {
        const Op& op = t.op(i);
        const Shape s = op.in;
        Func in = t.value(op.input);
        auto at = [&](const Func& func, Expr c, Expr x, Expr y, Expr n) { return s.is_image() ? func(c, x, y, n) : func(c, n); };
        Func dgamma = t.channel_sum(t.name(i, "_dgamma"), s, [&](Expr c, Expr x, Expr y, Expr n) {
            return at(g, c, x, y, n) * at(in, c, x, y, n);
        });
        const Layout features = tensor_layout(op, 0, t.funcs().layout->packing).packed;
        t.set_tensor_gradient(i, 0, [dgamma, features](const std::vector<Expr>& at) { return dgamma(features.offset(at.data())); });
        if (!t.needs_input_gradient(i)) return;
        const std::vector<Expr> args = t.args(s);
        Func din(t.name(i, "_din"));
        din(args) = g(args) * channel_parameter(t, i, 0, args[0]);
        t.add_gradient(op.input, t.pointwise(din, s));
    }
};

}  // namespace

const OpCompiler& slice_op() {
    static const SliceOp compiler;
    return compiler;
}
const OpCompiler& channel_shuffle_op() {
    static const ChannelShuffleOp compiler;
    return compiler;
}
const OpCompiler& layer_norm_op() {
    static const LayerNormOp compiler;
    return compiler;
}
const OpCompiler& layer_scale_op() {
    static const LayerScaleOp compiler;
    return compiler;
}

}  // namespace snc::halide
