// Dropout<Rate>: PyTorch's nn.Dropout(p = Rate).
//
// Contract
//   0 <= Rate < 1. out = in, any rank; no parameters.
//   Training: each element is zeroed with probability Rate and the others scaled by 1 / (1 - Rate),
//             so the expected value is unchanged. Which elements drop is a function of the
//             step's seed (the trainer's --seed), the layer and the element: a step's forward and
//             backward passes draw the same mask, and a run with the same seed the same masks.
//   Inference: the identity. It lowers to nothing; its readers read its input.
#pragma once

#include <snc/layers/layer.hpp>

namespace snc {

namespace detail {
// What Dropout and StochasticDepth share: a rate in [0, 1), the shape kept, the identity at inference.
template <OpKind Kind, float Rate>
struct random_drop : stateless_layer {
    static constexpr float rate = Rate;
    static constexpr bool check(Shape, Complaint& complaint) {
        if (Rate >= 0.0f && Rate < 1.0f) return true;
        complaint << "the rate must lie in [0, 1): the probability that " << (Kind == OpKind::dropout ? "an element" : "a sample's path")
                  << " is dropped";
        return false;
    }
    static constexpr OpSpec spec(Shape) { return {.kind = Kind, .role = OpRole::identity, .rate = Rate}; }
    static constexpr Shape output(Shape in) { return in; }
};
}  // namespace detail

template <float Rate>
struct Dropout : detail::random_drop<OpKind::dropout, Rate> {
    static constexpr std::string_view kind = "Dropout";
};

}  // namespace snc

namespace snc {

// StochasticDepth<Rate>: torchvision's StochasticDepth(p = Rate, mode = "row"), the drop path of
// ConvNeXt and EfficientNet.
//
// Contract
//   0 <= Rate < 1. out = in, any rank; no parameters.
//   Training: each sample of the batch is zeroed whole with probability Rate and the others scaled
//             by 1 / (1 - Rate); the draw is a function of the step's seed, the layer and the
//             sample, as Dropout's.
//   Inference: the identity.
template <float Rate>
struct StochasticDepth : detail::random_drop<OpKind::stochastic_depth, Rate> {
    static constexpr std::string_view kind = "StochasticDepth";
};

}  // namespace snc
