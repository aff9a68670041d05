// expect: MaxPool's options are Stride<S>, Valid, Same, Pad<P>, Pads<T, L, B, R> and CeilMode
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 8, 8, 3>, MaxPool<2, CountIncludePad>>;
#else
using Net = Network<Input<1, 8, 8, 3>, MaxPool<2, Pad<1>>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
