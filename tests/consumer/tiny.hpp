// The consumer's own network, declared with the installed snc headers.
#pragma once

#include <snc/snc.hpp>

namespace consumer {
using namespace snc;
using Tiny = Network<Input<2, 8, 8, 3>, Conv<4, 3, Pad<1>>, BatchNorm<>, ReLU, GlobalAvgPool, Dense<3>>;
}  // namespace consumer
