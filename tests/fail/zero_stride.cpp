// expect: layer 0 (Conv<8, 3, Stride<0>>): the stride must be positive, got 0
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 8, 8, 3>, Conv<8, 3, Stride<0>>>;
#else
using Net = Network<Input<1, 8, 8, 3>, Conv<8, 3, Stride<1>>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
