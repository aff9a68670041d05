// A deliberate mistake, compiled by scripts/demo to show what a shape error looks like.
// d2l's Residual(6) without the 1x1 conv on a 3-channel input: the body's 6 channels cannot be
// added to the shortcut's 3. Fix: nets::d2l::Residual<6, true>.
#include <snc/nets/d2l.hpp>

using Block = snc::Network<snc::Input<4, 6, 6, 3>, snc::nets::d2l::Residual<6>>;
static_assert(Block::output_shape == snc::Shape{4, 6, 6, 6});
