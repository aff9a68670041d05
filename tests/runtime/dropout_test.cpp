// Dropout: the identity at inference, lowered to nothing; in training, PyTorch's semantics from a
// seed the trainer controls.
#include <cmath>

#include <doctest/doctest.h>

#include <snc/halide/jit.hpp>
#include <snc/reference.hpp>
#include <snc/snc.hpp>

#include "support.hpp"

namespace {
using namespace snc;

using Classifier = Network<Input<6, 10>, Dense<16>, ReLU, Dropout<0.5f>, Dense<3>>;
using WithoutDropout = Network<Input<6, 10>, Dense<16>, ReLU, Dense<3>>;
using NoRate = Network<Input<6, 10>, Dense<16>, ReLU, Dropout<0.0f>, Dense<3>>;
using Masked = Network<Input<8, 16, 16, 4>, Dropout<0.3f>, Flatten>;

// The fraction of elements dropped, and whether every kept one is the input / (1 - rate).
struct Mask {
    std::vector<bool> dropped;
    double fraction = 0.0;
    bool scaled = true;
};

Mask mask_of(const std::vector<float>& input, const std::vector<float>& output, float rate) {
    Mask mask;
    for (std::size_t k = 0; k < input.size(); ++k) {
        const bool dropped = output[k] == 0.0f;
        mask.dropped.push_back(dropped);
        mask.fraction += dropped;
        if (!dropped) mask.scaled = mask.scaled && std::abs(output[k] - input[k] / (1 - rate)) <= 1e-6f * std::abs(output[k]);
    }
    mask.fraction /= double(input.size());
    return mask;
}
}  // namespace

TEST_CASE("Dropout lowers to nothing at inference") {
    halide::JitNetwork network(build_graph<Classifier>());
    CHECK(network.plan().graph.ops.size() == 3);  // dense, relu, dense: the dropout is gone
    REQUIRE(network.plan().stages.size() == 2);   // dense + relu, dense
    StateDict tensors = initial_state_dict(build_graph<Classifier>(), 4);
    std::vector<float> packed = pack_inference_weights(network.plan(), tensors, "initial weights");
    Tensor input = testing::random_tensor({6, 10}, 8);
    std::string report;
    CHECK_MESSAGE(testing::agree(network.run(input, packed), reference::forward(build_graph<Classifier>(), tensors, input), 1e-5, report),
                  report);
}

TEST_CASE("in training, Dropout zeroes about Rate of the elements and scales the others, by the step's seed") {
    halide::JitTraining<float> jit(build_graph<Masked>());
    Tensor input = testing::random_tensor(dims_of(Masked::input_shape), 2);
    for (float& v : input) v = std::abs(v) + 0.1f;  // no zero before the dropout
    auto mask_at = [&](std::uint32_t seed) {
        jit.step().forward(jit, input.data.data(), seed);
        return mask_of(input.data, jit.step().logits(), 0.3f);
    };
    const Mask first = mask_at(7), again = mask_at(7), other = mask_at(8);
    // 8192 elements: one standard deviation of the dropped fraction is 0.005.
    CHECK(first.fraction == doctest::Approx(0.3).epsilon(0.02 / 0.3));
    CHECK(other.fraction == doctest::Approx(0.3).epsilon(0.02 / 0.3));
    CHECK(first.scaled);
    CHECK(first.dropped == again.dropped);
    std::size_t differ = 0;
    for (std::size_t k = 0; k < first.dropped.size(); ++k) differ += first.dropped[k] != other.dropped[k];
    // Independent masks differ at 2 p (1 - p) = 42 % of the elements.
    CHECK(double(differ) / double(first.dropped.size()) == doctest::Approx(0.42).epsilon(0.03 / 0.42));
}

TEST_CASE("training with Dropout<0> is training without it") {
    StateDict tensors = initial_state_dict(build_graph<WithoutDropout>(), 3);
    Tensor input = testing::random_tensor({6, 10}, 9);
    std::vector<std::int32_t> labels{0, 1, 2, 0, 1, 2};
    auto train = [&]<class Net>() {
        halide::JitTraining<float> jit(build_graph<Net>());
        StateDict named;  // the dropout shifts the second dense's index by one
        for (const auto& [name, tensor] : tensors)
            named[name.rfind("2.", 0) == 0 && Net::size == 4 ? "3." + name.substr(2) : name] = tensor;
        TrainingState state = pack_training_state(jit.layout(), named, "initial weights");
        jit.step().set_parameters(state.parameters);
        for (std::uint32_t step = 0; step < 3; ++step)
            jit.step().run(jit, input.data.data(), labels.data(), {.learning_rate = 0.2f, .momentum = 0.9f}, step);
        return jit.step().parameters();
    };
    const std::vector<float> with = train.operator()<NoRate>(), without = train.operator()<WithoutDropout>();
    REQUIRE(with.size() == without.size());
    std::string report;
    CHECK_MESSAGE(testing::agree(with.data(), without.data(), with.size(), 1e-6, report), report);
}

TEST_CASE("a network with Dropout learns, a new mask each step") {
    using Net = Network<Input<32, 8>, Dense<32>, ReLU, Dropout<0.5f>, Dense<4>>;
    halide::JitTraining<float> jit(build_graph<Net>());
    TrainingState state = pack_training_state(jit.layout(), initial_state_dict(build_graph<Net>(), 1), "initial weights");
    jit.step().set_parameters(state.parameters);
    Tensor input = testing::random_tensor({32, 8}, 5);
    std::vector<std::int32_t> labels(32);
    for (std::size_t k = 0; k < labels.size(); ++k)  // a linearly separable rule: which of the first four features is largest
        labels[k] = std::int32_t(std::max_element(input.data.begin() + std::ptrdiff_t(k * 8), input.data.begin() + std::ptrdiff_t(k * 8 + 4)) -
                                 (input.data.begin() + std::ptrdiff_t(k * 8)));
    double first = 0.0, last = 0.0;
    for (std::uint32_t step = 0; step < 200; ++step) {
        double loss = jit.step().run(jit, input.data.data(), labels.data(), {.learning_rate = 0.1f, .momentum = 0.9f}, step).loss;
        if (step < 10) first += loss / 10;
        if (step >= 190) last += loss / 10;
    }
    MESSAGE("mean loss over the first 10 steps " << first << ", over the last 10 " << last);
    CHECK(first > 1.0);  // about log(4) = 1.39 at the start
    CHECK(last < 0.5 * first);
}
