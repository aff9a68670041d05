// expect: BatchNorm's options are Epsilon<E> and Momentum<M>
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 8, 8, 3>, BatchNorm<Stride<2>>>;
#else
using Net = Network<Input<1, 8, 8, 3>, BatchNorm<Momentum<0.01f>>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
