// The table of op files, made from the list of op kinds (SNC_OP_KINDS in layers/layer.hpp), and
// what the op files share.
#include "op.hpp"

namespace snc::halide {

const OpCompiler& compiler_of(OpKind kind) {
    static const OpCompiler* const table[] = {
#define SNC_OP_COMPILER_ENTRY(kind) &kind##_op(),
        SNC_OP_KINDS(SNC_OP_COMPILER_ENTRY)
#undef SNC_OP_COMPILER_ENTRY
    };
    return *table[std::size_t(kind)];
}

Expr OpCompiler::lower(StageContext& stage) const {
    throw Error("snc: a " + std::string(op_kind_name(stage.main().spec.kind)) + " op cannot start an inference stage");
}

Expr OpCompiler::fuse(StageContext&, const Op& op, Expr) const {
    throw Error("snc: a " + std::string(op_kind_name(op.spec.kind)) + " op cannot be fused into the stage before it");
}

reference::Values PerChannelAffine::reference(const Op& op, const std::vector<reference::Values>& values,
                                              const StateDict& tensors) const {
    const reference::Values& in = values[std::size_t(op.input)];
    const BatchNormFolding folding = batch_norm_folding(op, tensors);  // in PyTorch's order of the channels
    const std::int64_t channels = op.in.c();
    std::vector<std::size_t> source(static_cast<std::size_t>(channels), 0);  // snc's channel -> PyTorch's
    for_each_element(tensor_layout(op, 0, Packing{}),
                     [&](std::int64_t packed, std::int64_t from) { source[std::size_t(packed)] = std::size_t(from); });
    reference::Values out(in.size());
    for (std::size_t k = 0; k < in.size(); ++k) {
        const std::size_t c = source[k % std::size_t(channels)];
        out[k] = in[k] * folding.scale[c] + folding.shift[c];
    }
    return out;
}

Expr PerChannelAffine::lower(StageContext& stage) const {
    std::vector<Expr> args = stage.args(stage.stage.out);
    stage.funcs.pattern = Pattern::rowwise;
    return stage.value(stage.stage.input)(args) * stage.scale(args[0]) + stage.bias(args[0]);
}

void set_affine_gradients(TrainingContext& t, int i, const Func& g, const Func& x_hat) {
    const Op& op = t.op(i);
    const Shape s = op.in;
    auto at = [&](const Func& func, Expr c, Expr x, Expr y, Expr n) { return s.is_image() ? func(c, x, y, n) : func(c, n); };
    Func dbeta = t.channel_sum(t.name(i, "_dbeta"), s, [&](Expr c, Expr x, Expr y, Expr n) { return at(g, c, x, y, n); });
    Func dgamma = t.channel_sum(t.name(i, "_dgamma"), s, [&](Expr c, Expr x, Expr y, Expr n) {
        return at(g, c, x, y, n) * at(x_hat, c, x, y, n);
    });
    // Their coordinates are PyTorch's; the Funcs run over snc's channels (features).
    const Layout features = tensor_layout(op, 0, t.funcs().layout->packing).packed;
    t.set_tensor_gradient(i, 0, [dgamma, features](const std::vector<Expr>& c) { return dgamma(features.offset(c.data())); });
    t.set_tensor_gradient(i, 1, [dbeta, features](const std::vector<Expr>& c) { return dbeta(features.offset(c.data())); });
    t.saved(i, "dgamma") = dgamma;
    t.saved(i, "dbeta") = dbeta;
}

Func padded_input(const Func& in, const Shape& shape, Expr fill, const std::string& name) {
    Halide::Region region;
    for (int extent : halide_extents(shape)) region.emplace_back(0, extent);
    Func border = Halide::BoundaryConditions::constant_exterior(in, fill, region);
    Var c("c"), x("x"), y("y"), n("n");
    Func padded(name + "_padded");
    padded(c, x, y, n) = border(c, x, y, n);
    return padded;
}

}  // namespace snc::halide
