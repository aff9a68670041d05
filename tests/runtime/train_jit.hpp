// A network's training segments compiled with Halide's JIT, in float32 or float64, with snc's CPU
// schedule: the same lowering the training compiler uses, driven by the same TrainingStep.
#pragma once

#include <cstdlib>
#include <memory>
#include <vector>

#include <Halide.h>

#include <snc/halide/train.hpp>
#include <snc/train_step.hpp>

namespace snc::testing {

template <class T>
class JitTraining {
public:
    // `budget` ops per segment: small budgets cut a network into many segments, to test the chaining.
    explicit JitTraining(const Graph& graph, int budget = 20)
        : layout_(training_layout(graph)), step_(layout_, training_segments(graph, budget)) {
        const Halide::Target target = Halide::get_jit_target_from_environment();
        const std::size_t count = step_.segments().size();
        for (std::size_t s = 0; s < count; ++s) {
            const Segment& segment = step_.segments()[s];
            auto pass = std::make_unique<Compiled>(graph, segment);
            halide::SegmentInputs inputs{pass->input, pass->labels, pass->parameters, pass->output_gradient};
            if (s + 1 < count) {
                pass->forward = halide::lower_training_segment(layout_, segment, halide::SegmentPass::forward, inputs,
                                                               Halide::type_of<T>());
                if (!std::getenv("SNC_NO_SCHEDULE")) halide::schedule_training_cpu(pass->forward, target);
            }
            if (s + 1 < count) inputs.labels = Halide::Func();
            else inputs.output_gradient = Halide::Func();
            pass->backward = halide::lower_training_segment(layout_, segment, halide::SegmentPass::backward, inputs,
                                                            Halide::type_of<T>());
            if (!std::getenv("SNC_NO_SCHEDULE")) halide::schedule_training_cpu(pass->backward, target);
            std::vector<Halide::Func> outputs;
            if (pass->backward.input_gradient.defined()) outputs.push_back(pass->backward.input_gradient);
            outputs.push_back(pass->backward.parameter_gradients);
            outputs.push_back(pass->backward.batch_statistics);
            if (pass->backward.loss_stats.defined()) outputs.push_back(pass->backward.loss_stats);
            pass->backward_pipeline = Halide::Pipeline(outputs);
            segments_.push_back(std::move(pass));
        }
    }

    const TrainingLayout& layout() const { return layout_; }
    TrainingStep<T>& step() { return step_; }
    halide::Training& forward_funcs(int s) { return segments_[std::size_t(s)]->forward; }
    halide::Training& backward_funcs(int s) { return segments_[std::size_t(s)]->backward; }

    // The Engine interface of TrainingStep.
    void forward(int s, const T* input, const T* parameters, T* output) {
        Compiled& pass = *segments_[std::size_t(s)];
        bind(pass, input, parameters);
        Shape shape = layout_.graph.shape_of(pass.segment.output());
        Halide::Buffer<T> result(output, halide::halide_extents(shape));
        pass.forward.output.realize(result);
    }

    void backward(int s, const SegmentBuffers<T>& b) {
        Compiled& pass = *segments_[std::size_t(s)];
        bind(pass, b.input, b.parameters);
        if (b.labels) pass.labels.set(Halide::Buffer<int32_t>(const_cast<int32_t*>(b.labels), int(layout_.graph.input.n())));
        if (b.output_gradient)
            pass.output_gradient.set(Halide::Buffer<T>(const_cast<T*>(b.output_gradient),
                                                       halide::halide_extents(layout_.graph.shape_of(pass.segment.output()))));
        std::vector<Halide::Buffer<>> outputs;
        if (b.input_gradient)
            outputs.push_back(Halide::Buffer<T>(b.input_gradient, halide::halide_extents(layout_.graph.shape_of(pass.segment.input()))));
        outputs.push_back(range_buffer(b.parameter_gradients, range_of(layout_.parameters, pass.segment), pass.scratch[0]));
        outputs.push_back(range_buffer(b.batch_statistics, range_of(layout_.statistics, pass.segment), pass.scratch[1]));
        if (b.loss_stats) outputs.push_back(Halide::Buffer<T>(b.loss_stats, 2));
        Halide::Realization realization(outputs);
        pass.backward_pipeline.realize(realization);
    }

private:
    struct Compiled {
        Compiled(const Graph& graph, const Segment& s)
            : segment(s),
              input(Halide::type_of<T>(), graph.shape_of(s.input()).rank, "input"),
              labels(Halide::Int(32), 1, "labels"),
              parameters(Halide::type_of<T>(), 1, "parameters"),
              output_gradient(Halide::type_of<T>(), graph.shape_of(s.output()).rank, "output_gradient") {}
        Segment segment;
        Halide::ImageParam input, labels, parameters, output_gradient;
        halide::Training forward, backward;
        Halide::Pipeline backward_pipeline;
        T scratch[2][1] = {{0}, {0}};  // the output of a segment without parameters or statistics
    };

    void bind(Compiled& pass, const T* input, const T* parameters) {
        pass.input.set(Halide::Buffer<T>(const_cast<T*>(input), halide::halide_extents(layout_.graph.shape_of(pass.segment.input()))));
        pass.parameters.set(Halide::Buffer<T>(const_cast<T*>(parameters), int(layout_.parameter_floats)));
    }

    // The range of a flat buffer that a segment writes, as a buffer whose coordinates are the flat
    // indices; a segment that owns no range writes one scratch element instead.
    static Halide::Buffer<T> range_buffer(T* base, FloatRange range, T* scratch) {
        if (range.size() == 0) return Halide::Buffer<T>(scratch, 1);
        Halide::Buffer<T> buffer(base + range.begin, int(range.size()));
        buffer.set_min(int(range.begin));
        return buffer;
    }

    TrainingLayout layout_;
    TrainingStep<T> step_;
    std::vector<std::unique_ptr<Compiled>> segments_;
};

}  // namespace snc::testing
