// expect: layer 1 (Gate<Seq<GlobalAvgPool, Dense<4>, Sigmoid>>), in its Gate: its branch gives (2, 4) for the input (2, 6, 6, 8); a gate must give (2, 1, 1, 8) or (2, 8) to scale it
#include <snc/snc.hpp>
using namespace snc;
// Squeeze-excitation whose excitation forgot to widen back to the channels.
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<2, 6, 6, 8>, ReLU, Gate<Seq<GlobalAvgPool, Dense<4>, Sigmoid>>, Conv<4, 1>>;
#else
using Net = Network<Input<2, 6, 6, 8>, ReLU, Gate<Seq<GlobalAvgPool, Dense<8>, Sigmoid>>, Conv<4, 1>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
