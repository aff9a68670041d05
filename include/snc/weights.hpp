// Weights: a PyTorch state_dict checked against the declared network, folded and packed for the
// inference plan, or initialized here.
//
// Inference folds each BatchNorm into the conv or dense before it, with the population statistics:
//   s = gamma / sqrt(running_var + eps),  W' = W * s (per output channel),  b' = (b - running_mean) * s + beta
// A BatchNorm with nothing to fold into becomes scale = s, shift = beta - running_mean * s.
// PyTorch flattens (C, H, W) where snc flattens (H, W, C): per-feature tensors that follow a
// Flatten (a Dense weight's input axis, BatchNorm1d's vectors) are permuted while packing.
#pragma once

#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <snc/io/tensor.hpp>
#include <snc/plan.hpp>

namespace snc {

// Checks every expected tensor's presence and shape; lists missing and unexpected names.
// `source` names the file in the message. Names in `ignored` (num_batches_tracked) are accepted.
inline void check_state_dict(const Graph& graph, const StateDict& tensors, const std::string& source,
                             const std::vector<std::string>& ignored = {}) {
    std::vector<std::string> problems, missing;
    std::set<std::string> expected;
    for (const Op& op : graph.ops) {
        for (const TensorSpec& spec : op.tensors) {
            std::string name = op.tensor_name(spec);
            expected.insert(name);
            auto found = tensors.find(name);
            if (found == tensors.end()) {
                missing.push_back(name);
                continue;
            }
            std::vector<std::int64_t> want(spec.dims, spec.dims + spec.rank);
            if (found->second.shape != want)
                problems.push_back("'" + name + "' of layer " + std::to_string(op.element) + " (" + op.type +
                                   ") has shape " + dims_text(found->second.shape) + " but the network needs " +
                                   dims_text(want));
        }
    }
    std::vector<std::string> unexpected;
    for (const auto& [name, tensor] : tensors)
        if (!expected.count(name)) unexpected.push_back(name);
    for (const std::string& name : ignored)
        if (!name.ends_with("num_batches_tracked")) unexpected.push_back(name);
    if (problems.empty() && missing.empty() && unexpected.empty()) return;

    std::string message = source + ": the weights do not fit the network:";
    for (const std::string& problem : problems) message += "\n  " + problem;
    auto list = [&](const char* what, const std::vector<std::string>& names) {
        if (names.empty()) return;
        message += "\n  " + std::to_string(names.size()) + " " + what + ":";
        for (std::size_t i = 0; i < names.size() && i < 12; ++i) message += " " + names[i];
        if (names.size() > 12) message += " ...";
    };
    list("missing", missing);
    list("unexpected", unexpected);
    throw Error(message);
}

namespace detail {
// PyTorch's feature index for snc's feature f of a flattened (H, W, C) image.
inline std::int64_t torch_feature(std::int64_t f, const Shape& image) {
    if (image.rank != 4) return f;
    std::int64_t c = f % image.c(), x = (f / image.c()) % image.w(), y = f / (image.c() * image.w());
    return (c * image.h() + y) * image.w() + x;
}

// snc's layouts put the output channel (or unit) innermost, so vector loads over channels are
// contiguous:
//   conv weight  [ky][kx][ci][co]   (PyTorch: [co][ci][ky][kx])
//   dense weight [f][u]             (PyTorch: [u][f], f in its (C, H, W) order after a Flatten)
//   vectors      [c]                (BatchNorm1d after a Flatten: PyTorch's (C, H, W) order)
// torch_index gives, for element k of tensor `slot` of `op` in snc's layout, its index in PyTorch's.
inline std::int64_t torch_index(const Op& op, int slot, std::int64_t k) {
    const TensorSpec& spec = op.tensors.items[slot];
    if (op.spec.kind == OpKind::conv && slot == 0) {
        std::int64_t co_count = spec.dims[0], ci_count = spec.dims[1], kernel = spec.dims[2];
        std::int64_t co = k % co_count, ci = (k / co_count) % ci_count, kx = (k / (co_count * ci_count)) % kernel,
                     ky = k / (co_count * ci_count * kernel);
        return ((co * ci_count + ci) * kernel + ky) * kernel + kx;
    }
    if (op.spec.kind == OpKind::dense && slot == 0) {
        std::int64_t units = spec.dims[0], features = spec.dims[1];
        return (k % units) * features + torch_feature(k / units, op.flatten_source);
    }
    if (op.spec.kind == OpKind::batch_norm) return torch_feature(k, op.flatten_source);
    return k;
}

struct Folding {  // the per-channel affine map of a folded (or lone) BatchNorm
    std::vector<double> scale, shift;
};

inline Folding batch_norm_folding(const Op& bn, const StateDict& tensors) {
    const Tensor& gamma = tensors.at(bn.tensor_name(bn.tensors.items[0]));
    const Tensor& beta = tensors.at(bn.tensor_name(bn.tensors.items[1]));
    const Tensor& mean = tensors.at(bn.tensor_name(bn.tensors.items[2]));
    const Tensor& var = tensors.at(bn.tensor_name(bn.tensors.items[3]));
    std::int64_t channels = bn.in.c();
    Folding folding{std::vector<double>(std::size_t(channels)), std::vector<double>(std::size_t(channels))};
    for (std::int64_t c = 0; c < channels; ++c) {
        std::int64_t t = torch_feature(c, bn.flatten_source);
        double s = gamma.data[std::size_t(t)] / std::sqrt(double(var.data[std::size_t(t)]) + double(bn.spec.epsilon));
        folding.scale[std::size_t(c)] = s;
        folding.shift[std::size_t(c)] = beta.data[std::size_t(t)] - mean.data[std::size_t(t)] * s;
    }
    return folding;
}
}  // namespace detail

// The packed, folded weights of `plan` (see plan.hpp for the layout).
inline std::vector<float> pack_inference_weights(const Plan& plan, const StateDict& tensors, const std::string& source,
                                                 const std::vector<std::string>& ignored = {}) {
    check_state_dict(plan.graph, tensors, source, ignored);
    std::vector<float> packed(std::size_t(plan.packed_floats), 0.0f);
    for (const Stage& stage : plan.stages) {
        if (stage.weight_offset < 0) continue;
        const Op& main = plan.graph.ops[std::size_t(stage.ops[0])];
        float* weight = packed.data() + stage.weight_offset;
        float* bias = packed.data() + stage.bias_offset;
        if (stage.kind == StageKind::affine) {
            detail::Folding folding = detail::batch_norm_folding(main, tensors);
            for (std::size_t c = 0; c < folding.scale.size(); ++c) {
                weight[c] = float(folding.scale[c]);
                bias[c] = float(folding.shift[c]);
            }
            continue;
        }
        std::int64_t units = stage.spec.units;
        detail::Folding folding{std::vector<double>(std::size_t(units), 1.0), std::vector<double>(std::size_t(units), 0.0)};
        if (stage.batch_norm >= 0)
            folding = detail::batch_norm_folding(plan.graph.ops[std::size_t(stage.batch_norm)], tensors);
        const Tensor& w = tensors.at(main.tensor_name(main.tensors.items[0]));
        const Tensor* b = main.spec.bias ? &tensors.at(main.tensor_name(main.tensors.items[1])) : nullptr;
        for (std::int64_t u = 0; u < units; ++u) {
            double s = folding.scale[std::size_t(u)];
            bias[u] = float(((b ? b->data[std::size_t(u)] : 0.0) * s) + folding.shift[std::size_t(u)]);
        }
        const std::int64_t count = stage.weight_elements;
        for (std::int64_t k = 0; k < count; ++k)  // output channel or unit innermost in snc's layouts
            weight[k] = float(w.data[std::size_t(detail::torch_index(main, 0, k))] * folding.scale[std::size_t(k % units)]);
    }
    return packed;
}

enum class Init {
    pytorch,  // PyTorch's defaults: conv and linear U(-1/sqrt(fan_in), 1/sqrt(fan_in)), BN gamma 1, beta 0
    xavier,   // d2l's init_cnn: Xavier-uniform weights, zero biases
};

// Fresh weights with PyTorch's names and shapes; running statistics mean 0, variance 1.
inline StateDict initial_state_dict(const Graph& graph, std::uint64_t seed, Init init = Init::pytorch) {
    std::mt19937_64 random(seed);
    StateDict tensors;
    for (const Op& op : graph.ops) {
        for (const TensorSpec& spec : op.tensors) {
            Tensor tensor(std::vector<std::int64_t>(spec.dims, spec.dims + spec.rank));
            std::string name(spec.name);
            if (op.spec.kind == OpKind::batch_norm) {
                std::fill(tensor.begin(), tensor.end(), name == "weight" || name == "running_var" ? 1.0f : 0.0f);
            } else {
                const TensorSpec& weight = op.tensors.items[0];
                std::int64_t fan_out = weight.dims[0], fan_in = weight.elements() / weight.dims[0];
                double receptive = weight.rank == 4 ? double(weight.dims[2] * weight.dims[3]) : 1.0;
                double bound = 1.0 / std::sqrt(double(fan_in));
                if (init == Init::xavier) bound = name == "weight" ? std::sqrt(6.0 / (fan_in + fan_out * receptive)) : 0.0;
                std::uniform_real_distribution<double> uniform(-bound, bound);
                for (float& v : tensor) v = bound > 0 ? float(uniform(random)) : 0.0f;
            }
            tensors.emplace(op.tensor_name(spec), std::move(tensor));
        }
    }
    return tensors;
}

}  // namespace snc
