// expect: layer 1 (AvgPool<2, Stride<-2>>): the stride must be positive, got -2
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 8, 8, 3>, ReLU, AvgPool<2, Stride<-2>>>;
#else
using Net = Network<Input<1, 8, 8, 3>, ReLU, AvgPool<2, Stride<2>>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
