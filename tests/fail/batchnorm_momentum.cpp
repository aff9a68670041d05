// expect: layer 0 (BatchNorm<Momentum<1.5e+0f>>): momentum must lie in [0, 1]
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 8, 8, 3>, BatchNorm<Momentum<1.5f>>>;
#else
using Net = Network<Input<1, 8, 8, 3>, BatchNorm<Momentum<1.0f>>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
