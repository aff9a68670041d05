// BatchNorm (layers/norm.hpp), as the course writes it. Over the m values of a channel (or a
// feature) in the batch:
//   training    mu = mean, var = mean of squared deviations (biased), x^ = (x - mu) / sqrt(var + eps),
//               y = gamma x^ + beta
//   inference   the running mean and variance replace the batch's: y = s x + (beta - mean s) with
//               s = gamma / sqrt(running_var + eps), folded into the conv or dense before it at pack
//               time (weights.hpp), or a stage of its own
#include "op.hpp"

namespace snc::halide {

namespace {

// Its reference and its inference are the per-channel affine map's (op.hpp).
class BatchNormOp final : public PerChannelAffine {
public:
    void forward(TrainingContext& t, int i) const override {
        Training& f = t.funcs();
        const Op& op = t.op(i);
        const Shape s = op.in;
        const double m = double(batch_norm_count(s));
        std::vector<Expr> args = t.args(s);
        Func in = t.value(op.input);
        auto at = [&](const Func& func, Expr c, Expr x, Expr y, Expr n) { return s.is_image() ? func(c, x, y, n) : func(c, n); };
        Func total = t.channel_sum(t.name(i, "_sum"), s, [&](Expr c, Expr x, Expr y, Expr n) { return at(in, c, x, y, n); });
        total = t.across_processes(total, i, 0);
        Func mean(t.name(i, "_mean"));
        mean(f.c) = total(f.c) / t.real(m);
        Func squares = t.channel_sum(t.name(i, "_squares"), s, [&](Expr c, Expr x, Expr y, Expr n) {
            Expr d = at(in, c, x, y, n) - mean(c);
            return d * d;
        });
        squares = t.across_processes(squares, i, 1);
        Func variance(t.name(i, "_variance"));
        variance(f.c) = squares(f.c) / t.real(m);
        Func inv_std(t.name(i, "_inv_std"));
        inv_std(f.c) = t.real(1) / Halide::sqrt(variance(f.c) + t.real(double(op.spec.epsilon)));
        t.per_channel(inv_std, int(s.c()));
        Func normalized(t.name(i, "_normalized"));
        normalized(args) = (in(args) - mean(f.c)) * inv_std(f.c);
        Func out(t.name(i, ""));
        out(args) = gamma(t, i, f.c) * normalized(args) + beta(t, i, f.c);
        t.set_batch_statistics(i, mean, variance);
        t.saved(i, "normalized") = normalized;
        t.saved(i, "inv_std") = inv_std;
        t.define_value(i, t.pointwise(out, op.out));
    }

    // With m values per channel, x^ the normalized input and g = d loss / d out:
    //   dbeta = sum g,  dgamma = sum g x^,  din = gamma / sqrt(var + eps) / m * (m g - dbeta - x^ dgamma)
    void backward(TrainingContext& t, int i, Func g) const override {
        Training& f = t.funcs();
        const Op& op = t.op(i);
        const Shape s = op.in;
        const double m = double(batch_norm_count(s));
        Func x_hat = t.saved(i, "normalized");
        set_affine_gradients(t, i, g, x_hat);
        if (!t.needs_input_gradient(i)) return;
        // The input gradient takes the sums over the whole batch (every process's, when the batch
        // norm is synchronized); the parameter gradients keep this process's (set above).
        Func dbeta = t.across_processes(t.saved(i, "dbeta"), i, 2), dgamma = t.across_processes(t.saved(i, "dgamma"), i, 3);
        std::vector<Expr> args = t.args(s);
        Func din(t.name(i, "_din"));
        din(args) = gamma(t, i, f.c) * t.saved(i, "inv_std")(f.c) / t.real(m) *
                    (t.real(m) * g(args) - dbeta(f.c) - x_hat(args) * dgamma(f.c));
        t.add_gradient(op.input, t.pointwise(din, s));
    }

private:
    // gamma and beta of snc's channel (or feature) c.
    static Expr vector(TrainingContext& t, int i, int slot, Expr c) {
        const Layout features = tensor_layout(t.op(i), slot, t.funcs().layout->packing).packed;
        std::vector<Expr> coordinates(std::size_t(features.rank));
        features.coordinates(c, coordinates.data());
        return t.parameter(i, slot, coordinates);
    }
    static Expr gamma(TrainingContext& t, int i, Expr c) { return vector(t, i, 0, c); }
    static Expr beta(TrainingContext& t, int i, Expr c) { return vector(t, i, 1, c); }
};

}  // namespace

const OpCompiler& batch_norm_op() {
    static const BatchNormOp compiler;
    return compiler;
}

}  // namespace snc::halide
