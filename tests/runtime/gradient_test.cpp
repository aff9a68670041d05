// Every layer's backward pass against central finite differences of the loss, in float64: the
// training segments are compiled with doubles, and each sampled parameter is perturbed by +-1e-6.
// Each network is checked whole and cut into segments of two ops, so that the gradients crossing
// from segment to segment are checked too.
#include <random>

#include <doctest/doctest.h>

#include <snc/snc.hpp>

#include <snc/halide/jit.hpp>

#include "support.hpp"

namespace {
using namespace snc;

// Each network puts the layer under test between parameters and the loss, so that a wrong adjoint
// shows in the gradients of the parameters before it.
using StridedConvTanh = Network<Input<3, 8, 8, 2>, Conv<4, 3, Stride<2>, Pad<1>>, Tanh, Conv<5, 3, Same>, Flatten, Dense<3>>;
using BatchNormMaxPool = Network<Input<4, 6, 6, 3>, Conv<4, 3, Pad<1>, NoBias>, BatchNorm<>, ReLU,
                                 MaxPool<3, Stride<2>, Pad<1>>, GlobalAvgPool, Dense<3>>;
using SigmoidAvgPoolFeatures = Network<Input<4, 7, 7, 2>, Conv<3, 2>, Sigmoid, AvgPool<3, Stride<2>, Same>, Flatten,
                                       BatchNorm<Epsilon<1e-3f>>, Dense<4>>;
using ResidualBlock = Network<Input<3, 6, 6, 3>, Conv<4, 3, Pad<1>>,
                              Residual<Seq<Conv<4, 3, Same>, BatchNorm<>>, Conv<4, 1>>, ReLU,
                              AvgPool<2, Pad<1>, CountIncludePad>, GlobalAvgPool, Dense<3>>;
using IdentityResidual = Network<Input<2, 5, 5, 4>, Conv<4, 3, Same>, Residual<Seq<ReLU, Conv<4, 3, Same>>>, Flatten, Dense<2>>;
using TapsNotDividingStride = Network<Input<2, 9, 9, 2>, Conv<3, 4, Stride<3>, Pad<1>>, ReLU, MaxPool<2, Stride<1>>,
                                      Flatten, Dense<3>>;
using Features = Network<Input<5, 12>, Dense<6>, BatchNorm<>, Tanh, Dense<4>>;
using DropoutFeatures = Network<Input<5, 12>, Dense<6>, Tanh, Dropout<0.4f>, Dense<4>>;
using DropoutImages = Network<Input<3, 6, 6, 2>, Conv<3, 3, Same>, Dropout<0.25f>, ReLU, GlobalAvgPool, Dense<3>>;
// 128 channels: convs whose parameters are packed in blocks of output channels, and an input
// gradient that reads its weights in blocks of input channels (layout.hpp).
using BlockedChannels = Network<Input<2, 3, 3, 8>, Conv<128, 3, Same>, Tanh, Conv<128, 3, Same>, Tanh, GlobalAvgPool, Dense<3>>;
// An input gradient of 6 channels from 16: computed as dot products over the 16 (src/schedule/cpu.cpp).
using FewFromMany = Network<Input<2, 7, 6, 2>, Conv<6, 3, Same>, Tanh, Conv<16, 3, Same>, Tanh, GlobalAvgPool, Dense<3>>;
// 3x3 convs that training computes by Winograd (winograd.hpp's rule): F(4,3) on 24x24 planes,
// F(2,3) on 6x6 planes in a batch of 8; the forward convs and the second's input gradient.
using WinogradF4 = Network<Input<1, 24, 24, 16>, Conv<16, 3, Same>, Tanh, Conv<16, 3, Same, NoBias>, Tanh, GlobalAvgPool, Dense<3>>;
using WinogradF2InBatch = Network<Input<8, 6, 6, 16>, Conv<16, 3, Same>, Tanh, Conv<32, 3, Same>, Tanh, GlobalAvgPool, Dense<3>>;
// The layers beyond residual pairs (language_test.cpp checks their stages): each between
// parameters and the loss, on images and on features.
using GradientEveryLayer = Network<
    Input<2, 8, 8, 3>, Conv<8, 3, Pad<1>>, HardSwish, Conv<16, 3, Stride<2>, Pad<1>, Groups<8>>, BatchNorm<>, ReLU6,
    Gate<Seq<AdaptiveAvgPool<1>, Conv<4, 1>, SiLU, Conv<16, 1>, HardSigmoid>>,
    Concat<Identity, Seq<Conv<8, 3, Pad<2>, Dilation<2>>, GELU>, Seq<Slice<4, 12>, Conv<8, 1, Groups<2>>, LeakyReLU<0.1f>>>,
    ChannelShuffle<4>, MaxPool<3, Stride<2>, CeilMode>, LayerNorm<>, LayerScale, StochasticDepth<0.4f>,
    Residual<Seq<Conv<32, 1>, LayerScale>>, AvgPool<2, Stride<2>, CeilMode, CountIncludePad>, Flatten, Dense<3>>;
// Inception v3's factorized convs: 1x5 then 5x1 (and strided).
using GradientRectangular = Network<Input<2, 7, 9, 3>, Conv<4, 1, KernelWidth<5>, Pads<0, 2, 0, 2>>, Tanh,
                                    Conv<3, 5, KernelWidth<1>, Stride<2>, Pads<2, 0, 2, 0>>, Flatten, Dense<3>>;
using GradientFeatures = Network<Input<4, 6>, Concat<Dense<5>, Seq<Dense<3>, GELU>>, Gate<Seq<Dense<8>, Sigmoid>>, LayerNorm<>,
                                 LayerScale, Dense<3>>;
}  // namespace

