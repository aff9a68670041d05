// expect: layer 2 (Dense<0>): the number of units must be positive, got 0
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<4, 8, 8, 3>, GlobalAvgPool, ReLU, Dense<0>>;
#else
using Net = Network<Input<4, 8, 8, 3>, GlobalAvgPool, ReLU, Dense<1>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
