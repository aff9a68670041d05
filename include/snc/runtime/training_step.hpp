// One training step, chained over the network's segments (training.hpp):
//
//   forward   segment 0, 1, ..., K-2 in turn, each from the activation the one before produced
//   backward  the last segment (forward again, loss, backward), then K-2 down to 0, each from the
//             gradient of its output; every segment writes its parameter gradients and its batch
//             statistics into its own range of the flat buffers
//   SGD       v <- momentum v + (g + weight_decay p),  p <- p - lr v   (PyTorch's SGD, dampening 0)
//   running   r <- (1 - M) r + M batch, with the unbiased batch variance m / (m - 1) var
//
// The segments run on an Engine: AOT-compiled functions in the trainers (runtime/aot_training.hpp),
// Halide's JIT in the tests (halide/jit.hpp), so both run this same code. An Engine provides
//   forward(s, SegmentBuffers) and backward(s, SegmentBuffers)
// with the calling convention of runtime/segments.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include <snc/runtime/segments.hpp>

namespace snc {

struct Hyperparameters {
    float learning_rate = 0.1f, momentum = 0.0f, weight_decay = 0.0f;
};

// Real is float in the trainers; the gradient checks run it in double.
template <class Real = float>
class TrainingStep {
public:
    TrainingStep(const TrainingLayout& layout, std::vector<Segment> segments)
        : layout_(layout), segments_(std::move(segments)),
          gradients_(std::size_t(layout.parameter_floats), 0.0f),
          batch_statistics_(std::size_t(layout.statistic_floats), 0.0f) {
        for (std::size_t s = 0; s <= segments_.size(); ++s) {
            const bool inner = s > 0 && s < segments_.size();  // the images and the logits are not kept here
            std::size_t elements = inner ? std::size_t(layout.graph.shape_of(segments_[s].input()).elements()) : 0;
            activations_.emplace_back(elements);
            boundary_gradients_.emplace_back(elements);
        }
        logits_.resize(std::size_t(layout.graph.shape_of(layout.graph.output).elements()));
    }

    const TrainingLayout& layout() const { return layout_; }
    const std::vector<Segment>& segments() const { return segments_; }
    const std::vector<Real>& gradients() const { return gradients_; }
    // Each BatchNorm's batch mean and biased variance from the last step or forward pass, where its
    // running mean and variance sit in the statistics buffer.
    const std::vector<Real>& batch_statistics() const { return batch_statistics_; }
    const std::vector<Real>& logits() const { return logits_; }

    struct Result {
        Real loss = 0, correct = 0;
    };

    // One step on a batch: parameters, velocity and running statistics in the layout's buffers.
    // `seed` picks the step's random stream (dropout). With update false, only the gradients and
    // batch statistics are computed.
    template <class Engine>
    Result run(Engine& engine, const Real* images, const std::int32_t* labels, std::vector<Real>& parameters,
               std::vector<Real>& velocity, std::vector<Real>& statistics, Hyperparameters h, std::uint32_t seed = 0,
               bool update = true) {
        const std::size_t last = segments_.size() - 1;
        for (std::size_t s = 0; s < last; ++s)
            engine.forward(int(s), SegmentBuffers<Real>{.input = input_of(s, images),
                                                        .parameters = parameters.data(),
                                                        .seed = seed,
                                                        .output = activations_[s + 1].data(),
                                                        .batch_statistics = batch_statistics_.data()});
        Real loss_stats[2] = {0, 0};
        for (std::size_t s = last + 1; s-- > 0;)
            engine.backward(int(s), SegmentBuffers<Real>{.input = input_of(s, images),
                                                         .labels = labels,
                                                         .parameters = parameters.data(),
                                                         .seed = seed,
                                                         .output_gradient = s == last ? nullptr : boundary_gradients_[s + 1].data(),
                                                         .input_gradient = s ? boundary_gradients_[s].data() : nullptr,
                                                         .parameter_gradients = gradients_.data(),
                                                         .batch_statistics = batch_statistics_.data(),
                                                         .loss_stats = loss_stats});
        if (update) {
            sgd(parameters, velocity, h);
            update_running_statistics(statistics);
        }
        return {loss_stats[0], loss_stats[1]};
    }

    // The forward pass in training mode alone: the logits and every BatchNorm's batch statistics.
    template <class Engine>
    void forward(Engine& engine, const Real* images, const std::vector<Real>& parameters, std::uint32_t seed = 0) {
        for (std::size_t s = 0; s < segments_.size(); ++s)
            engine.forward(int(s), SegmentBuffers<Real>{.input = input_of(s, images),
                                                        .parameters = parameters.data(),
                                                        .seed = seed,
                                                        .output = s + 1 < segments_.size() ? activations_[s + 1].data() : logits_.data(),
                                                        .batch_statistics = batch_statistics_.data()});
    }

private:
    const Real* input_of(std::size_t s, const Real* images) const { return s == 0 ? images : activations_[s].data(); }

    void sgd(std::vector<Real>& parameters, std::vector<Real>& velocity, Hyperparameters h) const {
        const Real* g = gradients_.data();
        Real* p = parameters.data();
        Real* v = velocity.data();
        const Real momentum = h.momentum, decay = h.weight_decay, rate = h.learning_rate;
        for (std::size_t k = 0; k < parameters.size(); ++k) {
            v[k] = momentum * v[k] + g[k] + decay * p[k];
            p[k] -= rate * v[k];
        }
    }

    void update_running_statistics(std::vector<Real>& running) const {
        for (const TrainingTensor& tensor : layout_.statistics) {
            const Op& op = layout_.graph.ops[std::size_t(tensor.op)];
            const double m = double(batch_norm_count(op.in)), momentum = op.spec.momentum;
            const double correction = op.tensors.items[tensor.slot].role == TensorRole::running_var && m > 1 ? m / (m - 1) : 1.0;
            for (std::int64_t c = 0; c < tensor.elements; ++c) {
                const std::size_t at = std::size_t(tensor.offset + c);
                running[at] = Real((1 - momentum) * running[at] + momentum * batch_statistics_[at] * correction);
            }
        }
    }

    const TrainingLayout& layout_;
    std::vector<Segment> segments_;
    std::vector<std::vector<Real>> activations_, boundary_gradients_;  // by segment: its input
    std::vector<Real> gradients_, batch_statistics_, logits_;
};

}  // namespace snc