TEST_CASE_TEMPLATE("gradients match central finite differences", Net, StridedConvTanh, BatchNormMaxPool,
                   SigmoidAvgPoolFeatures, ResidualBlock, IdentityResidual, TapsNotDividingStride, Features,
                   DropoutFeatures, DropoutImages, BlockedChannels, FewFromMany, WinogradF4, WinogradF2InBatch, GradientEveryLayer, GradientFeatures, GradientRectangular) {
    Graph graph = build_graph<Net>();
    for (int budget : {100, 2}) {
        halide::JitTraining<double> jit(graph, budget);
        const TrainingLayout& layout = jit.layout();
        INFO("segments of at most " << budget << " ops: " << jit.step().segments().size() << " segments");
        TrainingState initial = pack_training_state(layout, testing::random_state_dict(graph, 21), "random weights");
        std::vector<double> parameters(initial.parameters.begin(), initial.parameters.end());
        jit.step().set_statistics(std::vector<double>(initial.statistics.begin(), initial.statistics.end()));
        Tensor input = testing::random_tensor(dims_of(Net::input_shape), 3);
        std::vector<double> images(input.data.begin(), input.data.end());
        const int classes = int(Net::output_shape.c());
        std::vector<std::int32_t> labels(std::size_t(Net::output_shape.n()));
        for (std::size_t k = 0; k < labels.size(); ++k) labels[k] = std::int32_t(k * 7 % std::size_t(classes));

        auto loss_at = [&](std::vector<double>& p) {
            jit.step().set_parameters(p);
            return jit.step().run(jit, images.data(), labels.data(), {}, 0, false).loss;
        };
        loss_at(parameters);
        const std::vector<double> gradients = jit.step().gradients();
        std::mt19937 random(5);
        for (const TrainingTensor& tensor : layout.parameters) {
            double largest = 0.0;
            for (std::int64_t k = 0; k < tensor.elements; ++k)
                largest = std::max(largest, std::abs(gradients[std::size_t(tensor.offset + k)]));
            for (int sample = 0; sample < 8; ++sample) {
                std::size_t at = std::size_t(tensor.offset) + random() % std::size_t(tensor.elements);
                const double h = 1e-6;
                std::vector<double> plus = parameters, minus = parameters;
                plus[at] += h;
                minus[at] -= h;
                double numeric = (loss_at(plus) - loss_at(minus)) / (2 * h);
                INFO(tensor.name << "[" << at - std::size_t(tensor.offset) << "]: analytic " << gradients[at] << ", numeric " << numeric);
                CHECK(std::abs(gradients[at] - numeric) <= 1e-6 * std::max(largest, 1e-3));
            }
        }
    }
}

