// expect: layer 1 (Concat<Conv<8, 1>, Seq<Conv<4, 3, Stride<2>, Pad<1>>, ReLU>>), in its Concat: branch 1 gives (2, 4, 4, 4) but branch 0 gives (2, 8, 8, 8) from the input (2, 8, 8, 3); a Concat joins channels, so N, H and W must agree
#include <snc/snc.hpp>
using namespace snc;
// A strided branch beside an unstrided one: the sizes differ.
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<2, 8, 8, 3>, ReLU, Concat<Conv<8, 1>, Seq<Conv<4, 3, Stride<2>, Pad<1>>, ReLU>>, GlobalAvgPool>;
#else
using Net = Network<Input<2, 8, 8, 3>, ReLU, Concat<Conv<8, 1>, Seq<Conv<4, 3, Pad<1>>, ReLU>>, GlobalAvgPool>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
