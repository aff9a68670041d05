// expect: layer 1 (Residual<Seq<Conv<3, 3, Same, Stride<2>>, BatchNorm<>>>), in its Residual: the body gives (4, 3, 3, 3) but the shortcut gives (4, 6, 6, 3)
#include <snc/nets/d2l.hpp>
using namespace snc;
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<4, 6, 6, 3>, ReLU, Residual<Seq<Conv<3, 3, Same, Stride<2>>, BatchNorm<>>>>;
#else
using Net = Network<Input<4, 6, 6, 3>, ReLU, Residual<Seq<Conv<3, 3, Same, Stride<2>>, BatchNorm<>>, Conv<3, 1, Stride<2>>>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
