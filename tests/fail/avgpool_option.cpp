// expect: AvgPool's options are Stride<S>, Valid, Same, Pad<P>, Pads<T, L, B, R>, CountIncludePad and CeilMode
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 8, 8, 3>, AvgPool<2, NoBias>>;
#else
using Net = Network<Input<1, 8, 8, 3>, AvgPool<2, CountIncludePad>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