// The checks above run the convs' kept outputs (runtime/segments.hpp): cut into segments of two
// ops, each conv but a segment's output is written by the forward pass and read, not recomputed,
// by the backward pass; the last segment keeps none.
TEST_CASE("a segment's backward pass reads the conv outputs its forward pass kept") {
    Graph graph = build_graph<ResidualBlock>();
    halide::JitTraining<double> jit(graph, 2);
    const std::vector<Segment>& segments = jit.step().segments();
    const int last = int(segments.size()) - 1;
    CHECK(kept_convs(graph, segments, last).empty());
    int kept = 0;
    for (int s = 0; s < int(segments.size()); ++s) {
        const std::vector<int> values = kept_convs(graph, segments, s);
        CAPTURE(s);
        CHECK(jit.forward_funcs(s).conv_outputs.size() == values.size());
        int arguments = 0;
        for (SegmentSlot slot : segment_arguments(SegmentPass::backward, graph, segments, s))
            arguments += slot.argument == SegmentArgument::conv_output;
        CHECK(arguments == int(values.size()));
        for (int value : values) {
            CHECK(graph.ops[std::size_t(value - 1)].spec.kind == OpKind::conv);
            CHECK(value != segments[std::size_t(s)].output());
            // The backward pass convolves only for gradients: no forward conv of this op.
            for (const halide::ConvFuncs& conv : jit.backward_funcs(s).convs)
                CHECK(conv.output.name() != jit.forward_funcs(s).values[std::size_t(value)].name());
        }
        kept += int(values.size());
    }
    CHECK(kept >= 2);  // the residual body's conv and the shortcut's
}

// The Winograd networks above are checked by Winograd: each of their convs takes F(m, 3) in the
// forward pass, and the second conv's input gradient too (the first's input is the images).
TEST_CASE_TEMPLATE("training computes 3x3 convs by Winograd where inference's rule says so", Net, WinogradF4, WinogradF2InBatch) {
    Graph graph = build_graph<Net>();
    const int tile = Net::input_shape.h() == 24 ? 4 : 2;
    for (int op : {0, 2}) CHECK(winograd::output_tile(graph.ops[std::size_t(op)]) == tile);
    halide::JitTraining<double> jit(graph, 100);
    REQUIRE(jit.step().segments().size() == 1);
    CHECK(jit.forward_funcs(0).winograd_convs.size() == 2);
    CHECK(jit.forward_funcs(0).convs.empty());
    // The backward pass of the last segment convolves forward again (it keeps no outputs), then
    // the second conv's input gradient.
    CHECK(jit.backward_funcs(0).winograd_convs.size() == 3);
    for (const halide::WinogradFuncs& w : jit.backward_funcs(0).winograd_convs) CHECK(w.tile == tile);

    // In float, as the trainers run: every gradient within 1e-4 of its tensor's largest of the
    // float64 step above (F(4,3)'s transforms, with entries up to 8, lose the most).
    halide::JitTraining<float> single(graph, 100);
    const TrainingState state = pack_training_state(jit.layout(), testing::random_state_dict(graph, 21), "random weights");
    jit.step().set_parameters(std::vector<double>(state.parameters.begin(), state.parameters.end()));
    single.step().set_parameters(state.parameters);
    const Tensor input = testing::random_tensor(dims_of(Net::input_shape), 3);
    const std::vector<double> images(input.data.begin(), input.data.end());
    std::vector<std::int32_t> labels(std::size_t(Net::output_shape.n()));
    for (std::size_t k = 0; k < labels.size(); ++k) labels[k] = std::int32_t(k % 3);
    jit.step().run(jit, images.data(), labels.data(), {}, 0, false);
    single.step().run(single, input.data.data(), labels.data(), {}, 0, false);
    const std::vector<double> exact = jit.step().gradients();
    const std::vector<float> rounded = single.step().gradients();
    for (const TrainingTensor& tensor : jit.layout().parameters) {
        double largest = 0, difference = 0;
        for (std::int64_t k = tensor.offset; k < tensor.offset + tensor.elements; ++k) {
            largest = std::max(largest, std::abs(exact[std::size_t(k)]));
            difference = std::max(difference, std::abs(exact[std::size_t(k)] - double(rounded[std::size_t(k)])));
        }
        INFO(tensor.name << ": largest " << largest << ", difference " << difference);
        CHECK(largest > 0);
        CHECK(difference <= 1e-4 * largest);
    }
}
