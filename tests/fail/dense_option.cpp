// expect: Dense's only option is NoBias
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<4, 20>, Dense<10, Same>>;
#else
using Net = Network<Input<4, 20>, Dense<10, NoBias>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
