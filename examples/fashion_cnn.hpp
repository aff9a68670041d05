// The course's exercise, "the best CNN you can build" for (Fashion-)MNIST, declared in snc: a
// VGG-style pair of 3x3 convolution blocks with batch normalization, then a dense classifier.
//   28x28x1 -> [conv 32, conv 32, maxpool] -> 14x14x32 -> [conv 64, conv 64, maxpool] -> 7x7x64
//   -> dense 256 -> dense 10.   19.1 M multiply-adds and 0.9 M parameters per image.
#pragma once

#include <snc/snc.hpp>

namespace snc::nets::exercise {

template <int Channels>
struct ConvBlock : Seq<Conv<Channels, 3, Same, NoBias>, BatchNorm<>, ReLU,
                       Conv<Channels, 3, Same, NoBias>, BatchNorm<>, ReLU, MaxPool<2>> {};

template <int Batch = 128>
struct FashionCNN : Network<Input<Batch, 28, 28, 1>,
                            ConvBlock<32>,
                            ConvBlock<64>,
                            Flatten, Dense<256, NoBias>, BatchNorm<>, ReLU,
                            Dense<10>> {};

}  // namespace snc::nets::exercise
