// The larger imported models (and one block of each torchvision family, zoo_blocks) against PyTorch's output on the same input (within 1e-4 of the
// largest logit), and the imported torchvision ResNet-18 against snc's own declaration of it.
// BNLeNet goes through the README's C program instead (tests/consumer/main.c).
#include <cmath>
#include <cstdio>
#include <string>

#include <HalideBuffer.h>

#include <snc/io/npy.hpp>
#include <snc/nets/torchvision.hpp>

#include "every_op_model.h"
#include "resnet18_model.h"
#include "resnet18_model_network.hpp"
#include "resnet50_model.h"
#include "zoo_blocks_model.h"

static_assert(snc::parameter_count<snc_onnx::resnet18_model> == snc::parameter_count<snc::nets::torchvision::ResNet18<>>,
              "the imported ResNet-18 has torchvision's parameters, as many as snc's own declaration");
static_assert(snc::mac_count<snc_onnx::resnet18_model> == snc::mac_count<snc::nets::torchvision::ResNet18<>>);

namespace {
std::vector<int> halide_extents(const std::vector<std::int64_t>& shape) {
    return std::vector<int>(shape.rbegin(), shape.rend());
}

template <class Run>
bool check(const char* name, Run run) {
    const std::string stem = std::string(SNC_ONNX_MODELS) + "/" + name;
    snc::Tensor input = snc::io::read_npy(stem + "_input.npy"), expected = snc::io::read_npy(stem + "_expected.npy");
    snc::Tensor output(expected.shape);
    Halide::Runtime::Buffer<float> in(input.data.data(), halide_extents(input.shape));
    Halide::Runtime::Buffer<float> out(output.data.data(), halide_extents(output.shape));
    if (int error = run(in, out); error != 0) {
        std::printf("%s: the compiled model failed with Halide error %d\n", name, error);
        return false;
    }
    double scale = 0.0, worst = 0.0;
    for (float v : expected.data) scale = std::max(scale, double(std::abs(v)));
    for (std::size_t i = 0; i < output.data.size(); ++i) worst = std::max(worst, double(std::abs(output.data[i] - expected.data[i])));
    const bool agree = worst <= 1e-4 * scale;
    std::printf("%s: max |snc - PyTorch| = %.3g, %.2g of the largest logit %.3g: %s\n", name, worst, worst / scale, scale,
                agree ? "agree" : "DISAGREE");
    return agree;
}
}  // namespace

int main() {
    bool ok = true;
    ok &= check("resnet18", [](auto& in, auto& out) { return resnet18_model(in, out); });
    ok &= check("resnet50", [](auto& in, auto& out) { return resnet50_model(in, out); });
    ok &= check("every_op", [](auto& in, auto& out) { return every_op_model(in, out); });
    ok &= check("zoo_blocks", [](auto& in, auto& out) { return zoo_blocks_model(in, out); });
    return ok ? 0 : 1;
}
