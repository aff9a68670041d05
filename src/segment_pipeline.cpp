// A training segment's pass as one pipeline, by the calling convention of runtime/segments.hpp.
#include <snc/halide/schedule.hpp>
#include <snc/halide/segment_pipeline.hpp>
#include <snc/runtime/collective.hpp>

namespace snc::halide {

std::map<std::string, Halide::JITExtern> training_jit_externs() {
    return {{"snc_collective_mean", Halide::JITExtern(snc_collective_mean)}};
}

SegmentPipeline segment_pipeline(const TrainingLayout& layout, const std::vector<Segment>& segments, int s, SegmentPass pass,
                                 const Halide::Target& target, Halide::Type real) {
    const Segment& segment = segments[std::size_t(s)];
    const Graph& graph = layout.graph;
    const std::vector<int> kept = kept_convs(graph, segments, s);
    SegmentPipeline p{.pass = pass,
                      .input = Halide::ImageParam(real, graph.shape_of(segment.input()).rank, "input"),
                      .labels = Halide::ImageParam(Halide::Int(32), 1, "labels"),
                      .parameters = Halide::ImageParam(real, 1, "parameters"),
                      .output_gradient = Halide::ImageParam(real, graph.shape_of(segment.output()).rank, "output_gradient"),
                      .seed = Halide::Param<std::uint32_t>("seed")};
    for (std::size_t k = 0; k < kept.size(); ++k)
        p.conv_outputs.emplace_back(real, graph.shape_of(kept[k]).rank, "conv_output" + std::to_string(k));
    p.arguments = segment_arguments(pass, graph, segments, s);
    auto bound = [&](auto& buffer, SegmentSlot slot) {
        const ArgumentShape shape = argument_shape(slot, layout, segments, s);
        int stride = 1;
        for (std::size_t d = 0; d < shape.extents.size(); ++d) {
            const int min = d == 0 ? shape.min : 0;
            buffer.dim(int(d)).set_bounds(min, shape.extents[d]).set_stride(stride).set_estimate(min, shape.extents[d]);
            stride *= shape.extents[d];
        }
    };
    bound(p.input, {SegmentArgument::input});
    bound(p.labels, {SegmentArgument::labels});
    bound(p.parameters, {SegmentArgument::parameters});
    bound(p.output_gradient, {SegmentArgument::output_gradient});
    for (std::size_t k = 0; k < kept.size(); ++k) bound(p.conv_outputs[k], {SegmentArgument::conv_output, int(k)});

    SegmentInputs inputs{p.input, p.labels, p.parameters, p.output_gradient, p.seed, kept};
    inputs.synchronizable = !target.has_gpu_feature();
    if (pass == SegmentPass::backward) inputs.conv_outputs.assign(p.conv_outputs.begin(), p.conv_outputs.end());
    p.funcs = lower_training_segment(layout, segment, pass, inputs, real);
    schedule(p.funcs, target);
    for (const SegmentSlot slot : p.arguments) {
        const bool output = is_output(slot, pass);
        switch (slot.argument) {
            case SegmentArgument::input: p.inputs.push_back(p.input); break;
            case SegmentArgument::labels: p.inputs.push_back(p.labels); break;
            case SegmentArgument::parameters: p.inputs.push_back(p.parameters); break;
            case SegmentArgument::seed: p.inputs.push_back(p.seed); break;
            case SegmentArgument::output_gradient: p.inputs.push_back(p.output_gradient); break;
            case SegmentArgument::conv_output:
                if (output) p.outputs.push_back(p.funcs.conv_outputs[std::size_t(slot.index)]);
                else p.inputs.push_back(p.conv_outputs[std::size_t(slot.index)]);
                break;
            case SegmentArgument::output: p.outputs.push_back(p.funcs.output); break;
            case SegmentArgument::input_gradient: p.outputs.push_back(p.funcs.input_gradient); break;
            case SegmentArgument::parameter_gradients: p.outputs.push_back(p.funcs.parameter_gradients); break;
            case SegmentArgument::batch_statistics: p.outputs.push_back(p.funcs.batch_statistics); break;
            case SegmentArgument::loss_stats: p.outputs.push_back(p.funcs.loss_stats); break;
        }
        if (output) {
            Halide::OutputImageParam buffer = p.outputs.back().output_buffer();
            bound(buffer, slot);
        }
    }
    p.pipeline = Halide::Pipeline(p.outputs);
    // The synchronized batch norm's stage for the JIT; an AOT step finds it by its C name at link time.
    p.pipeline.set_jit_externs(training_jit_externs());
    return p;
}

}  // namespace snc::halide
