// The course's networks, spelled as d2l writes them (Dive into Deep Learning, chapters 7.6, 8.3-8.7):
// LeNet, BNLeNet, NiN, GoogLeNet, ResNet-18, DenseNet.
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

// d2l's nin_block(out_channels, kernel_size, strides, padding): the conv, then two 1x1 convs, each
// with its ReLU.
template <int Channels, int Kernel, int Strides, int Padding>
struct NiNBlock : Seq<Conv<Channels, Kernel, Stride<Strides>, Pad<Padding>>, ReLU, Conv<Channels, 1>, ReLU, Conv<Channels, 1>, ReLU> {};

// d2l's NiN (8.3) on Fashion-MNIST resized to 224x224: no dense layer, the last block gives one
// channel per class and the global average is the logits. (Clang before 18 takes no float
// template argument, Dropout<0.5f>'s; g++ builds snc, clang only parses its headers.)
#if !defined(__clang__) || __clang_major__ >= 18
template <int Batch = 128, int Size = 224, int Classes = 10>
struct NiN : Network<Input<Batch, Size, Size, 1>,
                     NiNBlock<96, 11, 4, 0>, MaxPool<3, Stride<2>>,
                     NiNBlock<256, 5, 1, 2>, MaxPool<3, Stride<2>>,
                     NiNBlock<384, 3, 1, 1>, MaxPool<3, Stride<2>>,
                     Dropout<0.5f>,
                     NiNBlock<Classes, 3, 1, 1>, AdaptiveAvgPool<1>, Flatten> {};
#endif

// d2l's Inception(c1, c2, c3, c4) (8.4): four branches side by side, each conv with its ReLU,
//   b1_1 1x1 conv c1 | b2_1 1x1 conv c2[0], b2_2 3x3 conv c2[1] | b3_1 1x1 conv c3[0], b3_2 5x5 conv
//   c3[1] | b4_1 3x3 max pool, b4_2 1x1 conv c4
// joined along channels; its modules are named as d2l's attributes (Named<""> branches add no step).
template <int C1, int C2a, int C2b, int C3a, int C3b, int C4>
struct Inception : Concat<Named<"", Seq<Named<"b1_1", Conv<C1, 1>>, ReLU>>,
                          Named<"", Seq<Named<"b2_1", Conv<C2a, 1>>, ReLU, Named<"b2_2", Conv<C2b, 3, Pad<1>>>, ReLU>>,
                          Named<"", Seq<Named<"b3_1", Conv<C3a, 1>>, ReLU, Named<"b3_2", Conv<C3b, 5, Pad<2>>>, ReLU>>,
                          Named<"", Seq<MaxPool<3, Stride<1>, Pad<1>>, Named<"b4_2", Conv<C4, 1>>, ReLU>>> {};

// d2l's GoogLeNet (8.4) on 96x96 images: b1 to b5, then the dense layer.
template <int Batch = 128, int Size = 96, int Classes = 10>
struct GoogLeNet : Network<Input<Batch, Size, Size, 1>,
                           Seq<Conv<64, 7, Stride<2>, Pad<3>>, ReLU, MaxPool<3, Stride<2>, Pad<1>>>,
                           Seq<Conv<64, 1>, ReLU, Conv<192, 3, Pad<1>>, ReLU, MaxPool<3, Stride<2>, Pad<1>>>,
                           Seq<Inception<64, 96, 128, 16, 32, 32>, Inception<128, 128, 192, 32, 96, 64>, MaxPool<3, Stride<2>, Pad<1>>>,
                           Seq<Inception<192, 96, 208, 16, 48, 64>, Inception<160, 112, 224, 24, 64, 64>,
                               Inception<128, 128, 256, 24, 64, 64>, Inception<112, 144, 288, 32, 64, 64>,
                               Inception<256, 160, 320, 32, 128, 128>, MaxPool<3, Stride<2>, Pad<1>>>,
                           Seq<Inception<256, 160, 320, 32, 128, 128>, Inception<384, 192, 384, 48, 128, 128>, AdaptiveAvgPool<1>, Flatten>,
                           Dense<Classes>> {};

// d2l's conv_block (8.7): BN, ReLU, 3x3 conv; a DenseBlock(num_convs, num_channels) puts each
// block's output beside its input (torch.cat), so its output has num_convs * num_channels more
// channels. Named as d2l's modules: net.<i>.<j>.
template <int Channels>
struct DenseConv : Seq<BatchNorm<>, ReLU, Conv<Channels, 3, Pad<1>>> {};
template <int Channels>
struct DenseLayer : Concat<Identity, Named<"", DenseConv<Channels>>> {};
template <int Convs, int Channels>
using DenseBlock = Named<"net", RepeatSeq<DenseLayer<Channels>, DenseLayer<Channels>, Convs>>;  // an alias: Named is seen
// d2l's transition_block: BN, ReLU, 1x1 conv, 2x2 average pool of stride 2.
template <int Channels>
struct Transition : Seq<BatchNorm<>, ReLU, Conv<Channels, 1>, AvgPool<2, Stride<2>>> {};

// d2l's DenseNet (8.7) on 96x96 images: 64 channels after b1, growth rate 32, four dense blocks
// of 4 convs, the transitions halving the channels (192 -> 96, 224 -> 112, 240 -> 120; 248 at the end).
template <int Batch = 128, int Size = 96, int Classes = 10>
struct DenseNet : Network<Input<Batch, Size, Size, 1>,
                          Seq<Conv<64, 7, Stride<2>, Pad<3>>, BatchNorm<>, ReLU, MaxPool<3, Stride<2>, Pad<1>>>,
                          Named<"dense_blk1", DenseBlock<4, 32>>, Named<"tran_blk1", Transition<96>>,
                          Named<"dense_blk2", DenseBlock<4, 32>>, Named<"tran_blk2", Transition<112>>,
                          Named<"dense_blk3", DenseBlock<4, 32>>, Named<"tran_blk3", Transition<120>>,
                          Named<"dense_blk4", DenseBlock<4, 32>>,
                          Named<"last", Seq<BatchNorm<>, ReLU, AdaptiveAvgPool<1>, Flatten, Dense<Classes>>>> {};

}  // namespace snc::nets::d2l
