// expect: layer 0 (Conv<0, 3>): the number of filters must be positive, got 0
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 8, 8, 3>, Conv<0, 3>>;
#else
using Net = Network<Input<1, 8, 8, 3>, Conv<1, 3>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
