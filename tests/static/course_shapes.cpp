// Compiling this file is passing: the course's shapes, checked while it compiles.
#include <snc/nets/d2l.hpp>

namespace {
using namespace snc;

// Shape: literal, structural, compared with ==.
static_assert(Shape{4, 6, 6, 3} == Shape{4, 6, 6, 3});
static_assert(Shape{4, 6, 6, 3} != Shape{4, 6, 6, 4});
static_assert(Shape{1, 10}.rank == 2 && Shape{1, 10}.features() == 10);
static_assert(Shape{2, 3, 4, 5}.elements() == 120);

// The BNLeNet, spelled out.
using BNLeNet = Network<Input<128, 28, 28, 1>,
    Conv<6, 5>, BatchNorm<>, Sigmoid, AvgPool<2>,
    Conv<16, 5>, BatchNorm<>, Sigmoid, AvgPool<2>,
    Flatten, Dense<120>, BatchNorm<>, Sigmoid,
    Dense<84>, BatchNorm<>, Sigmoid, Dense<10>>;
static_assert(BNLeNet::output_shape == Shape{128, 10});
static_assert(output_shape_at<BNLeNet, 0> == Shape{128, 24, 24, 6});
static_assert(output_shape_at<BNLeNet, 3> == Shape{128, 12, 12, 6});
static_assert(output_shape_at<BNLeNet, 7> == Shape{128, 4, 4, 16});
static_assert(output_shape_at<BNLeNet, 8> == Shape{128, 256});
static_assert(parameter_count<BNLeNet> == 44'878);
static_assert(parameter_count<nets::d2l::BNLeNet<>> == 44'878);
static_assert(nets::d2l::BNLeNet<>::output_shape == Shape{128, 10});

// d2l's LeNet: the first conv padded 'same' keeps 28x28.
static_assert(output_shape_at<nets::d2l::LeNet<>, 0> == Shape{128, 28, 28, 6});
static_assert(output_shape_at<nets::d2l::LeNet<>, 6> == Shape{128, 400});
static_assert(parameter_count<nets::d2l::LeNet<>> == 61'706);

// The course's Residual block: blk = Residual(3); blk(X of (4, 6, 6, 3)) -> (4, 6, 6, 3).
static_assert(Network<Input<4, 6, 6, 3>, nets::d2l::Residual<3>>::output_shape == Shape{4, 6, 6, 3});
// Residual(6, use_1x1conv=True, strides=2) -> (4, 3, 3, 6).
static_assert(Network<Input<4, 6, 6, 3>, nets::d2l::Residual<6, true, 2>>::output_shape == Shape{4, 3, 3, 6});

// ResNet18().layer_summary((1, 96, 96, 1)), as the course prints it.
using ResNet18 = nets::d2l::ResNet18<>;
static_assert(ResNet18::size == 6);
static_assert(output_shape_at<ResNet18, 0> == Shape{1, 24, 24, 64});
static_assert(output_shape_at<ResNet18, 1> == Shape{1, 24, 24, 64});
static_assert(output_shape_at<ResNet18, 2> == Shape{1, 12, 12, 128});
static_assert(output_shape_at<ResNet18, 3> == Shape{1, 6, 6, 256});
static_assert(output_shape_at<ResNet18, 4> == Shape{1, 3, 3, 512});
static_assert(output_shape_at<ResNet18, 5> == Shape{1, 10});
static_assert(ResNet18::output_shape == Shape{1, 10});
// On Fashion-MNIST resized to 96x96 at the course's batch of 128.
static_assert(nets::d2l::ResNet18<128>::output_shape == Shape{128, 10});
}  // namespace
