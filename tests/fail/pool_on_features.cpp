// expect: layer 1 (MaxPool<2>): MaxPool needs an image (N, H, W, C) but gets (3, 48)
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<3, 4, 4, 3>, Flatten, MaxPool<2>>;
#else
using Net = Network<Input<3, 4, 4, 3>, MaxPool<2>, Flatten>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
