// The layers beyond chains of residual pairs (issue 28): N-way concats, gates, grouped, depthwise
// and dilated convs, ceil-mode and adaptive pools, the newer activations, channel slices and
// shuffles, layer norm, layer scale, stochastic depth. Their stages are checked against the plain
// C++ reference with the others' (stages_test.cpp), their adjoints against float64 finite
// differences (gradient_test.cpp); here, the network holding them all against PyTorch
// (tests/fixtures/make_fixtures.py: inference and one SGD step), and their weights refused by name.
#include <doctest/doctest.h>

#include <snc/io/npy.hpp>
#include <snc/io/safetensors.hpp>
#include <snc/reference.hpp>
#include <snc/snc.hpp>

#include <snc/halide/jit.hpp>

#include "every_layer.hpp"
#include "support.hpp"

namespace {
using namespace snc;

using testing::EveryLayer;
static_assert(output_shape_at<EveryLayer, 7> == Shape{4, 12, 12, 32});
static_assert(output_shape_at<EveryLayer, 9> == Shape{4, 6, 6, 32});   // ceil mode: 5 by floor
static_assert(output_shape_at<EveryLayer, 13> == Shape{4, 3, 3, 32});  // ceil mode: 2 by floor
static_assert(EveryLayer::output_shape == Shape{4, 5});
}  // namespace

TEST_CASE("the network of every new layer gives PyTorch's logits, and takes PyTorch's training step") {
    io::SafetensorsContents weights = io::read_safetensors(testing::fixture("every_layer.safetensors"));
    const Tensor input = io::read_npy(testing::fixture("every_layer_input.npy"));
    const Tensor expected = io::read_npy(testing::fixture("every_layer_expected.npy"));
    halide::JitNetwork& network = halide::jit<EveryLayer>();
    std::vector<float> packed = pack_inference_weights(network.plan(), weights.tensors, "every_layer.safetensors", weights.ignored);
    std::string report;
    CHECK_MESSAGE(testing::agree(network.run(input, packed), expected, 1e-5, report), "Halide vs PyTorch: " << report);
    CHECK_MESSAGE(testing::agree(reference::forward(network.plan().graph, weights.tensors, input), expected, 1e-5, report),
                  "reference vs PyTorch: " << report);

    // One SGD step in training mode (batch statistics), from the same weights.
    halide::JitTraining<float> jit(build_graph<EveryLayer>());
    const TrainingLayout& layout = jit.layout();
    io::SafetensorsContents after = io::read_safetensors(testing::fixture("every_layer_step_after.safetensors"));
    const Tensor label_values = io::read_npy(testing::fixture("every_layer_step_labels.npy"));
    const float pytorch_loss = io::read_npy(testing::fixture("every_layer_step_loss.npy")).data[0];
    TrainingState state = pack_training_state(layout, weights.tensors, "every_layer.safetensors", weights.ignored);
    std::vector<std::int32_t> labels(label_values.data.begin(), label_values.data.end());
    jit.step().set_parameters(state.parameters);
    jit.step().set_statistics(state.statistics);
    auto result = jit.step().run(jit, input.data.data(), labels.data(), {.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 5e-4f});
    CHECK(result.loss == doctest::Approx(pytorch_loss).epsilon(1e-5));
    const StateDict ours = unpack_training_state(layout, {jit.step().parameters(), jit.step().statistics()});
    for (const auto& [name, want] : after.tensors) {
        const Tensor& got = ours.at(name);
        double largest = 0, worst = 0;
        for (std::size_t k = 0; k < want.data.size(); ++k) {
            largest = std::max(largest, double(std::abs(want.data[k])));
            worst = std::max(worst, double(std::abs(got.data[k] - want.data[k])));
        }
        CHECK_MESSAGE(worst <= 1e-4 * std::max(largest, 1e-3), name << ": max |difference| " << worst << " of " << largest);
    }
}

TEST_CASE("a weights file whose depthwise or gate tensors do not fit is refused by name") {
    io::SafetensorsContents weights = io::read_safetensors(testing::fixture("every_layer.safetensors"));
    weights.tensors.at("3.weight") = Tensor({16, 16, 3, 3});  // a dense conv's weight where the depthwise one goes
    weights.tensors.erase("6.fc2.bias");
    const Plan plan = plan_inference<EveryLayer>(Packing::output_blocked);
    std::string message;
    try {
        pack_inference_weights(plan, weights.tensors, "every_layer.safetensors", weights.ignored);
    } catch (const Error& e) {
        message = e.what();
    }
    CHECK(message.find("every_layer.safetensors: the weights do not fit the network") != std::string::npos);
    CHECK(message.find("'3.weight' of layer 3 (Conv<16, 3, Pad<1>, Groups<16>, NoBias>) has shape (16, 16, 3, 3) but the network needs "
                       "(16, 1, 3, 3)") != std::string::npos);
    CHECK(message.find("1 missing: 6.fc2.bias") != std::string::npos);
}
