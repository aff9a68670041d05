// Every kind of Halide stage against the plain C++ reference, before anything is timed.
#include <cmath>
#include <limits>

#include <doctest/doctest.h>

#include <snc/nets/d2l.hpp>
#include <snc/nets/torchvision.hpp>
#include <snc/reference.hpp>
#include <snc/snc.hpp>

#include <snc/halide/jit.hpp>

#include "every_layer.hpp"
#include "support.hpp"

namespace {
using namespace snc;

// One network per stage kind and option that changes the loops.
using ValidConv = Network<Input<2, 9, 7, 5>, Conv<8, 3>>;
using SameStridedConv = Network<Input<2, 9, 7, 5>, Conv<8, 4, Same, Stride<2>>>;
using ConvBatchNormRelu = Network<Input<2, 9, 7, 5>, Conv<3, 3, Pad<1>, NoBias>, BatchNorm<>, ReLU>;
using AsymmetricPadsTanh = Network<Input<1, 8, 8, 16>, Conv<16, 3, Pads<1, 0, 2, 1>>, Tanh>;
using WideConv = Network<Input<1, 9, 9, 32>, Conv<128, 3, Same>, BatchNorm<>, ReLU>;  // odd: direct
using SmallPlaneConv = Network<Input<1, 7, 7, 160>, Conv<64, 3, Pad<1>>, BatchNorm<>, ReLU>;  // weights-stationary
using SmallPlaneBlocked = Network<Input<1, 3, 3, 32>, Conv<192, 3, Same>, BatchNorm<>, ReLU>;   // three weight blocks
using SmallPlaneStrided = Network<Input<1, 9, 9, 64>, Conv<96, 3, Pad<1>, Stride<2>>>;
// A batch of few-pixel planes: the whole plane a register tile, an image a task.
using PlanesInBatch = Network<Input<3, 3, 3, 64>, Residual<Seq<Conv<64, 3, Same>, BatchNorm<>>>, ReLU>;
using PlanesInBatchStrided = Network<Input<2, 7, 7, 64>, Conv<48, 3, Pad<1>, Stride<2>>, BatchNorm<>, ReLU>;  // 4x4 planes
using StemAndPool = Network<Input<2, 15, 15, 3>, Conv<6, 7, Stride<2>, Pad<3>>, MaxPool<3, Stride<2>, Pad<1>>>;
using MaxPoolPadded = Network<Input<2, 9, 9, 4>, MaxPool<3, Stride<2>, Pad<1>>>;
using AvgPoolSame = Network<Input<2, 9, 9, 4>, AvgPool<3, Stride<2>, Same>>;
using AvgPoolIncludePad = Network<Input<2, 9, 9, 4>, AvgPool<3, Stride<2>, Pad<1>, CountIncludePad>>;
using LoneBatchNormSigmoid = Network<Input<2, 6, 5, 3>, BatchNorm<Epsilon<1e-3f>>, Sigmoid>;
using MeanDense = Network<Input<3, 5, 4, 6>, GlobalAvgPool, Dense<7>>;
using FlattenDense = Network<Input<3, 4, 4, 3>, Flatten, Dense<5>>;
using FlattenBatchNormDense = Network<Input<3, 4, 4, 3>, Flatten, BatchNorm<>, Tanh, Dense<5, NoBias>>;
using ResidualConvAddRelu = Network<Input<2, 6, 6, 8>, Residual<Seq<Conv<8, 3, Same>, BatchNorm<>>>, ReLU>;
using ResidualIntoShortcutConv = Network<Input<2, 6, 6, 8>, Residual<ReLU, Seq<Conv<8, 1>, BatchNorm<>>>, Sigmoid>;
using ResidualAddStage = Network<Input<2, 6, 6, 8>, Residual<ReLU>, Tanh>;
using Features = Network<Input<4, 10>, Dense<6>, BatchNorm<>, ReLU, Dense<3>>;
using FlattenOnly = Network<Input<2, 6, 5, 3>, Flatten>;
// Fewer channels than a vector's lanes on a plane at least a vector wide: vectors across columns
// (src/schedule/cpu.cpp), here with a padded input of 3 channels and a column tail.
using NarrowColumns = Network<Input<2, 20, 18, 3>, Conv<6, 5, Same>, BatchNorm<>, Sigmoid>;
// A small network at batch 32: every stage inside the output's loop over tiles of 2 images.
using BatchTiles = Network<Input<32, 14, 14, 1>, Conv<6, 5>, BatchNorm<>, Sigmoid, AvgPool<2, Stride<2>>, Conv<8, 3>, ReLU,
                           Flatten, Dense<12>, BatchNorm<>, Sigmoid, Dense<10>>;
// The layers beyond residual pairs (issue 28; language_test.cpp has the rest of their tests).
using Depthwise = Network<Input<2, 9, 9, 24>, Conv<24, 3, Pad<1>, Groups<24>>, BatchNorm<>, ReLU6>;
using DepthwiseStrided = Network<Input<2, 10, 10, 16>, Conv<32, 5, Stride<2>, Same, Groups<16>, NoBias>, HardSwish>;  // multiplier 2
using GroupedResNeXt = Network<Input<2, 7, 7, 32>, Conv<64, 3, Pad<1>, Groups<8>>, BatchNorm<>, ReLU>;
// MobileNet's expansion, depthwise conv and projection on a plane of a size its blocks have, the
// depthwise conv reading its input's border through a select (src/schedule/cpu.cpp); then an odd
// plane, a batch, stride 2 and a 5x5 window.
using ExpandDepthwise = Network<Input<1, 56, 56, 8>, Conv<32, 1>, BatchNorm<>, ReLU6, Conv<32, 3, Pad<1>, Groups<32>>, BatchNorm<>,
                                ReLU6, Conv<8, 1>>;
using ExpandDepthwiseStrided = Network<Input<2, 57, 57, 8>, Conv<48, 1>, ReLU6, Conv<48, 5, Stride<2>, Pad<2>, Groups<48>>, ReLU6>;
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
using Rectangular = Network<Input<2, 9, 11, 6>, Conv<5, 1, KernelWidth<7>, Pads<0, 3, 0, 3>>, ReLU, Conv<4, 7, KernelWidth<1>, Stride<2>, Pads<3, 0, 3, 0>>>;
// Concats at batch 32: one inside the batch tiles (small activations, a dense layer last), one the
// network's output (no tiles: its copies are updates).
using ConcatInBatchTiles = Network<Input<32, 8, 8, 3>, Concat<Conv<4, 3, Same>, Identity>, ReLU, Conv<4, 1>, Flatten, Dense<3>>;
using ConcatLastInBatch = Network<Input<32, 6, 6, 4>, Conv<4, 3, Same>, Concat<Identity, Conv<2, 1>>, ReLU>;
using DropPath = Network<Input<3, 4, 4, 6>, Residual<Seq<Conv<6, 3, Same>, StochasticDepth<0.3f>>>, ReLU>;
}  // namespace

