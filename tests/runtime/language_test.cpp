// The layers beyond chains of residual pairs (issue 28): N-way concats, gates, grouped, depthwise
// and dilated convs, ceil-mode and adaptive pools, the newer activations, channel slices and
// shuffles, layer norm, layer scale, stochastic depth. Each against the plain C++ reference at
// inference, each adjoint against float64 finite differences, and one network holding them all
// against PyTorch (tests/fixtures/make_fixtures.py: inference and one SGD step).
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

// One network per stage kind the new layers make, and options that change the loops.
using Depthwise = Network<Input<2, 9, 9, 24>, Conv<24, 3, Pad<1>, Groups<24>>, BatchNorm<>, ReLU6>;
using DepthwiseStrided = Network<Input<2, 10, 10, 16>, Conv<32, 5, Stride<2>, Same, Groups<16>, NoBias>, HardSwish>;  // multiplier 2
using GroupedResNeXt = Network<Input<2, 7, 7, 32>, Conv<64, 3, Pad<1>, Groups<8>>, BatchNorm<>, ReLU>;
using DilatedDense = Network<Input<2, 11, 11, 5>, Conv<7, 3, Pad<2>, Dilation<2>>, SiLU>;
using InceptionConcat = Network<Input<2, 8, 8, 6>, Concat<Conv<4, 1>, Seq<Conv<3, 1>, ReLU, Conv<5, 3, Same>>, Seq<MaxPool<3, Stride<1>, Pad<1>>, Conv<2, 1>>, Identity>, ReLU>;
using FeatureConcat = Network<Input<3, 10>, Concat<Dense<4>, Identity, Seq<Dense<3>, GELU>>, Dense<2>>;
using SqueezeExcitation = Network<Input<2, 6, 6, 8>, Gate<Seq<GlobalAvgPool, Dense<2>, ReLU, Dense<8>, Sigmoid>>, Tanh>;
using ShuffleUnit = Network<Input<2, 6, 6, 8>, Concat<Slice<0, 4>, Seq<Slice<4, 8>, Conv<4, 3, Same, Groups<4>>, ReLU>>, ChannelShuffle<2>, Conv<6, 1>>;
using CeilPools = Network<Input<2, 10, 10, 4>, MaxPool<3, Stride<2>, Pad<1>, CeilMode>, AvgPool<2, Stride<2>, CeilMode>>;
using CeilAveragePadded = Network<Input<2, 9, 9, 4>, AvgPool<3, Stride<2>, Pad<1>, CeilMode, CountIncludePad>>;
using Adaptive = Network<Input<2, 8, 8, 4>, AdaptiveAvgPool<2>, Conv<3, 1>>;
using Activations = Network<Input<2, 5, 5, 16>, Conv<16, 1>, LeakyReLU<0.2f>, Conv<16, 1>, GELU, Conv<16, 1>, HardSigmoid>;
using LayerNormScale = Network<Input<2, 5, 5, 12>, LayerNorm<>, LayerScale, Conv<12, 1>, LayerScale, Flatten, LayerNorm<>>;
using DropPath = Network<Input<3, 4, 4, 6>, Residual<Seq<Conv<6, 3, Same>, StochasticDepth<0.3f>>>, ReLU>;
}  // namespace

TEST_CASE_TEMPLATE("a new layer's Halide stage computes what the reference computes", Net, EveryLayer, Depthwise,
                   DepthwiseStrided, GroupedResNeXt, DilatedDense, InceptionConcat, FeatureConcat, SqueezeExcitation,
                   ShuffleUnit, CeilPools, CeilAveragePadded, Adaptive, Activations, LayerNormScale, DropPath) {
    halide::JitNetwork& network = halide::jit<Net>();
    StateDict tensors = testing::random_state_dict(network.plan().graph, 11);
    std::vector<float> packed = pack_inference_weights(network.plan(), tensors, "random weights");
    Tensor input = testing::random_tensor(dims_of(Net::input_shape), 5);
    Tensor got = network.run(input, packed);
    Tensor want = reference::forward(network.plan().graph, tensors, input);
    std::string report;
    CHECK_MESSAGE(testing::agree(got, want, 1e-5, report), report);
}

TEST_CASE("the plan: batch norm folds into a depthwise conv, Winograd leaves it alone, a concat is a stage") {
    Plan depthwise = plan_inference<Depthwise>(Packing::output_blocked);
    REQUIRE(depthwise.stages.size() == 1);
    CHECK(depthwise.stages[0].ops.size() == 3);  // grouped conv + batch norm + ReLU6
    CHECK(depthwise.stages[0].winograd_tile == 0);
    CHECK(depthwise.op(0).spec.kind == OpKind::grouped_conv);
    // A 3x3 stride-1 same depthwise conv of 32 channels on a 24x24 plane: Winograd's rule would
    // take it if it were dense (it sums over every input channel).
    using WouldBeWinograd = Network<Input<1, 24, 24, 32>, Conv<32, 3, Same, Groups<32>>, Conv<32, 3, Same>>;
    Plan plan = plan_inference<WouldBeWinograd>(Packing::output_blocked);
    CHECK(plan.stages[0].winograd_tile == 0);
    CHECK(plan.stages[1].winograd_tile == 4);

    Plan inception = plan_inference<InceptionConcat>(Packing::output_blocked);
    const Stage& last = inception.stages.back();
    CHECK(inception.op(last.main_op()).spec.kind == OpKind::concat);
    CHECK(last.reads.size() == 4);
    CHECK(last.ops.size() == 2);  // the ReLU after it fused
    // LayerScale folds into the conv before it: no stage of its own.
    Plan scaled = plan_inference<LayerNormScale>(Packing::output_blocked);
    int lone_scales = 0;
    for (const Stage& stage : scaled.stages) lone_scales += scaled.op(stage.main_op()).spec.kind == OpKind::layer_scale;
    CHECK(lone_scales == 1);
}

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
