// snc against PyTorch, on state_dicts exactly as PyTorch saves them (tests/fixtures/make_fixtures.py).
#include <doctest/doctest.h>

#include <snc/io/npy.hpp>
#include <snc/io/safetensors.hpp>
#include <snc/nets/d2l.hpp>
#include <snc/nets/torchvision.hpp>
#include <snc/reference.hpp>

#include <snc/halide/jit.hpp>

#include "support.hpp"

namespace {
using namespace snc;
namespace tv = nets::torchvision;

// torchvision's architecture and names, narrow: 8, 16, 32, 64 planes on 32x32 inputs.
using NarrowResNet = tv::ResNet<tv::BasicBlock, 2, 1, 1, 1, 2, 10, 32, 8>;
using NarrowBottleneck = tv::ResNet<tv::Bottleneck, 1, 1, 1, 1, 2, 7, 32, 4>;
using FlattenBatchNorm = Network<Input<3, 4, 4, 3>, Flatten, BatchNorm<>, Dense<5>>;

// Runs the fixture through the Halide pipeline and the reference; both must match PyTorch.
template <class Net>
void check_against_pytorch(const std::string& name) {
    io::SafetensorsContents weights = io::read_safetensors(testing::fixture(name + ".safetensors"));
    Tensor input = io::read_npy(testing::fixture(name + "_input.npy"));
    Tensor expected = io::read_npy(testing::fixture(name + "_expected.npy"));
    halide::JitNetwork& network = halide::jit<Net>();
    std::vector<float> packed = pack_inference_weights(network.plan(), weights.tensors, name, weights.ignored);

    std::string report;
    Tensor from_halide = network.run(input, packed);
    CHECK_MESSAGE(testing::agree(from_halide, expected, 2e-5, report), "Halide vs PyTorch: " << report);
    Tensor from_reference = reference::forward(network.plan().graph, weights.tensors, input);
    CHECK_MESSAGE(testing::agree(from_reference, expected, 2e-5, report), "reference vs PyTorch: " << report);
    CHECK_MESSAGE(testing::agree(from_halide, from_reference, 1e-5, report), "Halide vs reference: " << report);
}
}  // namespace

TEST_CASE("a narrow torchvision ResNet (BasicBlock) gives PyTorch's logits") {
    check_against_pytorch<NarrowResNet>("narrow_resnet");
}

TEST_CASE("a narrow torchvision ResNet (Bottleneck) gives PyTorch's logits") {
    check_against_pytorch<NarrowBottleneck>("narrow_bottleneck");
}

TEST_CASE("the course's BNLeNet gives PyTorch's logits, Flatten's order and all") {
    check_against_pytorch<nets::d2l::BNLeNet<4>>("bnlenet");
}

TEST_CASE("BatchNorm1d and Linear right after Flatten are permuted from PyTorch's (C, H, W) order") {
    check_against_pytorch<FlattenBatchNorm>("flatten_bn");
}

TEST_CASE("num_batches_tracked is read and ignored") {
    io::SafetensorsContents weights = io::read_safetensors(testing::fixture("bnlenet.safetensors"));
    CHECK(weights.ignored.size() == 4);
    CHECK(weights.tensors.count("1.num_batches_tracked") == 0);
    CHECK(weights.tensors.at("0.weight").shape == std::vector<std::int64_t>{6, 1, 5, 5});
}
