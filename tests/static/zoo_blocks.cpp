// Compiling this file is passing: each torchvision family's block (zoo_blocks.hpp) has
// torchvision's parameter count and output shape.
#include "zoo_blocks.hpp"

namespace {
using namespace snc;
using namespace snc::zoo_blocks;

template <class Net>
constexpr Shape out = Net::output_shape;

static_assert(parameter_count<MobileNetV2Block> == 8832);
static_assert(out<MobileNetV2Block> == Shape{1, 56, 56, 24});
static_assert(parameter_count<MobileNetV3Block> == 13736);
static_assert(out<MobileNetV3Block> == Shape{1, 14, 14, 40});
static_assert(parameter_count<ShuffleNetV2Unit> == 7598);
static_assert(out<ShuffleNetV2Unit> == Shape{1, 28, 28, 116});
static_assert(parameter_count<ShuffleNetV2Down> == 7398);
static_assert(out<ShuffleNetV2Down> == Shape{1, 28, 28, 116});
static_assert(parameter_count<SqueezeNetFire> == 11408);
static_assert(out<SqueezeNetFire> == Shape{1, 13, 13, 128});
static_assert(parameter_count<ConvNeXtBlock> == 79296);
static_assert(out<ConvNeXtBlock> == Shape{1, 56, 56, 96});
static_assert(parameter_count<ResNeXtBlock> == 71168);
static_assert(out<ResNeXtBlock> == Shape{1, 56, 56, 256});
static_assert(parameter_count<InceptionV3C> == 1297408);
static_assert(out<InceptionV3C> == Shape{1, 17, 17, 768});
}  // namespace
