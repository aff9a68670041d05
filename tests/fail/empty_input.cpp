// expect: the input (1, 28, 0, 1) must have a positive size in every dimension
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 28, 0, 1>, ReLU>;
#else
using Net = Network<Input<1, 28, 1, 1>, ReLU>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
