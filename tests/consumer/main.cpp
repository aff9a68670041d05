// Runs the consumer's compiled network with weights packed at run time, against snc's reference.
#include <cmath>
#include <cstdio>
#include <vector>

#include <HalideBuffer.h>

#include <snc/io/safetensors.hpp>
#include <snc/reference.hpp>
#include <snc/weights.hpp>

#include "tiny.hpp"
#include "tiny_net.h"

int main() {
    snc::Graph graph = snc::build_graph<consumer::Tiny>();
    snc::StateDict tensors = snc::initial_state_dict(graph, 3);
    snc::io::write_safetensors("tiny.safetensors", tensors);

    std::vector<float> packed(static_cast<std::size_t>(tiny_net_packed_weight_count()));
    char error[1024];
    if (tiny_net_pack_weights("tiny.safetensors", packed.data(), int64_t(packed.size()), error, sizeof error)) {
        std::fprintf(stderr, "consumer: %s\n", error);
        return 1;
    }
    snc::Tensor input({2, 8, 8, 3});
    for (std::size_t i = 0; i < input.data.size(); ++i) input.data[i] = float(i % 7) / 7.0f;
    Halide::Runtime::Buffer<float> in(input.data.data(), 3, 8, 8, 2), weights(packed.data(), int(packed.size())), out(3, 2);
    if (tiny_net(in, weights, out) != 0) return 1;

    snc::Tensor expected = snc::reference::forward(graph, tensors, input);
    for (int i = 0; i < 6; ++i) {
        if (std::abs(out.data()[i] - expected.data[std::size_t(i)]) > 1e-5f * (1 + std::abs(expected.data[std::size_t(i)]))) {
            std::fprintf(stderr, "consumer: logit %d is %g, the reference says %g\n", i, out.data()[i], expected.data[std::size_t(i)]);
            return 1;
        }
    }
    std::printf("consumer: the installed snc compiled and ran consumer::Tiny; logits match the reference\n");
    return 0;
}
