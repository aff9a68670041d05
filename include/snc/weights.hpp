// Weights: a PyTorch state_dict checked against the declared network, folded and packed for the
// inference plan, or initialized here.
//
// Inference folds each BatchNorm into the conv or dense before it, with the population statistics:
//   s = gamma / sqrt(running_var + eps),  W' = W * s (per output channel),  b' = (b - running_mean) * s + beta
// A BatchNorm with nothing to fold into becomes scale = s, shift = beta - running_mean * s. A
// LayerScale folds the same way, its s = gamma and shift 0. A LayerNorm's stage reads its gamma
// and beta packed as such a scale and shift.
// Tensors are read and written through their layouts (layout.hpp), PyTorch's and snc's.
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

// The per-channel affine map of a batch norm with its running statistics, in PyTorch's order of
// its channels (or features).
struct BatchNormFolding {
    std::vector<double> scale, shift;
};

inline BatchNormFolding batch_norm_folding(const Op& bn, const StateDict& tensors) {
    auto vector = [&](int slot) -> const std::vector<float>& { return tensors.at(bn.tensor_name(bn.tensors.items[slot])).data; };
    if (bn.spec.kind == OpKind::layer_scale) {
        const std::vector<float>& gamma = vector(0);
        return {std::vector<double>(gamma.begin(), gamma.end()), std::vector<double>(gamma.size(), 0.0)};
    }
    if (bn.spec.kind == OpKind::layer_norm) {  // its affine part, after the normalization at each pixel
        const std::vector<float>&gamma = vector(0), &beta = vector(1);
        return {std::vector<double>(gamma.begin(), gamma.end()), std::vector<double>(beta.begin(), beta.end())};
    }
    const std::vector<float>&gamma = vector(0), &beta = vector(1), &mean = vector(2), &var = vector(3);
    BatchNormFolding folding{std::vector<double>(gamma.size()), std::vector<double>(gamma.size())};
    for (std::size_t c = 0; c < gamma.size(); ++c) {
        double s = gamma[c] / std::sqrt(double(var[c]) + double(bn.spec.epsilon));
        folding.scale[c] = s;
        folding.shift[c] = beta[c] - mean[c] * s;
    }
    return folding;
}

// The packed, folded weights of `plan` (see plan.hpp for what is packed, layout.hpp for how).
inline std::vector<float> pack_inference_weights(const Plan& plan, const StateDict& tensors, const std::string& source,
                                                 const std::vector<std::string>& ignored = {}) {
    check_state_dict(plan.graph, tensors, source, ignored);
    std::vector<float> packed(std::size_t(plan.packed_floats), 0.0f);
    for (const Stage& stage : plan.stages) {
        if (stage.weight_offset < 0) continue;
        const Op& main = plan.main_op(stage);
        float* weight = packed.data() + stage.weight_offset;
        float* bias = packed.data() + stage.bias_offset;
        if (main.spec.role == OpRole::normalize || main.spec.kind == OpKind::layer_norm) {
            BatchNormFolding folding = batch_norm_folding(main, tensors);
            for_each_element(tensor_layout(main, 0, plan.packing), [&](std::int64_t to, std::int64_t from) {
                weight[to] = float(folding.scale[std::size_t(from)]);
                bias[to] = float(folding.shift[std::size_t(from)]);
            });
            continue;
        }
        const std::int64_t units = main.spec.units;
        BatchNormFolding folding{std::vector<double>(std::size_t(units), 1.0), std::vector<double>(std::size_t(units), 0.0)};
        if (stage.batch_norm >= 0) folding = batch_norm_folding(plan.op(stage.batch_norm), tensors);
        const std::vector<float>& w = tensors.at(main.tensor_name(main.tensors.items[0])).data;
        const std::vector<float>* b = main.spec.bias ? &tensors.at(main.tensor_name(main.tensors.items[1])).data : nullptr;
        for (std::int64_t u = 0; u < units; ++u) {
            double s = folding.scale[std::size_t(u)];
            bias[u] = float(((b ? (*b)[std::size_t(u)] : 0.0) * s) + folding.shift[std::size_t(u)]);
        }
        if (stage.winograd_tile) {
            // U = G g G^T per (output, input) channel pair, the batch norm's scale folded in.
            const winograd::Transforms t = winograd::transforms(stage.winograd_tile);
            const Layout source = tensor_layout(main, 0, plan.packing).source, packed = winograd::weight_layout(main, stage.winograd_tile);
            for (std::int64_t co = 0; co < units; ++co)
                for (std::int64_t ci = 0; ci < main.in.c(); ++ci)
                    winograd::transform_kernel(
                        t, [&](std::int64_t ky, std::int64_t kx) { return double(w[std::size_t(source(co, ci, ky, kx))]); },
                        folding.scale[std::size_t(co)],
                        [&](std::int64_t a, std::int64_t b, double value) { weight[packed(co, ci, a + t.alpha * b)] = float(value); });
            continue;
        }
        // The output channel (unit) is the weight's first mode in PyTorch's row-major order.
        const std::int64_t per_output = main.tensors.items[0].elements() / units;
        for_each_element(tensor_layout(main, 0, plan.packing), [&](std::int64_t to, std::int64_t from) {
            weight[to] = float(w[std::size_t(from)] * folding.scale[std::size_t(from / per_output)]);
        });
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
            if (spec.role == TensorRole::weight || spec.role == TensorRole::bias) {
                const TensorSpec& weight = op.tensors.items[0];
                const std::int64_t fan_out = weight.dims[0], fan_in = weight.elements() / weight.dims[0];
                const double receptive = weight.rank == 4 ? double(weight.dims[2] * weight.dims[3]) : 1.0;
                double bound = 1.0 / std::sqrt(double(fan_in));
                if (init == Init::xavier)
                    bound = spec.role == TensorRole::weight ? std::sqrt(6.0 / (double(fan_in) + double(fan_out) * receptive)) : 0.0;
                std::uniform_real_distribution<double> uniform(-bound, bound);
                for (float& v : tensor) v = bound > 0 ? float(uniform(random)) : 0.0f;
            } else {
                const bool one = spec.role == TensorRole::scale || spec.role == TensorRole::running_var;
                std::fill(tensor.begin(), tensor.end(), one ? 1.0f : 0.0f);
            }
            tensors.emplace(op.tensor_name(spec), std::move(tensor));
        }
    }
    return tensors;
}

}  // namespace snc
