// Every layer kind of issue 28 in one network, with PyTorch's twin in tests/fixtures/make_fixtures.py
// (every_layer): the suite checks it by the JIT (language_test.cpp) and, compiled ahead of time for
// the CPU, OpenCL and CUDA, on every device this machine has (every_layer_devices.cpp).
#pragma once

#include <snc/snc.hpp>

namespace snc::testing {

using EveryLayer = Network<
    Input<4, 12, 12, 3>, Conv<16, 3, Pad<1>, NoBias>, BatchNorm<>, HardSwish,
    Conv<16, 3, Pad<1>, Groups<16>, NoBias>, BatchNorm<>, ReLU6,  // depthwise, its batch norm folded in
    Gate<Seq<AdaptiveAvgPool<1>, Named<"fc1", Conv<4, 1>>, SiLU, Named<"fc2", Conv<16, 1>>, HardSigmoid>>,
    Concat<Identity, Seq<Conv<8, 3, Pad<2>, Dilation<2>>, GELU>, Seq<Slice<0, 8>, Conv<8, 3, KernelWidth<1>, Pads<1, 0, 1, 0>, Groups<2>>, LeakyReLU<0.1f>>>,
    ChannelShuffle<4>, MaxPool<3, Stride<2>, CeilMode>, LayerNorm<Epsilon<1e-6f>>, Named<"layer_scale", LayerScale>,
    Residual<Seq<Conv<32, 1>, LayerScale>>, AvgPool<3, Stride<2>, CeilMode, CountIncludePad>, Flatten, Dense<5>>;

}  // namespace snc::testing
