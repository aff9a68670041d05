// The consumer's own network, declared with the installed snc headers: a conv with batch norm,
// a residual block, the head.
#pragma once

#include <snc/snc.hpp>

namespace app {
using namespace snc;
using MyNet = Network<Input<2, 8, 8, 3>, Conv<8, 3, Pad<1>>, BatchNorm<>, ReLU,
                      Residual<Seq<Conv<8, 3, Pad<1>>, BatchNorm<>, ReLU, Conv<8, 3, Pad<1>>, BatchNorm<>>>, ReLU,
                      GlobalAvgPool, Dense<3>>;
}  // namespace app
