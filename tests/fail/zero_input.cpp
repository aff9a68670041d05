// expect: the input (0, 28, 28, 1) must have a positive size in every dimension
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = nets::d2l::BNLeNet<0>;
#else
using Net = nets::d2l::BNLeNet<1>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
