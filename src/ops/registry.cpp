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
