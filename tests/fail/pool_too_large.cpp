// expect: layer 1 (MaxPool<3>): its 3x3 window is larger than the padded input 2x2 of (2, 2, 2, 8)
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<2, 4, 4, 1>, Conv<8, 3>, MaxPool<3>>;
#else
using Net = Network<Input<2, 4, 4, 1>, Conv<8, 3>, MaxPool<3, Same>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
