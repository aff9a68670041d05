// The characteristic block of each torchvision family that the language could not say before
// (issue 28), written as a type list with torchvision's module names. zoo_blocks.cpp checks their
// parameter counts as torchvision counts them (sum(p.numel()), torchvision 0.14) and their output
// shapes at compile time; runtime/graph_test.cpp their tensors' names. The whole networks and
// their import are the zoo issue's.
#pragma once

#include <snc/snc.hpp>

namespace snc::zoo_blocks {
// MobileNetV2's InvertedResidual(24, 24, stride 1, expand_ratio 6): 1x1 expand, 3x3 depthwise, 1x1 project, the input added.
using MobileNetV2Block = Network<Input<1, 56, 56, 24>,
    Named<"", Residual<Named<"conv", Seq<Seq<Conv<144, 1, NoBias>, BatchNorm<>, ReLU6>,
                                         Seq<Conv<144, 3, Pad<1>, Groups<144>, NoBias>, BatchNorm<>, ReLU6>,
                                         Conv<24, 1, NoBias>, BatchNorm<>>>>>>;

// MobileNetV3-Small's features.4: expand with hard-swish, a 5x5 stride-2 depthwise conv, squeeze-excitation
// (fc1, fc2, hard-sigmoid), project.
using MobileNetV3Block = Network<Input<1, 28, 28, 24>,
    Named<"block", Seq<Seq<Conv<96, 1, NoBias>, BatchNorm<Epsilon<1e-3f>, Momentum<0.01f>>, HardSwish>,
                       Seq<Conv<96, 5, Stride<2>, Pad<2>, Groups<96>, NoBias>, BatchNorm<Epsilon<1e-3f>, Momentum<0.01f>>, HardSwish>,
                       Gate<Seq<AdaptiveAvgPool<1>, Named<"fc1", Conv<24, 1>>, ReLU, Named<"fc2", Conv<96, 1>>, HardSigmoid>>,
                       Seq<Conv<40, 1, NoBias>, BatchNorm<Epsilon<1e-3f>, Momentum<0.01f>>>>>>;

// ShuffleNetV2's InvertedResidual(116, 116, 1): half the channels pass, the other half through
// branch2, side by side, then shuffled.
using ShuffleNetV2Unit = Network<Input<1, 28, 28, 116>,
    Named<"", Concat<Slice<0, 58>,
                     Named<"", Seq<Slice<58, 116>, Named<"branch2", Seq<Conv<58, 1, NoBias>, BatchNorm<>, ReLU,
                                                                        Conv<58, 3, Pad<1>, Groups<58>, NoBias>, BatchNorm<>,
                                                                        Conv<58, 1, NoBias>, BatchNorm<>, ReLU>>>>>>,
    ChannelShuffle<2>>;
// ...and InvertedResidual(24, 116, 2): both halves computed, each at stride 2.
using ShuffleNetV2Down = Network<Input<1, 56, 56, 24>,
    Named<"", Concat<Named<"branch1", Seq<Conv<24, 3, Stride<2>, Pad<1>, Groups<24>, NoBias>, BatchNorm<>,
                                          Conv<58, 1, NoBias>, BatchNorm<>, ReLU>>,
                     Named<"branch2", Seq<Conv<58, 1, NoBias>, BatchNorm<>, ReLU,
                                          Conv<58, 3, Stride<2>, Pad<1>, Groups<58>, NoBias>, BatchNorm<>,
                                          Conv<58, 1, NoBias>, BatchNorm<>, ReLU>>>>,
    ChannelShuffle<2>>;

// SqueezeNet's Fire(64, 16, 64, 64): squeeze, then 1x1 and 3x3 expansions side by side.
using SqueezeNetFire = Network<Input<1, 27, 27, 64>,
    Named<"", Seq<Named<"squeeze", Conv<16, 1>>, ReLU,
                  Named<"", Concat<Named<"", Seq<Named<"expand1x1", Conv<64, 1>>, ReLU>>,
                                   Named<"", Seq<Named<"expand3x3", Conv<64, 3, Pad<1>>>, ReLU>>>>>>,
    MaxPool<3, Stride<2>, CeilMode>>;

// ConvNeXt's CNBlock(96): 7x7 depthwise, layer norm over channels, the MLP (its nn.Linear on
// channels-last data is a 1x1 conv here: weight (384, 96, 1, 1) where torchvision's is (384, 96)),
// layer scale, stochastic depth, the input added.
using ConvNeXtBlock = Network<Input<1, 56, 56, 96>,
    Named<"", Residual<Named<"", Seq<Named<"block", Seq<Conv<96, 7, Pad<3>, Groups<96>>, Named<"2", LayerNorm<Epsilon<1e-6f>>>,
                                                        Named<"3", Conv<384, 1>>, GELU, Named<"5", Conv<96, 1>>>>,
                                     Named<"layer_scale", LayerScale>, StochasticDepth<0.1f>>>>>>;

// ResNeXt's Bottleneck(256, 64, groups 32, width_per_group 4): a 3x3 conv of 32 groups of 4 channels.
using ResNeXtBlock = Network<Input<1, 56, 56, 256>,
    Named<"", Residual<Named<"", Seq<Named<"conv1", Conv<128, 1, NoBias>>, Named<"bn1", BatchNorm<>>, ReLU,
                                     Named<"conv2", Conv<128, 3, Pad<1>, Groups<32>, NoBias>>, Named<"bn2", BatchNorm<>>, ReLU,
                                     Named<"conv3", Conv<256, 1, NoBias>>, Named<"bn3", BatchNorm<>>>>>>,
    ReLU>;

// Inception v3's InceptionC(768, channels_7x7 128): four branches, two of them chains of 1x7 and
// 7x1 convs (KernelWidth), the last an average pool (count_include_pad, as F.avg_pool2d's
// default) before its 1x1 conv. torchvision's BasicConv2d: conv (no bias), bn (eps 1e-3), ReLU.
template <fixed_string Name, int Filters, int Rows, int Columns>
using BasicConv2d = Named<Name, Seq<Named<"conv", Conv<Filters, Rows, KernelWidth<Columns>, Pads<Rows / 2, Columns / 2, Rows / 2, Columns / 2>, NoBias>>,
                                    Named<"bn", BatchNorm<Epsilon<1e-3f>>>, ReLU>>;
using InceptionV3C = Network<Input<1, 17, 17, 768>,
    Named<"", Concat<BasicConv2d<"branch1x1", 192, 1, 1>,
                     Named<"", Seq<BasicConv2d<"branch7x7_1", 128, 1, 1>, BasicConv2d<"branch7x7_2", 128, 1, 7>,
                                   BasicConv2d<"branch7x7_3", 192, 7, 1>>>,
                     Named<"", Seq<BasicConv2d<"branch7x7dbl_1", 128, 1, 1>, BasicConv2d<"branch7x7dbl_2", 128, 7, 1>,
                                   BasicConv2d<"branch7x7dbl_3", 128, 1, 7>, BasicConv2d<"branch7x7dbl_4", 128, 7, 1>,
                                   BasicConv2d<"branch7x7dbl_5", 192, 1, 7>>>,
                     Named<"", Seq<AvgPool<3, Stride<1>, Pad<1>, CountIncludePad>, BasicConv2d<"branch_pool", 192, 1, 1>>>>>>;
}  // namespace snc::zoo_blocks
