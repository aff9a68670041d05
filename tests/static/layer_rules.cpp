// Compiling this file is passing: each layer's shape rule on the cases that tell the rules apart.
#include <snc/snc.hpp>

namespace {
using namespace snc;

template <class Net>
constexpr Shape out = Net::output_shape;

// Conv, Valid: (H - K) / S + 1.
static_assert(out<Network<Input<1, 7, 7, 2>, Conv<4, 3>>> == Shape{1, 5, 5, 4});
static_assert(out<Network<Input<1, 7, 7, 2>, Conv<4, 3, Stride<2>>>> == Shape{1, 3, 3, 4});
static_assert(out<Network<Input<1, 8, 8, 2>, Conv<4, 3, Stride<2>>>> == Shape{1, 3, 3, 4});
// Conv, Same: ceil(H / S), whatever the kernel.
static_assert(out<Network<Input<1, 7, 7, 2>, Conv<4, 3, Same>>> == Shape{1, 7, 7, 4});
static_assert(out<Network<Input<1, 7, 7, 2>, Conv<4, 4, Same, Stride<2>>>> == Shape{1, 4, 4, 4});
static_assert(out<Network<Input<1, 96, 96, 1>, Conv<64, 7, Same, Stride<2>>>> == Shape{1, 48, 48, 64});
// Options in any order.
static_assert(out<Network<Input<1, 7, 7, 2>, Conv<4, 4, Stride<2>, Same>>> == Shape{1, 4, 4, 4});
// Same puts the odd padding pixel at the bottom/right (TensorFlow).
static_assert(Conv<4, 4, Same>::spec(Shape{1, 7, 7, 2}).window.pad_top == 1);
static_assert(Conv<4, 4, Same>::spec(Shape{1, 7, 7, 2}).window.pad_bottom == 2);
static_assert(Conv<4, 3, Same, Stride<2>>::spec(Shape{1, 8, 8, 2}).window.pad_top == 0);
static_assert(Conv<4, 3, Same, Stride<2>>::spec(Shape{1, 8, 8, 2}).window.pad_bottom == 1);
// Conv, Pad<P>: (H + 2P - K) / S + 1, as PyTorch: torchvision's stem on 224 gives 112.
static_assert(out<Network<Input<1, 224, 224, 3>, Conv<64, 7, Stride<2>, Pad<3>>>> == Shape{1, 112, 112, 64});
// Conv, Pads<T, L, B, R>: each side its own (ONNX's asymmetric pads).
static_assert(out<Network<Input<1, 7, 5, 1>, Conv<1, 3, Pads<1, 0, 1, 0>, Stride<2>>>> == Shape{1, 4, 2, 1});
static_assert(Conv<1, 3, Pads<1, 0, 2, 3>>::spec(Shape{1, 7, 5, 1}).window.pad_right == 3);
// Bias by default, as Keras; NoBias drops it.
static_assert(parameter_count<Network<Input<1, 5, 5, 3>, Conv<8, 3>>> == 8 * 3 * 9 + 8);
static_assert(parameter_count<Network<Input<1, 5, 5, 3>, Conv<8, 3, NoBias>>> == 8 * 3 * 9);
static_assert(mac_count<Network<Input<2, 5, 5, 3>, Conv<8, 3>>> == 2 * 3 * 3 * 8 * (3 * 9));

// Pools: the stride defaults to the window.
static_assert(out<Network<Input<1, 9, 9, 5>, MaxPool<2>>> == Shape{1, 4, 4, 5});
static_assert(out<Network<Input<1, 9, 9, 5>, AvgPool<3, Stride<2>>>> == Shape{1, 4, 4, 5});
static_assert(out<Network<Input<1, 48, 48, 64>, MaxPool<3, Stride<2>, Same>>> == Shape{1, 24, 24, 64});
static_assert(out<Network<Input<1, 112, 112, 64>, MaxPool<3, Stride<2>, Pad<1>>>> == Shape{1, 56, 56, 64});
static_assert(out<Network<Input<3, 7, 5, 8>, GlobalAvgPool>> == Shape{3, 8});
static_assert(AvgPool<3, Pad<1>, CountIncludePad>::spec(Shape{1, 4, 4, 1}).count_include_pad);
static_assert(!AvgPool<3, Pad<1>>::spec(Shape{1, 4, 4, 1}).count_include_pad);

// Flatten and Dense.
static_assert(out<Network<Input<3, 4, 5, 6>, Flatten>> == Shape{3, 120});
static_assert(out<Network<Input<3, 4, 5, 6>, Flatten, Dense<7>>> == Shape{3, 7});
static_assert(out<Network<Input<3, 20>, Dense<7, NoBias>>> == Shape{3, 7});
static_assert(parameter_count<Network<Input<3, 20>, Dense<7>>> == 147);
static_assert(parameter_count<Network<Input<3, 20>, Dense<7, NoBias>>> == 140);

// BatchNorm: per channel on images, per feature on matrices; gamma and beta are the parameters,
// the running statistics are buffers.
static_assert(parameter_count<Network<Input<2, 4, 4, 6>, BatchNorm<>>> == 12);
static_assert(parameter_count<Network<Input<2, 30>, BatchNorm<>>> == 60);
static_assert(BatchNorm<Epsilon<1e-3f>, Momentum<0.01f>>::options.epsilon == 1e-3f);
static_assert(BatchNorm<Momentum<0.01f>>::options.momentum == 0.01f);
static_assert(BatchNorm<>::options.epsilon == 1e-5f && BatchNorm<>::options.momentum == 0.1f);

// Dropout: the shape unchanged, no parameters.
static_assert(out<Network<Input<2, 8, 8, 3>, Conv<4, 3>, Dropout<0.5f>>> == Shape{2, 6, 6, 4});
static_assert(parameter_count<Network<Input<2, 30>, Dense<10>, Dropout<0.2f>, Dense<5>>> == 310 + 55);
static_assert(Dropout<0.25f>::spec(Shape{2, 30}).rate == 0.25f);

// Residual: body + shortcut; the activation after the add is a following layer.
using Basic = Residual<Seq<Conv<4, 3, Same>, BatchNorm<>, ReLU, Conv<4, 3, Same>, BatchNorm<>>>;
static_assert(out<Network<Input<2, 8, 8, 4>, Basic, ReLU>> == Shape{2, 8, 8, 4});
using Down = Residual<Seq<Conv<8, 3, Same, Stride<2>>, BatchNorm<>>, Conv<8, 1, Stride<2>>>;
static_assert(out<Network<Input<2, 8, 8, 4>, Down>> == Shape{2, 4, 4, 8});

// Top-level facts per element add up to the network's.
using Net = Network<Input<2, 8, 8, 4>, Down, ReLU, GlobalAvgPool, Dense<3>>;
static_assert(layer_parameter_count<Net, 0> + layer_parameter_count<Net, 3> == parameter_count<Net>);
static_assert(layer_mac_count<Net, 0> + layer_mac_count<Net, 3> == mac_count<Net>);
static_assert(layer_activation_bytes<Net, 1> == 2 * 4 * 4 * 8 * 4);
// A memory budget, as a user would state it.
static_assert(activation_bytes<Net> < 64 * 1024, "this block must fit in 64 KiB of activations");
}  // namespace

