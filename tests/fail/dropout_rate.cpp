// expect: layer 2 (Dropout<1.0e+0f>): the rate must lie in [0, 1): the probability that an element is dropped
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<4, 20>, Dense<10>, ReLU, Dropout<1.0f>, Dense<2>>;
#else
using Net = Network<Input<4, 20>, Dense<10>, ReLU, Dropout<0.5f>, Dense<2>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