TEST_CASE_TEMPLATE("a Halide stage computes what the reference computes", Net, ValidConv, SameStridedConv,
                   ConvBatchNormRelu, AsymmetricPadsTanh, WideConv, SmallPlaneConv, SmallPlaneBlocked, SmallPlaneStrided,
                   PlanesInBatch, PlanesInBatchStrided, StemAndPool, MaxPoolPadded, AvgPoolSame,
                   AvgPoolIncludePad, LoneBatchNormSigmoid, MeanDense, FlattenDense, FlattenBatchNormDense,
                   ResidualConvAddRelu, ResidualIntoShortcutConv, ResidualAddStage, Features, FlattenOnly, NarrowColumns,
                   BatchTiles, testing::EveryLayer, Depthwise, DepthwiseStrided, GroupedResNeXt, ExpandDepthwise, ExpandDepthwiseStrided, DilatedDense, InceptionConcat,
                   FeatureConcat, SqueezeExcitation, ShuffleUnit, CeilPools, CeilAveragePadded, Adaptive, Activations,
                   LayerNormScale, DropPath, Rectangular, ConcatInBatchTiles, ConcatLastInBatch) {
    halide::JitNetwork& network = halide::jit<Net>();
    StateDict tensors = testing::random_state_dict(network.plan().graph, 11);
    std::vector<float> packed = pack_inference_weights(network.plan(), tensors, "random weights");
    Tensor input = testing::random_tensor(dims_of(Net::input_shape), 5);

    Tensor got = network.run(input, packed);
    Tensor want = reference::forward(network.plan().graph, tensors, input);
    std::string report;
    CHECK_MESSAGE(testing::agree(got, want, 1e-5, report), report);
}

namespace {
std::vector<OpKind> kinds_of(const Plan& plan, const Stage& stage) {
    std::vector<OpKind> kinds;
    for (int op : stage.ops) kinds.push_back(plan.op(op).spec.kind);
    return kinds;
}
}  // namespace

