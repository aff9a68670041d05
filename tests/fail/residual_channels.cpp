// expect: layer 0 (nets::d2l::Residual<6>), in its Residual: the body gives (4, 6, 6, 6) but the shortcut gives (4, 6, 6, 3)
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<4, 6, 6, 3>, nets::d2l::Residual<6>>;
#else
using Net = Network<Input<4, 6, 6, 3>, nets::d2l::Residual<6, true>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
