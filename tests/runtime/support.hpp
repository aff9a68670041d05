// Test support: comparing arrays the way llm.c does (max difference, first mismatches shown),
// fixture paths, and weights with non-trivial batch-norm statistics.
#pragma once

#include <cmath>
#include <random>
#include <sstream>
#include <string>

#include <snc/io/tensor.hpp>
#include <snc/weights.hpp>

namespace snc::testing {

// Agreement within `relative` of the largest finite reference magnitude; `report` shows the worst.
// A NaN agrees with a NaN and an infinity with the same infinity (PyTorch's semantics: NaN in,
// NaN out), and with nothing else.
inline bool agree(const float* got, const float* want, std::size_t count, double relative, std::string& report) {
    double scale = 0.0, worst = 0.0;
    std::size_t worst_at = 0, mismatches = 0;
    for (std::size_t i = 0; i < count; ++i)
        if (std::isfinite(want[i])) scale = std::max(scale, double(std::abs(want[i])));
    double tolerance = relative * std::max(scale, 1e-6);
    std::ostringstream os;
    for (std::size_t i = 0; i < count; ++i) {
        const bool same_special = (std::isnan(got[i]) && std::isnan(want[i])) || (std::isinf(want[i]) && got[i] == want[i]);
        double difference = same_special ? 0.0 : std::abs(double(got[i]) - double(want[i]));
        if (!(difference <= tolerance)) {
            if (mismatches++ < 5) os << "  [" << i << "] got " << got[i] << ", want " << want[i] << "\n";
        }
        if (!(difference <= worst)) worst = difference, worst_at = i;
    }
    os << "max |difference| " << worst << " at " << worst_at << " of " << count << ", largest reference " << scale
       << ", tolerance " << tolerance << ", " << mismatches << " mismatches";
    report = os.str();
    return mismatches == 0;
}

inline bool agree(const Tensor& got, const Tensor& want, double relative, std::string& report) {
    if (got.shape != want.shape) {
        report = "shapes differ: " + dims_text(got.shape) + " and " + dims_text(want.shape);
        return false;
    }
    return agree(got.data.data(), want.data.data(), got.data.size(), relative, report);
}

inline std::string fixture(const std::string& name) { return std::string(SNC_FIXTURES_DIR) + "/" + name; }

// Initialized weights whose batch-norm layers have statistics far from (0, 1), so folding matters.
inline StateDict random_state_dict(const Graph& graph, std::uint64_t seed) {
    StateDict tensors = initial_state_dict(graph, seed);
    std::mt19937_64 random(seed + 1);
    std::uniform_real_distribution<float> uniform(0.5f, 1.5f);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    for (const Op& op : graph.ops) {
        if (op.spec.kind != OpKind::batch_norm) continue;
        for (const TensorSpec& spec : op.tensors) {
            bool positive = spec.name == "weight" || spec.name == "running_var";  // gamma and the variance
            for (float& v : tensors.at(op.tensor_name(spec))) v = positive ? uniform(random) : normal(random);
        }
    }
    return tensors;
}

inline Tensor random_tensor(std::vector<std::int64_t> shape, std::uint64_t seed) {
    Tensor tensor(std::move(shape));
    std::mt19937_64 random(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (float& v : tensor) v = uniform(random);
    return tensor;
}

}  // namespace snc::testing
