// The update passes of a training step: SGD and the running statistics, as pipelines over the
// flat buffers (runtime/segments.hpp), scheduled by the target's flat schedule.
#include <snc/halide/schedule.hpp>
#include <snc/halide/segment_pipeline.hpp>

namespace snc::halide {

using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Var;

namespace {
Halide::ImageParam flat_param(Halide::Type real, const std::string& name, std::int64_t floats) {
    Halide::ImageParam param(real, 1, name);
    param.dim(0).set_bounds(0, int(floats)).set_stride(1);
    return param;
}

void bound_output(Func f, std::int64_t floats) {
    f.output_buffer().dim(0).set_bounds(0, int(floats)).set_stride(1);
}
}  // namespace

UpdatePipeline sgd_pipeline(const TrainingLayout& layout, const Halide::Target& target, Halide::Type real) {
    UpdatePipeline u;
    const std::int64_t floats = layout.parameter_floats;
    u.parameters = flat_param(real, "parameters", floats);
    u.velocity = flat_param(real, "velocity", floats);
    u.gradients = flat_param(real, "gradients", floats);
    Var i("i");
    Func velocity("new_velocity"), parameters("new_parameters");
    velocity(i) = Halide::cast(real, u.momentum) * u.velocity(i) + u.gradients(i) + Halide::cast(real, u.weight_decay) * u.parameters(i);
    parameters(i) = u.parameters(i) - Halide::cast(real, u.learning_rate) * velocity(i);
    schedule_flat(velocity, int(floats), target);
    schedule_flat(parameters, int(floats), target);
    bound_output(parameters, floats);
    bound_output(velocity, floats);
    u.inputs = {u.parameters, u.velocity, u.gradients, u.learning_rate, u.momentum, u.weight_decay};
    u.pipeline = Halide::Pipeline({parameters, velocity});
    return u;
}

UpdatePipeline statistics_pipeline(const TrainingLayout& layout, const Halide::Target& target, Halide::Type real) {
    UpdatePipeline u;
    const std::int64_t floats = layout.statistic_floats;
    u.running = flat_param(real, "running", floats);
    u.batch = flat_param(real, "batch", floats);
    Var i("i");
    Func running("new_running");
    running(i) = u.running(i);  // the alignment gaps, and a network without batch norm
    for (const TrainingTensor& tensor : layout.statistics) {
        const Op& op = layout.graph.ops[std::size_t(tensor.op)];
        const double m = double(batch_norm_count(op.in)), momentum = op.spec.momentum;
        const double unbiased = op.tensors.items[tensor.slot].role == TensorRole::running_var && m > 1 ? m / (m - 1) : 1.0;
        RDom r(0, int(tensor.elements), "running_" + identifier(tensor.name));
        Expr at = int(tensor.offset) + r;
        running(at) = Halide::cast(real, Expr(1.0 - momentum)) * u.running(at) + Halide::cast(real, Expr(momentum * unbiased)) * u.batch(at);
    }
    schedule_flat(running, int(floats), target);
    bound_output(running, floats);
    u.inputs = {u.running, u.batch};
    u.pipeline = Halide::Pipeline(running);
    return u;
}

}  // namespace snc::halide
