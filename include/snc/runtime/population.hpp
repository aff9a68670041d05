// The course's population statistics: "in production, mean and variance are computed over the
// whole population {x}". The running averages that training keeps weigh the last ~10 batches
// (momentum 0.1) of a network that was still moving; this sets every BatchNorm's statistics to
// the mean over `batches` training batches of the batch means and unbiased variances (plus the
// variance of the batch means), with the final weights, from forward passes in training mode.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <snc/runtime/collective.hpp>
#include <snc/runtime/training_step.hpp>

namespace snc {

// Sets the step's running statistics to the population's. `next_batch(b)` fills the images of
// batch b and returns them (const Real*). In a data-parallel job (`processes`, of runtime/
// collective.hpp) each process passes its share of the same batches: with the batch norm
// synchronized, the batch statistics are already the whole batch's, of K times the values a
// process sees; otherwise the K processes' local statistics are pooled, as K times as many batches.
// Every process ends with the same statistics.
template <class Engine, class Real, class NextBatch>
void population_statistics(TrainingStep<Real>& step, Engine& engine, std::int64_t batches, NextBatch&& next_batch,
                           runtime::Collective* processes = nullptr) {
    const int K = processes ? processes->size() : 1;
    const bool synchronized = K > 1 && runtime::batch_norm_synchronized();
    const TrainingLayout& layout = step.layout();
    std::vector<Real> statistics = step.statistics();
    std::vector<double> sum(statistics.size(), 0.0), squares(statistics.size(), 0.0);
    for (std::int64_t b = 0; b < batches; ++b) {
        step.forward(engine, next_batch(b), std::uint32_t(b));
        const std::vector<Real> of_batch = step.batch_statistics();
        for (const TrainingTensor& tensor : layout.statistics) {
            const Op& op = layout.graph.ops[std::size_t(tensor.op)];
            const double m = double(batch_norm_count(op.in)) * (synchronized ? K : 1);
            const bool variance = op.tensors.items[tensor.slot].role == TensorRole::running_var;
            for (std::int64_t c = 0; c < tensor.elements; ++c) {
                const std::size_t at = std::size_t(tensor.offset + c);
                const double value = variance && m > 1 ? of_batch[at] * m / (m - 1) : of_batch[at];
                sum[at] += value;
                squares[at] += value * value;
            }
        }
    }
    if (K > 1 && !synchronized) {
        processes->sum(sum.data(), sum.size());
        processes->sum(squares.data(), squares.size());
        batches *= K;
    }
    for (const TrainingTensor& tensor : layout.statistics) {
        const Op& op = layout.graph.ops[std::size_t(tensor.op)];
        if (op.tensors.items[tensor.slot].role != TensorRole::running_mean) continue;
        const TrainingTensor* variances = nullptr;  // the same op's running variance
        for (const TrainingTensor& other : layout.statistics)
            if (other.op == tensor.op && op.tensors.items[other.slot].role == TensorRole::running_var) variances = &other;
        for (std::int64_t c = 0; c < tensor.elements; ++c) {
            const std::size_t mean_at = std::size_t(tensor.offset + c), var_at = std::size_t(variances->offset + c);
            const double mean = sum[mean_at] / double(batches);
            const double spread = std::max(0.0, squares[mean_at] / double(batches) - mean * mean);
            statistics[mean_at] = Real(mean);
            statistics[var_at] = Real(sum[var_at] / double(batches) + spread);
        }
    }
    step.set_statistics(statistics);
}

}  // namespace snc
