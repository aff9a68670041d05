// Compiling this file is passing: the shape rules of the layers beyond chains of residual pairs,
// and the book's and torchvision's networks built from them.
#include <snc/nets/d2l.hpp>
#include <snc/nets/torchvision.hpp>

namespace {
using namespace snc;

template <class Net>
constexpr Shape out = Net::output_shape;

// Concat: channels side by side, N, H and W agreeing; Identity is a branch.
static_assert(out<Network<Input<2, 8, 8, 3>, Concat<Conv<4, 1>, Identity, Conv<5, 3, Same>>>> == Shape{2, 8, 8, 12});
static_assert(out<Network<Input<2, 10>, Concat<Dense<4>, Identity>>> == Shape{2, 14});
// Gate: the input's shape, the gate (N, C) or (N, 1, 1, C).
static_assert(out<Network<Input<2, 6, 6, 8>, Gate<Seq<GlobalAvgPool, Dense<8>, Sigmoid>>>> == Shape{2, 6, 6, 8});
static_assert(out<Network<Input<2, 6, 6, 8>, Gate<Seq<AdaptiveAvgPool<1>, Conv<8, 1>, HardSigmoid>>>> == Shape{2, 6, 6, 8});
// Groups: the weight (F, C / G, K, K); a depthwise conv's K^2 multiply-adds per output.
static_assert(Conv<32, 3, Groups<8>>::tensors(Shape{1, 5, 5, 16}).items[0].dims[1] == 2);
static_assert(mac_count<Network<Input<1, 5, 5, 16>, Conv<16, 3, Pad<1>, Groups<16>>>> == 25 * 16 * 9);
static_assert(Conv<16, 3, Groups<16>>::spec(Shape{1, 5, 5, 16}).kind == OpKind::grouped_conv);
static_assert(Conv<16, 3>::spec(Shape{1, 5, 5, 16}).kind == OpKind::conv);
// Dilation: the window spans D (K - 1) + 1; Same pads for the span.
static_assert(out<Network<Input<1, 11, 11, 2>, Conv<4, 3, Dilation<2>>>> == Shape{1, 7, 7, 4});
static_assert(out<Network<Input<1, 11, 11, 2>, Conv<4, 3, Dilation<3>, Same>>> == Shape{1, 11, 11, 4});
// KernelWidth: Kernel rows by W columns, each axis its own span and padding (Inception v3's 1x7).
static_assert(out<Network<Input<1, 17, 17, 8>, Conv<4, 1, KernelWidth<7>, Pads<0, 3, 0, 3>>>> == Shape{1, 17, 17, 4});
static_assert(out<Network<Input<1, 17, 12, 8>, Conv<4, 7, KernelWidth<1>>>> == Shape{1, 11, 12, 4});
static_assert(out<Network<Input<1, 9, 9, 8>, Conv<4, 3, KernelWidth<5>, Same, Stride<2>>>> == Shape{1, 5, 5, 4});
static_assert(Conv<4, 1, KernelWidth<7>>::tensors(Shape{1, 9, 9, 8}).items[0].dims[3] == 7);
static_assert(mac_count<Network<Input<1, 9, 9, 8>, Conv<4, 1, KernelWidth<7>, Pads<0, 3, 0, 3>>>> == 81 * 4 * 7 * 8);
static_assert(Conv<4, 3, KernelWidth<3>>::spec(Shape{1, 5, 5, 16}).kind == OpKind::conv);  // square after all
// Ceil mode: rounds up, unless the last window would start past the input and its first padding.
static_assert(out<Network<Input<1, 12, 12, 2>, MaxPool<3, Stride<2>>>> == Shape{1, 5, 5, 2});
static_assert(out<Network<Input<1, 12, 12, 2>, MaxPool<3, Stride<2>, CeilMode>>> == Shape{1, 6, 6, 2});
static_assert(out<Network<Input<1, 6, 6, 2>, MaxPool<2, Stride<2>, CeilMode>>> == Shape{1, 3, 3, 2});
static_assert(window_extent(5, 2, 2, 1, 1, true) == 3);  // ceil(5 / 2) + 1 = 4, but the 4th window would start at 6 >= 5 + 1
// Adaptive average pooling to sizes that divide.
static_assert(out<Network<Input<1, 8, 8, 2>, AdaptiveAvgPool<2>>> == Shape{1, 2, 2, 2});
static_assert(out<Network<Input<1, 7, 7, 2>, AdaptiveAvgPool<1>>> == Shape{1, 1, 1, 2});
// Slices and shuffles keep the pixels; layer norm and layer scale the shape.
static_assert(out<Network<Input<1, 4, 4, 8>, Slice<2, 7>>> == Shape{1, 4, 4, 5});
static_assert(out<Network<Input<1, 4, 4, 8>, ChannelShuffle<4>, LayerNorm<>, LayerScale>> == Shape{1, 4, 4, 8});
static_assert(parameter_count<Network<Input<1, 4, 4, 8>, LayerNorm<>, LayerScale>> == 8 + 8 + 8);

// The book's modern CNNs (d2l 8.3, 8.4, 8.7) on Fashion-MNIST, with d2l's parameter counts.
static_assert(out<nets::d2l::NiN<1>> == Shape{1, 10});
static_assert(parameter_count<nets::d2l::NiN<1>> == 1992166);
static_assert(output_shape_at<nets::d2l::NiN<1>, 0> == Shape{1, 54, 54, 96});
static_assert(out<nets::d2l::GoogLeNet<1>> == Shape{1, 10});
static_assert(output_shape_at<nets::d2l::GoogLeNet<1>, 2> == Shape{1, 6, 6, 480});
static_assert(output_shape_at<nets::d2l::GoogLeNet<1>, 4> == Shape{1, 1024});
static_assert(parameter_count<nets::d2l::GoogLeNet<1>> == 5977530);
static_assert(out<nets::d2l::DenseNet<1>> == Shape{1, 10});
static_assert(output_shape_at<nets::d2l::DenseNet<1>, 1> == Shape{1, 24, 24, 192});
static_assert(output_shape_at<nets::d2l::DenseNet<1>, 7> == Shape{1, 3, 3, 248});
static_assert(parameter_count<nets::d2l::DenseNet<1>> == 758226);
// torchvision's DenseNet-121: 7,978,856 parameters, 2.83 G multiply-adds at 224x224.
static_assert(parameter_count<nets::torchvision::DenseNet121<>> == 7978856);
static_assert(mac_count<nets::torchvision::DenseNet121<>> == 2834161664);
}  // namespace
