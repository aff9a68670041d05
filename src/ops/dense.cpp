// Dense: a fully connected layer over (N, F) features (layers/dense.hpp).
//
//   out(u, n) = b(u) + sum over f of w(u, f) * in(f, n)
//
// After a Flatten of an (H, W, C) image the feature axis is the modes (c, y, x) of the weight's
// layout (layout.hpp), and when the Flatten is right before it the dense reads the image itself.
#include "op.hpp"

namespace snc::halide {

namespace {

// The reduction over the features, in snc's order (C fastest), with the weight's PyTorch
// coordinates and the feature's index for each term.
struct FeatureReduction {
    RDom r;
    std::vector<Expr> weight_coordinates;  // (u, c, y, x) or (u, f), u left to fill
    Expr feature;                          // snc's index of the feature
    Expr channel, column, row;             // the image's coordinates, after a Flatten
};

FeatureReduction feature_reduction(const Op& op, const std::string& name) {
    FeatureReduction fr;
    const Shape image = op.flatten_source;
    if (image.is_image()) {
        fr.r = RDom(0, int(image.c()), 0, int(image.w()), 0, int(image.h()), name);
        fr.channel = fr.r.x, fr.column = fr.r.y, fr.row = fr.r.z;
        fr.weight_coordinates = {Expr(), fr.channel, fr.row, fr.column};
        fr.feature = feature_layout(image, op.in.features())(fr.channel, fr.row, fr.column);
    } else {
        fr.r = RDom(0, int(op.in.features()), name);
        fr.weight_coordinates = {Expr(), fr.r.x};
        fr.feature = fr.r.x;
    }
    return fr;
}

class Dense final : public OpCompiler {
public:
    reference::Values reference(const Op& op, const std::vector<reference::Values>& values, const StateDict& tensors) const override {
        const reference::Values& in = values[std::size_t(op.input)];
        const std::int64_t features = op.in.features(), units = op.out.c();
        const std::vector<float>& w = tensors.at(op.tensor_name(op.tensors.items[0])).data;
        const std::vector<float>* b = op.spec.bias ? &tensors.at(op.tensor_name(op.tensors.items[1])).data : nullptr;
        const TensorLayout weight = tensor_layout(op, 0, Packing{});
        const Layout feature = feature_layout(op.flatten_source, features);
        reference::Values out(std::size_t(op.out.elements()));
        std::int64_t coordinates[4]{};
        for (std::int64_t n = 0; n < op.in.n(); ++n)
            for (std::int64_t u = 0; u < units; ++u) {
                double sum = b ? (*b)[std::size_t(u)] : 0.0;
                for (std::int64_t f = 0; f < features; ++f) {  // snc's feature f: PyTorch's w(u, c, y, x)
                    coordinates[0] = u;
                    feature.coordinates(f, coordinates + 1);
                    sum += double(w[std::size_t(weight.source.offset(coordinates))]) * in[std::size_t(n * features + f)];
                }
                out[std::size_t(n * units + u)] = sum;
            }
        return out;
    }

    Expr lower(StageContext& stage) const override {
        const Op& op = stage.main();
        Var c = stage.lowered.c, n = stage.lowered.n;
        FeatureReduction fr = feature_reduction(op, stage.stage.name + "_r");
        fr.weight_coordinates[0] = c;
        const int image = stage.plan.graph.flattened_image(op.input);
        Expr in = image >= 0 ? stage.value(image)(fr.channel, fr.column, fr.row, n) : stage.value(op.input)(fr.feature, n);
        Func acc(stage.stage.name + "_acc");
        acc(c, n) = stage.bias(c);
        acc(c, n) += stage.weight(fr.weight_coordinates) * in;
        stage.funcs.pattern = Pattern::tiles;
        stage.funcs.accumulator = acc;
        stage.funcs.reduction = fr.r;
        return acc(c, n);
    }

    void forward(TrainingContext& t, int i) const override {
        Training& f = t.funcs();
        Var c = f.c, n = f.n;
        const Op& op = t.op(i);
        FeatureReduction fr = feature_reduction(op, t.name(i, "_r"));
        fr.weight_coordinates[0] = c;
        const int image = t.flattened_image(op.input);
        Func source = t.value(image >= 0 ? image : op.input);
        t.reread(source);  // once per unit
        Expr in = image >= 0 ? source(fr.channel, fr.column, fr.row, n) : source(fr.feature, n);
        Func acc(t.name(i, "_acc")), out(t.name(i, ""));
        acc(c, n) = op.spec.bias ? t.parameter(i, 1, {c}) : t.real(0);
        acc(c, n) += t.parameter(i, 0, fr.weight_coordinates) * in;
        out(c, n) = acc(c, n);
        f.tiles.push_back({out, acc, {int(op.out.c()), int(op.out.n())}});
        t.define_value(i, out);
    }

    // db(u) = sum over n of g(u, n),  dw(u, f) = sum over n of g(u, n) in(f, n),  din(f, n) = sum over u of w(u, f) g(u, n)
    void backward(TrainingContext& t, int i, Func g) const override {
        Training& f = t.funcs();
        Var c = f.c, n = f.n, ci = f.ci;
        const Op& op = t.op(i);
        const int units = int(op.spec.units), features = int(op.in.features()), batch = int(op.in.n());
        const Layout feature = feature_layout(op.flatten_source, features);
        Func in = t.value(op.input);
        t.reread(g);  // once per feature tile
        if (op.spec.bias) {
            Func db = t.channel_sum(t.name(i, "_db"), op.out, [&](Expr c, Expr, Expr, Expr n) { return g(c, n); });
            t.set_tensor_gradient(i, 1, [db](const std::vector<Expr>& at) { return db(at[0]); });
        }
        RDom r(0, batch, t.name(i, "_dw_r"));
        Func dw_acc(t.name(i, "_dw_acc")), dw(t.name(i, "_dw"));
        dw_acc(c, ci) = t.real(0);
        dw_acc(c, ci) += g(c, r) * in(ci, r);
        dw(c, ci) = dw_acc(c, ci);
        f.tiles.push_back({dw, dw_acc, {units, features}});
        t.set_tensor_gradient(i, 0, [dw, feature](const std::vector<Expr>& at) { return dw(at[0], feature.offset(at.data() + 1)); });
        if (!t.needs_input_gradient(i)) return;

        Var unit("unit"), feature_var("feature");
        Func weights(t.name(i, "_weights"));  // (u, f), read along f below
        std::vector<Expr> coordinates(std::size_t(feature.rank + 1));
        coordinates[0] = unit;
        feature.coordinates(Expr(feature_var), coordinates.data() + 1);
        weights(unit, feature_var) = t.parameter(i, 0, coordinates);
        f.weight_views.push_back({weights, {units, features}, feature_var});
        RDom ru(0, units, t.name(i, "_din_r"));
        Func din_acc(t.name(i, "_din_acc")), din(t.name(i, "_din"));
        din_acc(c, n) = t.real(0);
        din_acc(c, n) += weights(ru, c) * g(ru, n);
        din(c, n) = din_acc(c, n);
        f.tiles.push_back({din, din_acc, {features, batch}});
        t.add_gradient(op.input, din);
    }
};

}  // namespace

const OpCompiler& dense_op() {
    static const Dense compiler;
    return compiler;
}

}  // namespace snc::halide
