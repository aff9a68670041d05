// BatchNorm<Options...>: batch normalization (Ioffe and Szegedy, 2015), as the course writes it.
//
// Contract
//   Epsilon<E> (default 1e-5f), Momentum<M> (default 0.1f, PyTorch's convention).
//   in = (N, H, W, C): statistics per channel over N, H, W (m = N * H * W values);
//   in = (N, F):       statistics per feature over N (m = N values).
//   out = in.
//   Training: mu = mean, var = mean of squared deviations (biased), x^ = (x - mu) / sqrt(var + E),
//             y = gamma * x^ + beta; running = (1 - M) * running + M * batch (unbiased variance).
//   Inference: the running mean and variance replace the batch's, and fold into the layer before.
//   parameters: weight (gamma) and bias (beta), (C); buffers running_mean and running_var, (C).
#pragma once

#include <snc/layers/options.hpp>

namespace snc {

// m, the number of values each channel's (or feature's) statistics are taken over.
constexpr std::int64_t batch_norm_count(Shape in) { return in.is_image() ? in.n() * in.h() * in.w() : in.n(); }

template <class... Options>
struct BatchNorm {
    static_assert((detail::option_in<Options, OptionFamily::normalization>() && ...),
                  "BatchNorm's options are Epsilon<E> and Momentum<M>");

    static constexpr std::string_view kind = "BatchNorm";
    static constexpr LayerOptions options = detail::fold_options<Options...>();

    static constexpr bool check(Shape in, Complaint& complaint) {
        if (!(options.epsilon > 0.0f)) {
            complaint << "epsilon must be positive";
            return false;
        }
        if (!(options.momentum >= 0.0f && options.momentum <= 1.0f)) {
            complaint << "momentum must lie in [0, 1]";
            return false;
        }
        return true;
    }
    static constexpr OpSpec spec(Shape) {
        return {.kind = OpKind::batch_norm, .role = OpRole::normalize, .epsilon = options.epsilon, .momentum = options.momentum};
    }
    static constexpr Shape output(Shape in) { return in; }
    static constexpr TensorList tensors(Shape in) {
        TensorList list;
        list.add({.name = "weight", .rank = 1, .dims = {in.c()}, .role = TensorRole::scale});
        list.add({.name = "bias", .rank = 1, .dims = {in.c()}, .role = TensorRole::shift});
        list.add({.name = "running_mean", .rank = 1, .dims = {in.c()}, .role = TensorRole::running_mean});
        list.add({.name = "running_var", .rank = 1, .dims = {in.c()}, .role = TensorRole::running_var});
        return list;
    }
    static constexpr std::int64_t macs(Shape) { return 0; }
};

}  // namespace snc
