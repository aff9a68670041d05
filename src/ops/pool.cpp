// MaxPool and AvgPool (layers/pool.hpp): a window over each channel.
//   max      the window's maximum; padding pixels act as -infinity; a NaN in the window makes it
//            NaN, as in PyTorch. Its adjoint passes the gradient to the window's first maximum in
//            row-major order (a NaN counting as the largest), as PyTorch picks it.
//   average  the window's sum over its pixels inside the input, or over the whole window with
//            count_include_pad (padding counts as zeros); its adjoint shares the gradient out.
#include <cmath>
#include <limits>

#include "op.hpp"

namespace snc::halide {

namespace {

// The divisor of the average over the window whose top-left input pixel is (x0, y0): its pixels
// inside the input, or with count_include_pad its pixels inside the padded input (the whole
// window, but where a ceil-mode window runs past the padding, as PyTorch clips it). For Exprs and
// integers alike.
template <class Index>
Index window_count(const Op& op, Index x0, Index y0) {
    const Window& w = op.spec.window;
    const int k = w.kernel;
    using std::max, std::min;  // Halide::min and max by argument-dependent lookup
    if (op.spec.count_include_pad) {
        if (!op.spec.ceil_mode) return Index(k * k);
        return (min(y0 + k, Index(int(op.in.h()) + w.pad_bottom)) - y0) * (min(x0 + k, Index(int(op.in.w()) + w.pad_right)) - x0);
    }
    const Index rows = min(y0 + k, Index(int(op.in.h()))) - max(y0, Index(0));
    const Index cols = min(x0 + k, Index(int(op.in.w()))) - max(x0, Index(0));
    return rows * cols;
}

class Pool final : public OpCompiler {
public:
    explicit Pool(bool is_max) : is_max_(is_max) {}

    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict&) const override {
        const reference::Values& in = values[std::size_t(op.input)];
        const Shape i = op.in, o = op.out;
        const Window& win = op.spec.window;
        const Layout input = image_layout(i), output = image_layout(o);
        reference::Values out(std::size_t(o.elements()));
        for (std::int64_t n = 0; n < o.n(); ++n)
            for (std::int64_t c = 0; c < o.c(); ++c)
                for (std::int64_t y = 0; y < o.h(); ++y)
                    for (std::int64_t x = 0; x < o.w(); ++x) {
                        const std::int64_t x0 = x * win.stride - win.pad_left, y0 = y * win.stride - win.pad_top;
                        double acc = is_max_ ? -std::numeric_limits<double>::infinity() : 0.0;
                        for (std::int64_t iy = y0; iy < y0 + win.kernel; ++iy)
                            for (std::int64_t ix = x0; ix < x0 + win.kernel; ++ix) {
                                if (iy < 0 || iy >= i.h() || ix < 0 || ix >= i.w()) continue;
                                const double v = in[std::size_t(input(n, c, iy, ix))];
                                acc = !is_max_ ? acc + v : std::isnan(v) || std::isnan(acc) ? std::nan("") : std::max(acc, v);
                            }
                        if (!is_max_) acc /= double(window_count<std::int64_t>(op, x0, y0));
                        out[std::size_t(output(n, c, y, x))] = acc;
                    }
        return out;
    }

    Expr lower(StageContext& stage) const override {
        const Op& op = stage.main();
        const Window& w = op.spec.window;
        Var c = stage.lowered.c, x = stage.lowered.x, y = stage.lowered.y, n = stage.lowered.n;
        Func source = stage.value(stage.stage.input);
        // A ceil-mode window may run past the input without padding.
        if (w.padded() || op.spec.ceil_mode)
            source = stage.funcs.padded = padded_input(source, op.in, fill(Halide::Float(32)), stage.stage.name);
        RDom r(0, w.kernel, 0, w.kernel, stage.stage.name + "_r");
        Expr x0 = x * w.stride - w.pad_left, y0 = y * w.stride - w.pad_top;
        Expr window = source(c, x0 + r.x, y0 + r.y, n);
        stage.funcs.pattern = Pattern::rowwise;
        stage.funcs.reduction = r;
        if (is_max_) {  // max() drops a NaN on x86 (maxps returns its second operand): count them
            Expr nans = Halide::sum(Halide::select(is_nan_bits(window), 1, 0));
            return Halide::select(nans > 0, Halide::cast<float>(std::nanf("")), Halide::maximum(window));
        }
        return Halide::sum(window) / Halide::cast<float>(window_count(op, x0, y0));
    }

