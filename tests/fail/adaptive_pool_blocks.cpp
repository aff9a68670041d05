// expect: layer 2 (AdaptiveAvgPool<3>): pools (1, 8, 8, 4) to 3x3, which needs square blocks: 3 dividing 8, 3 dividing 8, equal quotients
#include <snc/snc.hpp>
using namespace snc;
// torchvision's AdaptiveAvgPool2d takes any size; snc pools only by whole blocks.
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 16, 16, 3>, Conv<4, 3, Stride<2>, Pad<1>>, ReLU, AdaptiveAvgPool<3>, Flatten, Dense<2>>;
#else
using Net = Network<Input<1, 16, 16, 3>, Conv<4, 3, Stride<2>, Pad<1>>, ReLU, AdaptiveAvgPool<4>, Flatten, Dense<2>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
