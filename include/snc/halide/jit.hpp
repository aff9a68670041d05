// Networks compiled with Halide's JIT for this machine: the very lowering and schedules the
// generators and the training compiler use, for the tests and the benchmarks' building blocks.
//   JitNetwork      the inference pipeline of a plan
//   JitTraining<T>  the training segments of a graph, in float or (for gradient checks) double: an
//                   Engine for TrainingStep, like the trainers' AOT engine
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <Halide.h>

#include <snc/halide/lower.hpp>
#include <snc/halide/schedule.hpp>
#include <snc/halide/segment_pipeline.hpp>
#include <snc/io/tensor.hpp>
#include <snc/runtime/training_step.hpp>

namespace snc::halide {

class JitNetwork {
public:
    explicit JitNetwork(Plan plan, const Halide::Target& target = Halide::get_jit_target_from_environment())
        : plan_(std::move(plan)),
          input_(Halide::Float(32), plan_.graph.input.rank, "input"),
          weights_(Halide::Float(32), 1, "weights"),
          target_(target) {
        constrain(input_, plan_.graph.input);
        weights_.dim(0).set_bounds(0, int(plan_.packed_floats));
        lowered_ = lower(plan_, input_, weights_);
        schedule(lowered_, target_);
    }
    // The plan for this machine's JIT target.
    explicit JitNetwork(const Graph& graph)
        : JitNetwork(plan_inference(graph, inference_packing)) {}
    JitNetwork(const JitNetwork&) = delete;
    JitNetwork& operator=(const JitNetwork&) = delete;

    const Plan& plan() const { return plan_; }
    Halide::Func output() const { return lowered_.output; }

    Tensor run(const Tensor& input, std::vector<float>& packed) { return run(input, packed.data(), packed.size()); }
    Tensor run(const Tensor& input, float* packed, std::size_t count) {
        if (!compiled_) lowered_.output.compile_jit(target_), compiled_ = true;
        Halide::Buffer<float> in(const_cast<float*>(input.data.data()), halide_extents(plan_.graph.input));
        Halide::Buffer<float> w(packed, int(count));
        in.set_host_dirty();  // on a GPU target: to be copied to the device
        w.set_host_dirty();
        input_.set(in);
        weights_.set(w);
        const Shape out_shape = plan_.graph.shape_of(plan_.graph.output);
        Tensor out(dims_of(out_shape));
        Halide::Buffer<float> result(out.data.data(), halide_extents(out_shape));
        lowered_.output.realize(result, target_);
        result.copy_to_host();  // on a GPU target: the result is on the device
        return out;
    }

private:
    Plan plan_;
    Halide::ImageParam input_, weights_;
    Halide::Target target_;
    Lowered lowered_;
    bool compiled_ = false;
};

// Each network type's pipeline, compiled once per process and shared by every test that needs it.
template <NetworkType Net>
JitNetwork& jit() {
    static JitNetwork network(build_graph<Net>());
    return network;
}

template <class T>
class JitTraining {
public:
    // `budget` ops per segment: small budgets cut a network into many segments, to test the chaining.
    explicit JitTraining(const Graph& graph, int budget = 20,
                         const Halide::Target& target = Halide::get_jit_target_from_environment())
        : layout_(training_layout(graph, training_packing)), step_(layout_, training_segments(graph, budget)), target_(target),
          sgd_(sgd_pipeline(layout_, target, Halide::type_of<T>())),
          statistics_(statistics_pipeline(layout_, target, Halide::type_of<T>())) {
        const int count = int(step_.segments().size());
        for (int s = 0; s < count; ++s) {
            forward_.push_back(std::make_unique<SegmentPipeline>(
                segment_pipeline(layout_, step_.segments(), s, SegmentPass::forward, target, Halide::type_of<T>())));
            backward_.push_back(std::make_unique<SegmentPipeline>(
                segment_pipeline(layout_, step_.segments(), s, SegmentPass::backward, target, Halide::type_of<T>())));
        }
    }

    const TrainingLayout& layout() const { return layout_; }
    TrainingStep<T>& step() { return step_; }
    Training& forward_funcs(int s) { return forward_[std::size_t(s)]->funcs; }
    Training& backward_funcs(int s) { return backward_[std::size_t(s)]->funcs; }
    SegmentPipeline& backward_pipeline(int s) { return *backward_[std::size_t(s)]; }

    // The Engine interface of TrainingStep: the CPU (the JIT is for tests; a GPU's driver and
    // Halide's LLVM share a process badly, GPU-HALIDE14.md), so no device interface.
    const halide_device_interface_t* device_interface() const { return nullptr; }
    void forward(int s, const SegmentMemory& memory) { call(*forward_[std::size_t(s)], s, memory); }
    void backward(int s, const SegmentMemory& memory) { call(*backward_[std::size_t(s)], s, memory); }

    void sgd(halide_buffer_t* parameters, halide_buffer_t* velocity, halide_buffer_t* gradients, Hyperparameters h) {
        sgd_.parameters.set(Halide::Buffer<T>(*parameters));
        sgd_.velocity.set(Halide::Buffer<T>(*velocity));
        sgd_.gradients.set(Halide::Buffer<T>(*gradients));
        sgd_.learning_rate.set(h.learning_rate);
        sgd_.momentum.set(h.momentum);
        sgd_.weight_decay.set(h.weight_decay);
        std::vector<Halide::Buffer<>> outputs{Halide::Buffer<T>(*parameters), Halide::Buffer<T>(*velocity)};
        Halide::Realization updated(outputs);
        sgd_.pipeline.realize(updated, target_);
    }
    void update_statistics(halide_buffer_t* running, halide_buffer_t* batch) {
        statistics_.running.set(Halide::Buffer<T>(*running));
        statistics_.batch.set(Halide::Buffer<T>(*batch));
        Halide::Buffer<T> updated(*running);
        statistics_.pipeline.realize(updated, target_);
    }

private:
    void call(SegmentPipeline& p, int s, const SegmentMemory& memory) {
        std::vector<Halide::Runtime::Buffer<void>> crops(p.arguments.size());
        std::vector<Halide::Buffer<>> outputs;
        for (std::size_t k = 0; k < p.arguments.size(); ++k) {
            const SegmentSlot slot = p.arguments[k];
            if (slot.argument == SegmentArgument::seed) {
                p.seed.set(memory.seed);
                continue;
            }
            Halide::Buffer<> buffer(*argument_buffer(slot, layout_, step_.segments(), s, memory, scratch_.raw_buffer(), crops[k]));
            if (is_output(slot, p.pass)) {
                outputs.push_back(buffer);
                continue;
            }
            switch (slot.argument) {
                case SegmentArgument::input: p.input.set(buffer); break;
                case SegmentArgument::labels: p.labels.set(buffer); break;
                case SegmentArgument::parameters: p.parameters.set(buffer); break;
                case SegmentArgument::output_gradient: p.output_gradient.set(buffer); break;
                case SegmentArgument::conv_output: p.conv_outputs[std::size_t(slot.index)].set(buffer); break;
                default: break;
            }
        }
        Halide::Realization realization(outputs);
        p.pipeline.realize(realization, target_);
    }

    TrainingLayout layout_;
    TrainingStep<T> step_;
    Halide::Target target_;
    std::vector<std::unique_ptr<SegmentPipeline>> forward_, backward_;
    UpdatePipeline sgd_, statistics_;
    Halide::Buffer<T> scratch_{1};  // the output of a segment without parameters or statistics
};

}  // namespace snc::halide