    void forward(TrainingContext& t, int i) const override {
        Training& f = t.funcs();
        Var c = f.c, x = f.x, y = f.y, n = f.n;
        const Op& op = t.op(i);
        const Window& w = op.spec.window;
        Func source = t.value(op.input);
        if (w.padded() || op.spec.ceil_mode) {
            Halide::Region region;
            for (int extent : halide_extents(op.in)) region.emplace_back(0, extent);
            source = Halide::BoundaryConditions::constant_exterior(source, fill(f.real), region);
        }
        RDom r(0, w.kernel, 0, w.kernel, t.name(i, "_r"));
        Expr x0 = x * w.stride - w.pad_left, y0 = y * w.stride - w.pad_top;
        Expr window = source(c, x0 + r.x, y0 + r.y, n);
        Func out(t.name(i, ""));
        if (is_max_) {
            Func best(t.name(i, "_argmax"));  // (kernel column, kernel row, key), a NaN keyed as +infinity
            best(c, x, y, n) = Halide::argmax(Halide::select(is_nan_bits(window), Halide::cast(f.real, Expr(std::numeric_limits<float>::infinity())), window));
            f.reductions.emplace_back(best, op.out);
            t.saved(i, "argmax") = best;
            const int last = w.kernel - 1;  // clamped, so that bounds inference sees the window
            out(c, x, y, n) = source(c, x0 + Halide::clamp(best(c, x, y, n)[0], 0, last), y0 + Halide::clamp(best(c, x, y, n)[1], 0, last), n);
        } else {
            out(c, x, y, n) = Halide::sum(window) / Halide::cast(f.real, window_count(op, x0, y0));
        }
        t.define_value(i, t.pointwise(out, op.out));
    }

    // Each input pixel gathers from the windows that contain it: the taps kx = (X + pl) mod s + s j.
    void backward(TrainingContext& t, int i, Func g) const override {
        if (!t.needs_input_gradient(i)) return;
        Training& f = t.funcs();
        Var c = f.c, x = f.x, y = f.y, n = f.n;
        const Op& op = t.op(i);
        const Window& w = op.spec.window;
        const int k = w.kernel, s = w.stride, out_w = int(op.out.w()), out_h = int(op.out.h());
        const int taps = (k + s - 1) / s;
        // The taps written out, a sum of taps^2 terms (4 for a 3x3 window of stride 2): as an inline
        // reduction (Halide::sum) it was a scalar loop inside each vector of channels, 119 ms of the
        // course's ResNet-18 step (its stem's max pool, Halide's profiler, 1 thread).
        Expr total;
        for (int jy = 0; jy < taps; ++jy)
            for (int jx = 0; jx < taps; ++jx) {
                Expr tap_x = (x + w.pad_left) % s + s * jx, tap_y = (y + w.pad_top) % s + s * jy;
                Expr ox = (x + w.pad_left - tap_x) / s, oy = (y + w.pad_top - tap_y) / s;
                Expr valid = tap_x < k && tap_y < k && ox >= 0 && ox < out_w && oy >= 0 && oy < out_h;
                Expr oxc = Halide::clamp(ox, 0, out_w - 1), oyc = Halide::clamp(oy, 0, out_h - 1);
                Expr share;
                if (is_max_) {
                    Func best = t.saved(i, "argmax");
                    share = Halide::select(valid && best(c, oxc, oyc, n)[0] == tap_x && best(c, oxc, oyc, n)[1] == tap_y,
                                           g(c, oxc, oyc, n), t.real(0));
                } else {
                    Expr count = Halide::cast(f.real, window_count(op, oxc * s - w.pad_left, oyc * s - w.pad_top));
                    share = Halide::select(valid, g(c, oxc, oyc, n) / count, t.real(0));
                }
                total = total.defined() ? total + share : share;
            }
        Func din(t.name(i, "_din"));
        din(c, x, y, n) = total;
        t.add_gradient(op.input, t.pointwise(din, op.in));
    }

private:
    Expr fill(Halide::Type type) const {
        return is_max_ ? Halide::cast(type, Expr(-std::numeric_limits<float>::infinity())) : Halide::cast(type, Expr(0.0f));
    }
    bool is_max_;
};

}  // namespace

const OpCompiler& max_pool_op() {
    static const Pool compiler(true);
    return compiler;
}
const OpCompiler& avg_pool_op() {
    static const Pool compiler(false);
    return compiler;
}

}  // namespace snc::halide
