// The consumer's own network, declared with the installed snc headers: a conv with batch norm, a
// residual block (its 3x3 convs by Winograd), the head. 16x16x16 activations (32 KB a batch) are
// stored on the heap, where misuse.c makes an allocation fail.
#pragma once

#include <snc/snc.hpp>

namespace app {
using namespace snc;
using MyNet = Network<Input<2, 16, 16, 3>, Conv<16, 3, Pad<1>>, BatchNorm<>, ReLU,
                      Residual<Seq<Conv<16, 3, Pad<1>>, BatchNorm<>, ReLU, Conv<16, 3, Pad<1>>, BatchNorm<>>>, ReLU,
                      GlobalAvgPool, Dense<3>>;
}  // namespace app
