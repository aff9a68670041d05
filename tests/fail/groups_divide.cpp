// expect: layer 1 (Conv<24, 3, Pad<1>, Groups<16>>): 16 groups must divide the 24 input channels and the 24 filters
#include <snc/snc.hpp>
using namespace snc;
// A depthwise conv declared for the channels of another layer.
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 8, 8, 3>, Conv<24, 1>, Conv<24, 3, Pad<1>, Groups<16>>, ReLU6>;
#else
using Net = Network<Input<1, 8, 8, 3>, Conv<24, 1>, Conv<24, 3, Pad<1>, Groups<24>>, ReLU6>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
