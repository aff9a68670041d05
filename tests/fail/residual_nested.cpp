// expect: layer 2 (nets::d2l::Block<2, 128, true>), in 2.0 (Residual): the body gives (1, 24, 24, 128) but the shortcut gives (1, 24, 24, 64)
#include <snc/nets/d2l.hpp>
using namespace snc;
// The first block of a later stage must not be built as d2l's first_block (no 1x1 conv shortcut).
#ifdef SNC_MUST_NOT_COMPILE
using Net = Network<Input<1, 96, 96, 1>, nets::d2l::Stem, nets::d2l::Block<2, 64, true>, nets::d2l::Block<2, 128, true>>;
#else
using Net = Network<Input<1, 96, 96, 1>, nets::d2l::Stem, nets::d2l::Block<2, 64, true>, nets::d2l::Block<2, 128>>;
#endif
[[maybe_unused]] constexpr Shape output = Net::output_shape;
