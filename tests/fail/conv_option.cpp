// expect: Conv's options are Stride<S>, Valid, Same, Pad<P>, Pads<T, L, B, R>, Groups<G>, Dilation<D>, KernelWidth<W> and NoBias
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 8, 8, 3>, Conv<8, 3, CountIncludePad>>;
#else
using Net = Network<Input<1, 8, 8, 3>, Conv<8, 3, NoBias>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
