// torchvision's ResNets (He et al., 2015), exactly as torchvision.models builds them, with its
// parameter names: conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc.
//
//   ResNet-18: BasicBlock, 2, 2, 2, 2 blocks      ResNet-50:  Bottleneck, 3, 4, 6, 3
//   ResNet-34: BasicBlock, 3, 4, 6, 3             ResNet-101: Bottleneck, 3, 4, 23, 3
//                                                 ResNet-152: Bottleneck, 3, 8, 36, 3
// Convolutions have no bias; the stride sits on the 3x3 conv (torchvision's "ResNet v1.5").
// And its DenseNets (Huang et al., 2016): DenseNet-121, features.denseblock1.denselayer1.conv1, ...
#pragma once

#include <utility>

#include <snc/snc.hpp>

namespace snc::nets::torchvision {

// downsample = 1x1 conv with the block's stride + BN, when the block changes channels or size.
template <int Channels, int Strides>
using Downsample = Named<"downsample", Seq<Conv<Channels, 1, Stride<Strides>, NoBias>, BatchNorm<>>>;

template <bool Needed, int Channels, int Strides>
using ShortcutOf = std::conditional_t<Needed, Downsample<Channels, Strides>, Identity>;

// BasicBlock: conv3x3(stride) -> bn1 -> relu -> conv3x3 -> bn2, + shortcut, relu.
template <int Planes, int Strides = 1, bool HasDownsample = false>
struct BasicBlock
    : Seq<Named<"", Residual<Named<"", Seq<Named<"conv1", Conv<Planes, 3, Stride<Strides>, Pad<1>, NoBias>>,
                                           Named<"bn1", BatchNorm<>>,
                                           Named<"relu", ReLU>,
                                           Named<"conv2", Conv<Planes, 3, Pad<1>, NoBias>>,
                                           Named<"bn2", BatchNorm<>>>>,
                             ShortcutOf<HasDownsample, Planes, Strides>>>,
          Named<"relu", ReLU>> {
    static constexpr int expansion = 1;
};

// Bottleneck: conv1x1 -> bn1 -> relu -> conv3x3(stride) -> bn2 -> relu -> conv1x1(4x) -> bn3,
// + shortcut, relu.
template <int Planes, int Strides = 1, bool HasDownsample = false>
struct Bottleneck
    : Seq<Named<"", Residual<Named<"", Seq<Named<"conv1", Conv<Planes, 1, NoBias>>,
                                           Named<"bn1", BatchNorm<>>,
                                           Named<"relu", ReLU>,
                                           Named<"conv2", Conv<Planes, 3, Stride<Strides>, Pad<1>, NoBias>>,
                                           Named<"bn2", BatchNorm<>>,
                                           Named<"relu", ReLU>,
                                           Named<"conv3", Conv<Planes * 4, 1, NoBias>>,
                                           Named<"bn3", BatchNorm<>>>>,
                             ShortcutOf<HasDownsample, Planes * 4, Strides>>>,
          Named<"relu", ReLU>> {
    static constexpr int expansion = 4;
};

// torchvision's _make_layer: Blocks blocks of Planes, the first with the stride and, when channels
// or size change, a downsample shortcut.
template <template <int, int, bool> class Block, int Planes, int Blocks, int Strides, int InPlanes>
struct Stage : RepeatSeq<
                   Block<Planes, Strides, (Strides != 1 || InPlanes != Planes * Block<Planes, 1, false>::expansion)>,
                   Block<Planes, 1, false>, Blocks> {};

// torchvision's ResNet. Size and Width are there for narrow variants in tests (torchvision itself
// always has 224x224 inputs and 64, 128, 256, 512 planes).
template <template <int, int, bool> class Block, int L1, int L2, int L3, int L4, int Batch, int Classes,
          int Size = 224, int Width = 64>
struct ResNet : Network<Input<Batch, Size, Size, 3>,
                        Named<"conv1", Conv<Width, 7, Stride<2>, Pad<3>, NoBias>>,
                        Named<"bn1", BatchNorm<>>,
                        Named<"relu", ReLU>,
                        Named<"maxpool", MaxPool<3, Stride<2>, Pad<1>>>,
                        Named<"layer1", Stage<Block, Width, L1, 1, Width>>,
                        Named<"layer2", Stage<Block, 2 * Width, L2, 2, Width * Block<64, 1, false>::expansion>>,
                        Named<"layer3", Stage<Block, 4 * Width, L3, 2, 2 * Width * Block<64, 1, false>::expansion>>,
                        Named<"layer4", Stage<Block, 8 * Width, L4, 2, 4 * Width * Block<64, 1, false>::expansion>>,
                        Named<"avgpool", GlobalAvgPool>,
                        Named<"fc", Dense<Classes>>> {};

template <int Batch = 1, int Classes = 1000>
struct ResNet18 : ResNet<BasicBlock, 2, 2, 2, 2, Batch, Classes> {};
template <int Batch = 1, int Classes = 1000>
struct ResNet34 : ResNet<BasicBlock, 3, 4, 6, 3, Batch, Classes> {};
template <int Batch = 1, int Classes = 1000>
struct ResNet50 : ResNet<Bottleneck, 3, 4, 6, 3, Batch, Classes> {};
template <int Batch = 1, int Classes = 1000>
struct ResNet101 : ResNet<Bottleneck, 3, 4, 23, 3, Batch, Classes> {};
template <int Batch = 1, int Classes = 1000>
struct ResNet152 : ResNet<Bottleneck, 3, 8, 36, 3, Batch, Classes> {};

// torchvision's _DenseLayer: norm1, relu1, conv1 (1x1, bn_size * growth), norm2, relu2, conv2
// (3x3, growth); its output goes beside its input (torch.cat), as every later layer of the block
// reads all the features before it.
template <int Growth, int Bottleneck = 4 * Growth>
using DenseLayer = Concat<Identity, Named<"", Seq<Named<"norm1", BatchNorm<>>, ReLU, Named<"conv1", Conv<Bottleneck, 1, NoBias>>,
                                                  Named<"norm2", BatchNorm<>>, ReLU, Named<"conv2", Conv<Growth, 3, Pad<1>, NoBias>>>>>;

namespace detail {
// "denselayer<I + 1>": torchvision numbers its dense layers from 1.
template <std::size_t I>
constexpr fixed_string<16> dense_layer_name() {
    fixed_string<16> name;
    name.append("denselayer");
    name.append(std::size_t(I + 1));
    return name;
}
template <int Growth, class Indices>
struct dense_block;
template <int Growth, std::size_t... I>
struct dense_block<Growth, std::index_sequence<I...>> {
    using type = Seq<Named<dense_layer_name<I>(), DenseLayer<Growth>>...>;
};
}  // namespace detail

template <int Layers, int Growth = 32>
using DenseBlock = typename detail::dense_block<Growth, std::make_index_sequence<Layers>>::type;

// _Transition: norm, relu, conv (1x1, halving the channels), pool (2x2 average).
template <int Channels>
using Transition = Seq<Named<"norm", BatchNorm<>>, ReLU, Named<"conv", Conv<Channels, 1, NoBias>>, Named<"pool", AvgPool<2, Stride<2>>>>;

// DenseNet-121: growth 32, blocks of 6, 12, 24 and 16 layers from 64 channels (256 -> 128,
// 512 -> 256, 1024 -> 512, 1024 at the end), 224x224x3 images; 7,978,856 parameters for 1000 classes.
template <int Batch = 1, int Classes = 1000, int Size = 224>
struct DenseNet121 : Network<Input<Batch, Size, Size, 3>,
                             Named<"features", Seq<Named<"conv0", Conv<64, 7, Stride<2>, Pad<3>, NoBias>>, Named<"norm0", BatchNorm<>>,
                                                   ReLU, MaxPool<3, Stride<2>, Pad<1>>,
                                                   Named<"denseblock1", DenseBlock<6>>, Named<"transition1", Transition<128>>,
                                                   Named<"denseblock2", DenseBlock<12>>, Named<"transition2", Transition<256>>,
                                                   Named<"denseblock3", DenseBlock<24>>, Named<"transition3", Transition<512>>,
                                                   Named<"denseblock4", DenseBlock<16>>, Named<"norm5", BatchNorm<>>>>,
                             ReLU, AdaptiveAvgPool<1>, Flatten, Named<"classifier", Dense<Classes>>> {};

}  // namespace snc::nets::torchvision
