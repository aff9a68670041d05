// expect: layer 3 (Conv<16, 5>): its 5x5 window is larger than the padded input 4x4 of (1, 4, 4, 6)
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 12, 12, 1>, Conv<6, 5>, Sigmoid, AvgPool<2>, Conv<16, 5>>;
#else
using Net = Network<Input<1, 12, 12, 1>, Conv<6, 5>, Sigmoid, AvgPool<2>, Conv<16, 5, Pad<1>>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
