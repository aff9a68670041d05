// One training step, chained over the network's segments (training.hpp):
//
//   forward   segment 0, 1, ..., K-2 in turn, each from the activation the one before produced
//   backward  the last segment (forward again, loss, backward), then K-2 down to 0, each from the
//             gradient of its output; every segment writes its parameter gradients and its batch
//             statistics into its own range of the flat buffers
//   SGD       v <- momentum v + (g + weight_decay p),  p <- p - lr v   (PyTorch's SGD, dampening 0)
//   running   r <- (1 - M) r + M batch, with the unbiased batch variance m / (m - 1) var
//
// The segments run on an Engine: AOT-compiled functions in the trainers, Halide's JIT in the tests,
// so both run this same code. An Engine provides
//   forward(s, input, parameters, output)
//   backward(s, SegmentBuffers)
// on raw float buffers whose shapes and ranges it knows from the layout and the segments.
#pragma once

#include <cstdint>
#include <vector>

#include <snc/training.hpp>

namespace snc {

template <class Real = float>
struct SegmentBuffers {
    const Real* input = nullptr;            // the segment's input value
    const std::int32_t* labels = nullptr;   // the last segment
    const Real* parameters = nullptr;       // the whole parameter buffer
    const Real* output_gradient = nullptr;  // all but the last segment
    Real* input_gradient = nullptr;         // segments after the first
    Real* parameter_gradients = nullptr;    // the whole gradient buffer: the segment writes its range
    Real* batch_statistics = nullptr;       // the whole statistics-shaped buffer, likewise
    Real* loss_stats = nullptr;             // the last segment: mean loss, correct predictions
};

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
        for (std::size_t s = 0; s < segments_.size(); ++s) {
            std::size_t elements = s ? std::size_t(layout.graph.shape_of(segments_[s].input()).elements()) : 0;
            activations_.emplace_back(elements);
            boundary_gradients_.emplace_back(elements);
        }
    }

    const std::vector<Segment>& segments() const { return segments_; }
    const std::vector<Real>& gradients() const { return gradients_; }
    const std::vector<Real>& batch_statistics() const { return batch_statistics_; }

    struct Result {
        Real loss = 0, correct = 0;
    };

    // One step on a batch: parameters, velocity and running statistics in the layout's buffers.
    // With update false, only the gradients and batch statistics are computed.
    template <class Engine>
    Result run(Engine& engine, const Real* images, const std::int32_t* labels, std::vector<Real>& parameters,
               std::vector<Real>& velocity, std::vector<Real>& statistics, Hyperparameters h, bool update = true) {
        const std::size_t last = segments_.size() - 1;
        auto input_of = [&](std::size_t s) { return s == 0 ? images : activations_[s].data(); };
        for (std::size_t s = 0; s < last; ++s) engine.forward(int(s), input_of(s), parameters.data(), activations_[s + 1].data());
        Real loss_stats[2] = {0, 0};
        for (std::size_t s = last + 1; s-- > 0;) {
            SegmentBuffers<Real> buffers{.input = input_of(s),
                                   .labels = s == last ? labels : nullptr,
                                   .parameters = parameters.data(),
                                   .output_gradient = s == last ? nullptr : boundary_gradients_[s + 1].data(),
                                   .input_gradient = s ? boundary_gradients_[s].data() : nullptr,
                                   .parameter_gradients = gradients_.data(),
                                   .batch_statistics = batch_statistics_.data(),
                                   .loss_stats = s == last ? loss_stats : nullptr};
            engine.backward(int(s), buffers);
        }
        if (update) {
            sgd(parameters, velocity, h);
            update_running_statistics(statistics);
        }
        return {loss_stats[0], loss_stats[1]};
    }

private:
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
        for (std::size_t k = 0; k < layout_.graph.ops.size(); ++k) {
            const Op& op = layout_.graph.ops[k];
            if (op.spec.kind != OpKind::batch_norm) continue;
            const double m = double(op.in.is_image() ? op.in.n() * op.in.h() * op.in.w() : op.in.n());
            const double momentum = op.spec.momentum, unbiased = m > 1 ? m / (m - 1) : 1.0;
            for (int slot : {2, 3}) {
                const TrainingTensor& tensor = layout_.statistic(int(k), slot);
                for (std::int64_t c = 0; c < tensor.elements; ++c) {
                    std::size_t at = std::size_t(tensor.offset + c);
                    double batch = batch_statistics_[at] * (slot == 3 ? unbiased : 1.0);
                    running[at] = Real((1 - momentum) * running[at] + momentum * batch);
                }
            }
        }
    }

    const TrainingLayout& layout_;
    std::vector<Segment> segments_;
    std::vector<std::vector<Real>> activations_, boundary_gradients_;  // by segment: its input
    std::vector<Real> gradients_, batch_statistics_;
};

}  // namespace snc
