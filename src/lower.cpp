// Lowering of inference plans to Halide Funcs: the algorithm of every stage kind.
#include <snc/halide/lower.hpp>

#include <limits>
#include <string>

namespace snc::halide {

using Halide::Expr;
using Halide::Func;
using Halide::RDom;

namespace {

Expr activate(Activation activation, Expr v) {
    switch (activation) {
        case Activation::relu: return Halide::max(v, 0.0f);
        case Activation::sigmoid: return 1.0f / (1.0f + Halide::exp(-v));
        case Activation::tanh: return Halide::tanh(v);
        case Activation::none: return v;
    }
    return v;
}

Halide::Region extent_of(const Shape& shape) {
    Halide::Region region;
    for (int extent : halide_extents(shape)) region.emplace_back(0, extent);
    return region;
}

bool has_padding(const Window& w) { return w.pad_top || w.pad_left || w.pad_bottom || w.pad_right; }

// The input with a border of `fill` where the window reaches past it.
Func padded_input(const Func& in, const Shape& shape, Expr fill, const std::string& name, Lowered& L) {
    Func border = Halide::BoundaryConditions::constant_exterior(in, fill, extent_of(shape));
    Func padded(name + "_padded");
    padded(L.c, L.x, L.y, L.n) = border(L.c, L.x, L.y, L.n);
    return padded;
}

void lower_conv(const Stage& stage, StageFuncs& funcs, Func& out, const Func& packed, Lowered& L) {
    const Window& w = stage.spec.window;
    const int in_channels = int(stage.in.c()), out_channels = int(stage.spec.units), k = w.kernel;
    Func in = L.value(stage.input);
    Func source = in;
    if (has_padding(w)) source = funcs.padded = padded_input(in, stage.in, 0.0f, stage.name, L);

    // r.x: input channel (innermost, contiguous in NHWC), r.y: kernel column, r.z: kernel row.
    RDom r(0, in_channels, 0, k, 0, k, stage.name + "_r");
    funcs.reduction = r;
    Expr weight = packed(int(stage.weight_offset) + L.c + out_channels * (r.x + in_channels * (r.y + k * r.z)));
    Func acc(stage.name + "_acc");
    acc(L.c, L.x, L.y, L.n) = packed(int(stage.bias_offset) + L.c);
    acc(L.c, L.x, L.y, L.n) += weight * source(r.x, L.x * w.stride + r.y - w.pad_left, L.y * w.stride + r.z - w.pad_top, L.n);
    funcs.accumulator = acc;

    Expr v = acc(L.c, L.x, L.y, L.n);
    if (stage.residual >= 0) v += L.value(stage.residual)(L.c, L.x, L.y, L.n);
    out(L.c, L.x, L.y, L.n) = activate(stage.activation, v);
}

void lower_dense(const Stage& stage, StageFuncs& funcs, Func& out, const Func& packed, Lowered& L) {
    const int units = int(stage.spec.units);
    Func acc(stage.name + "_acc");
    acc(L.c, L.n) = packed(int(stage.bias_offset) + L.c);
    int source_stage = L.plan->stage_of(stage.input);
    if (source_stage >= 0 && L.plan->stages[std::size_t(source_stage)].kind == StageKind::flatten) {
        // Read the image under the Flatten directly: feature f = c + C * (x + W * y).
        const Stage& flatten = L.plan->stages[std::size_t(source_stage)];
        const Shape image = flatten.in;
        RDom r(0, int(image.c()), 0, int(image.w()), 0, int(image.h()), stage.name + "_r");
        Expr feature = r.x + int(image.c()) * (r.y + int(image.w()) * r.z);
        acc(L.c, L.n) += packed(int(stage.weight_offset) + L.c + units * feature) * L.value(flatten.input)(r.x, r.y, r.z, L.n);
        funcs.reduction = r;
    } else {
        RDom r(0, int(stage.in.features()), stage.name + "_r");
        acc(L.c, L.n) += packed(int(stage.weight_offset) + L.c + units * r.x) * L.value(stage.input)(r.x, L.n);
        funcs.reduction = r;
    }
    funcs.accumulator = acc;
    out(L.c, L.n) = activate(stage.activation, acc(L.c, L.n));
}

void lower_pool(const Stage& stage, StageFuncs& funcs, Func& out, Lowered& L) {
    const Window& w = stage.spec.window;
    const Shape in_shape = stage.in;
    Func in = L.value(stage.input);
    bool is_max = stage.spec.kind == OpKind::max_pool;
    Func source = in;
    if (has_padding(w))
        source = funcs.padded = padded_input(in, in_shape, is_max ? Expr(-std::numeric_limits<float>::infinity()) : Expr(0.0f),
                                             stage.name, L);
    RDom r(0, w.kernel, 0, w.kernel, stage.name + "_r");
    funcs.reduction = r;
    Expr x0 = L.x * w.stride - w.pad_left, y0 = L.y * w.stride - w.pad_top;
    Expr window_value = source(L.c, x0 + r.x, y0 + r.y, L.n);
    if (is_max) {
        out(L.c, L.x, L.y, L.n) = Halide::maximum(window_value);
        return;
    }
    Expr count;
    if (stage.spec.count_include_pad) {
        count = Expr(float(w.kernel * w.kernel));
    } else {  // pixels of the window inside the input
        Expr rows = Halide::min(y0 + w.kernel, int(in_shape.h())) - Halide::max(y0, 0);
        Expr cols = Halide::min(x0 + w.kernel, int(in_shape.w())) - Halide::max(x0, 0);
        count = Halide::cast<float>(rows * cols);
    }
    out(L.c, L.x, L.y, L.n) = Halide::sum(window_value) / count;
}

}  // namespace

Lowered lower(const Plan& plan, Func input, Func packed, std::optional<Func> final_output) {
    Lowered L;
    L.plan = &plan;
    L.input = input;
    L.stages.resize(plan.stages.size());
    for (std::size_t s = 0; s < plan.stages.size(); ++s) {
        const Stage& stage = plan.stages[s];
        StageFuncs& funcs = L.stages[s];
        bool last = int(s) == plan.output_stage();
        Func out = last && final_output ? *final_output : Func(stage.name);
        std::vector<Halide::Var> v = L.vars(stage.out);
        std::vector<Expr> args(v.begin(), v.end());
        switch (stage.kind) {
            case StageKind::conv: lower_conv(stage, funcs, out, packed, L); break;
            case StageKind::dense: lower_dense(stage, funcs, out, packed, L); break;
            case StageKind::pool: lower_pool(stage, funcs, out, L); break;
            case StageKind::mean: {
                RDom r(0, int(stage.in.w()), 0, int(stage.in.h()), stage.name + "_r");
                funcs.reduction = r;
                out(L.c, L.n) = Halide::sum(L.value(stage.input)(L.c, r.x, r.y, L.n)) / float(stage.in.w() * stage.in.h());
                break;
            }
            case StageKind::flatten: {
                const Shape image = stage.in;
                Func in = L.value(stage.input);
                if (image.is_image()) {
                    Expr c = L.c % int(image.c()), x = (L.c / int(image.c())) % int(image.w()),
                         y = L.c / int(image.c() * image.w());
                    out(L.c, L.n) = in(c, x, y, L.n);
                } else {
                    out(L.c, L.n) = in(L.c, L.n);
                }
                break;
            }
            case StageKind::affine: {
                Expr scale = packed(int(stage.weight_offset) + L.c), shift = packed(int(stage.bias_offset) + L.c);
                out(args) = activate(stage.activation, L.value(stage.input)(args) * scale + shift);
                break;
            }
            case StageKind::add:
                out(args) = activate(stage.activation, L.value(stage.input)(args) + L.value(stage.residual)(args));
                break;
            case StageKind::activation: out(args) = activate(stage.activation, L.value(stage.input)(args)); break;
        }
        funcs.output = out;
    }
    L.output = L.stages[std::size_t(plan.output_stage())].output;
    return L;
}

}  // namespace snc::halide
