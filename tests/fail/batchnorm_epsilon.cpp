// expect: layer 1 (BatchNorm<Epsilon<0.0f>>): epsilon must be positive
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 8, 8, 3>, Conv<8, 3>, BatchNorm<Epsilon<0.0f>>>;
#else
using Net = Network<Input<1, 8, 8, 3>, Conv<8, 3>, BatchNorm<Epsilon<1e-3f>>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
