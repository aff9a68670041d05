// Lowering of inference plans to Halide Funcs: for each stage, its main op's lowering, then the
// ops fused after it, each from its op file (src/ops/).
#include <snc/halide/lower.hpp>

#include "ops/op.hpp"

namespace snc::halide {

Lowered lower(const Plan& plan, Func input, Func packed, std::optional<Func> final_output) {
    Lowered lowered;
    lowered.plan = &plan;
    lowered.input = input;
    lowered.weights = packed;
    lowered.stages.resize(plan.stages.size());
    for (std::size_t s = 0; s < plan.stages.size(); ++s) {
        const Stage& stage = plan.stages[s];
        StageFuncs& funcs = lowered.stages[s];
        StageContext context{lowered, plan, stage, funcs};
        const bool last = int(s) == plan.output_stage();
        funcs.output = last && final_output ? *final_output : Func(stage.name);
        // An op that defines the stage's output itself (a concat: one copy per branch, each with
        // the fused ops) returns no value.
        Expr value = compiler_of(context.main().spec.kind).lower(context);
        if (!value.defined()) continue;
        for (std::size_t k = 1; k < stage.ops.size(); ++k) {
            const Op& op = plan.op(stage.ops[k]);
            value = compiler_of(op.spec.kind).fuse(context, op, value);
        }
        funcs.output(context.args(stage.out)) = value;
    }
    lowered.output = lowered.stages[std::size_t(plan.output_stage())].output;
    return lowered;
}

}  // namespace snc::halide
