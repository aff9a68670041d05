// Compiling this file is passing: torchvision's ResNets, counted as PyTorch counts them
// (sum(p.numel() for p in model.parameters())).
#include <snc/nets/torchvision.hpp>

namespace {
using namespace snc;
namespace tv = nets::torchvision;

static_assert(parameter_count<tv::ResNet18<>> == 11'689'512);
static_assert(parameter_count<tv::ResNet34<>> == 21'797'672);
static_assert(parameter_count<tv::ResNet50<>> == 25'557'032);
static_assert(parameter_count<tv::ResNet101<>> == 44'549'160);
static_assert(parameter_count<tv::ResNet152<>> == 60'192'808);

// Multiply-adds as the usual counters (fvcore) report them: 1.81 G for ResNet-18, 4.09 G for ResNet-50.
static_assert(mac_count<tv::ResNet18<>> == 1'814'073'344);
static_assert(mac_count<tv::ResNet50<>> == 4'089'184'256);

static_assert(tv::ResNet18<>::output_shape == Shape{1, 1000});
static_assert(output_shape_at<tv::ResNet18<>, 3> == Shape{1, 56, 56, 64});
static_assert(output_shape_at<tv::ResNet50<>, 4> == Shape{1, 56, 56, 256});
static_assert(output_shape_at<tv::ResNet50<>, 7> == Shape{1, 7, 7, 2048});
static_assert(tv::ResNet50<8, 10>::output_shape == Shape{8, 10});

// with_batch: the same layers at another batch, as the data-parallel trainers compile each
// process's share; found through a network's base class, the parameters unchanged.
static_assert(with_batch<tv::ResNet18<>, 64>::input_shape == Shape{64, 224, 224, 3});
static_assert(with_batch<tv::ResNet18<>, 64>::output_shape == Shape{64, 1000});
static_assert(parameter_count<with_batch<tv::ResNet18<>, 64>> == parameter_count<tv::ResNet18<>>);
static_assert(mac_count<with_batch<tv::ResNet18<>, 64>> == 64 * mac_count<tv::ResNet18<>>);
static_assert(with_batch<with_batch<tv::ResNet50<8, 10>, 2>, 8>::output_shape == tv::ResNet50<8, 10>::output_shape);
}  // namespace