// PyTorch's semantics for the values that are not numbers: NaN in, NaN out, through every kind of
// stage (a ReLU or a max pool must not drop it); an infinity goes where the arithmetic takes it.
TEST_CASE_TEMPLATE("NaN and infinity pass through a stage as through the reference", Net, ValidConv, ConvBatchNormRelu,
                   AsymmetricPadsTanh, StemAndPool, MaxPoolPadded, AvgPoolSame, LoneBatchNormSigmoid, MeanDense, FlattenDense,
                   FlattenBatchNormDense, ResidualConvAddRelu, ResidualAddStage, Features, NarrowColumns, BatchTiles,
                   testing::EveryLayer, Depthwise, DilatedDense, InceptionConcat, SqueezeExcitation, ShuffleUnit, CeilPools,
                   Activations, LayerNormScale) {
    halide::JitNetwork& network = halide::jit<Net>();
    StateDict tensors = testing::random_state_dict(network.plan().graph, 11);
    std::vector<float> packed = pack_inference_weights(network.plan(), tensors, "random weights");
    Tensor input = testing::random_tensor(dims_of(Net::input_shape), 5);
    input.data[3] = std::nanf("");
    input.data[input.data.size() / 2] = std::numeric_limits<float>::infinity();
    input.data[input.data.size() - 2] = -std::numeric_limits<float>::infinity();
    Tensor got = network.run(input, packed);
    Tensor want = reference::forward(network.plan().graph, tensors, input);
    std::size_t nans = 0;
    for (float v : want) nans += std::isnan(v);
    CHECK(nans > 0);
    std::string report;
    CHECK_MESSAGE(testing::agree(got, want, 1e-5, report), report);
}

