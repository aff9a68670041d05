// The course's networks, spelled as d2l writes them (Dive into Deep Learning, chapters 7.6, 8.5, 8.6).
//
// Parameter names are those of the same modules written as nested nn.Sequential in PyTorch:
// "0.weight" for BNLeNet's first conv, "1.0.conv1.weight" for ResNet-18's first residual block.
#pragma once

#include <snc/snc.hpp>

namespace snc::nets::d2l {

// d2l's Residual(num_channels, use_1x1conv, strides):
//   conv3x3(same, stride) -> BN -> ReLU -> conv3x3(same) -> BN, plus the input (through a 1x1 conv
//   with the same stride when use_1x1conv), then ReLU. Modules: conv1, bn1, conv2, bn2, conv3.
template <int Channels, bool Use1x1Conv = false, int Strides = 1>
struct Residual
    : Seq<Named<"", snc::Residual<Named<"", Seq<Named<"conv1", Conv<Channels, 3, Same, Stride<Strides>>>,
                                                 Named<"bn1", BatchNorm<>>,
                                                 ReLU,
                                                 Named<"conv2", Conv<Channels, 3, Same>>,
                                                 Named<"bn2", BatchNorm<>>>>,
                                  std::conditional_t<Use1x1Conv,
                                                     Named<"conv3", Conv<Channels, 1, Stride<Strides>>>,
                                                     Identity>>>,
          ReLU> {};

// d2l's b1: conv7x7/2 same, BN, ReLU, maxpool3x3/2 same.
struct Stem : Seq<Conv<64, 7, Stride<2>, Same>, BatchNorm<>, ReLU, MaxPool<3, Stride<2>, Same>> {};

// d2l's block(num_residuals, num_channels, first_block): the first residual halves the size and
// changes the channels (1x1 conv, stride 2) unless it is the first block.
template <int NumResiduals, int Channels, bool FirstBlock = false>
struct Block : RepeatSeq<std::conditional_t<FirstBlock, Residual<Channels>, Residual<Channels, true, 2>>,
                                         Residual<Channels>, NumResiduals> {};

template <int Classes>
struct Head : Seq<GlobalAvgPool, Dense<Classes>> {};

// ResNet-18: 2, 2, 2, 2 residual blocks per stage. Six top-level elements, as the course's
// layer_summary shows them: b1, the four blocks, the head.
template <int Batch = 1, int H = 96, int W = 96, int C = 1, int Classes = 10>
struct ResNet18 : Network<Input<Batch, H, W, C>,
                          Stem,
                          Block<2, 64, true>,
                          Block<2, 128>,
                          Block<2, 256>,
                          Block<2, 512>,
                          Head<Classes>> {};

// LeNet with batch normalization after every conv and dense layer, as the course writes it in Keras.
template <int Batch = 128>
struct BNLeNet : Network<Input<Batch, 28, 28, 1>,
                         Conv<6, 5>, BatchNorm<>, Sigmoid, AvgPool<2>,
                         Conv<16, 5>, BatchNorm<>, Sigmoid, AvgPool<2>,
                         Flatten, Dense<120>, BatchNorm<>, Sigmoid,
                         Dense<84>, BatchNorm<>, Sigmoid, Dense<10>> {};

// d2l's LeNet: the same without batch normalization, the first conv padded 'same' (padding=2).
template <int Batch = 128>
struct LeNet : Network<Input<Batch, 28, 28, 1>,
                       Conv<6, 5, Same>, Sigmoid, AvgPool<2>,
                       Conv<16, 5>, Sigmoid, AvgPool<2>,
                       Flatten, Dense<120>, Sigmoid,
                       Dense<84>, Sigmoid, Dense<10>> {};

}  // namespace snc::nets::d2l
