// expect: layer 8 (Dense<120>): Dense needs a rank-2 input (N, F) but gets (128, 4, 4, 16); insert Flatten or GlobalAvgPool before it
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<128, 28, 28, 1>, Conv<6, 5>, BatchNorm<>, Sigmoid, AvgPool<2>, Conv<16, 5>, BatchNorm<>, Sigmoid, AvgPool<2>, Dense<120>, Sigmoid, Dense<10>>;
#else
using Net = Network<Input<128, 28, 28, 1>, Conv<6, 5>, BatchNorm<>, Sigmoid, AvgPool<2>, Conv<16, 5>, BatchNorm<>, Sigmoid, AvgPool<2>, Flatten, Dense<120>, Sigmoid, Dense<10>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