TEST_CASE("the plan fuses batch norm, the residual add and the activation into the conv") {
    Plan plan = plan_inference<ResidualConvAddRelu>(Packing::output_innermost);
    REQUIRE(plan.stages.size() == 1);
    CHECK(kinds_of(plan, plan.stages[0]) == std::vector{OpKind::conv, OpKind::batch_norm, OpKind::add, OpKind::relu});
    CHECK(plan.stages[0].residual == 0);
    CHECK(plan.stages[0].batch_norm == 1);

    Plan into_shortcut = plan_inference<ResidualIntoShortcutConv>(Packing::output_innermost);
    REQUIRE(into_shortcut.stages.size() == 2);  // the body's ReLU, then conv + BN + add + sigmoid
    CHECK(kinds_of(into_shortcut, into_shortcut.stages[1]) == std::vector{OpKind::conv, OpKind::batch_norm, OpKind::add, OpKind::sigmoid});
    CHECK(into_shortcut.stages[1].residual == into_shortcut.stages[0].output);

    Plan lone_add = plan_inference<ResidualAddStage>(Packing::output_innermost);
    REQUIRE(lone_add.stages.size() == 2);
    CHECK(kinds_of(lone_add, lone_add.stages[1]) == std::vector{OpKind::add, OpKind::tanh});
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

namespace {
// Winograd's F(4,3) and F(2,3) (winograd.hpp): the epilogue fused, channel counts that fill no
// whole register tile, and a batch whose second image must not see the first's NaN.
using WinogradF4 = Network<Input<1, 24, 24, 16>, Conv<32, 3, Same>, BatchNorm<>, ReLU>;
using WinogradF2Residual =
    Network<Input<2, 14, 14, 16>, Residual<Seq<Conv<16, 3, Same>, BatchNorm<>, ReLU, Conv<16, 3, Same>, BatchNorm<>>>, ReLU>;
using WinogradOddChannels = Network<Input<1, 28, 28, 24>, Conv<40, 3, Pad<1>>, Tanh>;
// A batch (winograd::batched_images): F(2,3) on a 6x6 plane, an image a thread.
using WinogradSmallPlanesInBatch =
    Network<Input<8, 6, 6, 16>, Residual<Seq<Conv<32, 3, Same>, BatchNorm<>, ReLU, Conv<16, 3, Same>, BatchNorm<>>>, ReLU>;

std::vector<int> winograd_tiles(const Plan& plan) {
    std::vector<int> tiles;
    for (const Stage& stage : plan.stages) tiles.push_back(stage.winograd_tile);
    return tiles;
}
}  // namespace

TEST_CASE("the Winograd rule: 3x3 stride-1 same convs of 16 or more channels on planes cut evenly into tiles") {
    CHECK(winograd_tiles(plan_inference<WinogradF4>(Packing::output_innermost)) == std::vector{4});
    CHECK(winograd_tiles(plan_inference<WinogradF2Residual>(Packing::output_innermost)) == std::vector{2, 2});
    CHECK(winograd_tiles(plan_inference<WinogradOddChannels>(Packing::output_innermost)) == std::vector{4});
    CHECK(winograd_tiles(plan_inference<WinogradSmallPlanesInBatch>(Packing::output_innermost)) == std::vector{2, 2});
    CHECK(winograd_tiles(plan_inference<WideConv>(Packing::output_innermost)) == std::vector{0});         // a 9x9 plane
    CHECK(winograd_tiles(plan_inference<SmallPlaneStrided>(Packing::output_innermost)) == std::vector{0});  // stride 2
    CHECK(winograd_tiles(plan_inference<AsymmetricPadsTanh>(Packing::output_innermost)) == std::vector{0});
    // torchvision's ResNet-18 at 224x224: F(4,3) on the 56x56 and 28x28 planes, F(2,3) on 14x14,
    // direct on 7x7, on the stem (7x7 kernel), the strided convs and the 1x1 shortcuts.
    int f4 = 0, f2 = 0;
    for (const Stage& stage : plan_inference<nets::torchvision::ResNet18<>>(Packing::output_innermost).stages) {
        f4 += stage.winograd_tile == 4;
        f2 += stage.winograd_tile == 2;
    }
    CHECK(f4 == 4 + 3);
    CHECK(f2 == 3);
    // The course's ResNet-18 at 96x96: F(4,3) on the 24x24 planes, F(2,3) on 12x12 and 6x6, direct
    // on 3x3, at batch 1 as at batch 64.
    auto tiles_of = [](const Plan& plan) {
        std::vector<int> f2_f4(2);
        for (const Stage& stage : plan.stages)
            if (stage.winograd_tile) ++f2_f4[std::size_t(stage.winograd_tile / 4)];
        return f2_f4;
    };
    CHECK(tiles_of(plan_inference<nets::d2l::ResNet18<1>>(Packing::output_innermost)) == std::vector{6, 4});
    CHECK(tiles_of(plan_inference<nets::d2l::ResNet18<64>>(Packing::output_innermost)) == std::vector{6, 4});
}

TEST_CASE_TEMPLATE("a Winograd stage computes what the reference computes, within 1e-4", Net, WinogradF4, WinogradF2Residual,
                   WinogradOddChannels, WinogradSmallPlanesInBatch) {
    halide::JitNetwork& network = halide::jit<Net>();
    REQUIRE(network.plan().stages[0].winograd_tile > 0);
    StateDict tensors = testing::random_state_dict(network.plan().graph, 13);
    std::vector<float> packed = pack_inference_weights(network.plan(), tensors, "random weights");
    Tensor input = testing::random_tensor(dims_of(Net::input_shape), 7);
    Tensor want = reference::forward(network.plan().graph, tensors, input);
    std::string report;
    CHECK_MESSAGE(testing::agree(network.run(input, packed), want, 1e-4, report), report);

    // A NaN spreads over the tiles its windows touch (the transforms mix a tile's pixels), never
    // into another image; every output the reference makes NaN is NaN.
    input.data[5] = std::nanf("");
    Tensor got = network.run(input, packed);
    want = reference::forward(network.plan().graph, tensors, input);
    const std::size_t per_image = got.data.size() / std::size_t(got.shape[0]);
    std::size_t missed = 0, leaked = 0;
    for (std::size_t i = 0; i < got.data.size(); ++i) {
        missed += std::isnan(want.data[i]) && !std::isnan(got.data[i]);
        leaked += i >= per_image && std::isnan(got.data[i]);
    }
    CHECK(missed == 0);
    CHECK(leaked == 0);
}

// The packing is the target's choice; every layout must compute the same network. (The CPU's
// own, output_blocked, is what every other test here runs.)
TEST_CASE_TEMPLATE("weights packed input-channel innermost, or output-channel innermost unblocked, compute what the reference "
                   "computes",
                   Net, SameStridedConv, FlattenBatchNormDense, Features, SmallPlaneBlocked) {
    for (Packing packing : {Packing::input_innermost, Packing::output_innermost}) {
        halide::JitNetwork network(plan_inference<Net>(packing));
        StateDict tensors = testing::random_state_dict(network.plan().graph, 12);
        std::vector<float> packed = pack_inference_weights(network.plan(), tensors, "random weights");
        Tensor input = testing::random_tensor(dims_of(Net::input_shape), 6);
        std::string report;
        CHECK_MESSAGE(testing::agree(network.run(input, packed), reference::forward(network.plan().graph, tensors, input), 1e-5, report),
                      report);
    }
}
