// The training step against PyTorch: one SGD step of the course's BNLeNet on the first 128
// Fashion-MNIST images, from the same weights (tests/fixtures/make_fixtures.py). And batch norm's
// training mode against ONNX's own test data.
#include <doctest/doctest.h>

#include <snc/io/npy.hpp>
#include <snc/io/safetensors.hpp>
#include <snc/nets/d2l.hpp>

#include <snc/halide/jit.hpp>

#include "support.hpp"

namespace {
using namespace snc;

// Compares one buffer of the step's result with PyTorch's tensors of the same names, within
// `relative` of the largest value of the tensor, or of all the tensors with `global_scale`. Sums of
// 10^4 to 10^5 float32 terms in another order differ by about 1e-6 to 1e-5 of their size; and the
// gradient of a conv bias followed by batch norm is zero but for rounding, in both engines, so
// gradients are compared at the scale of the whole gradient.
void check_tensors(const TrainingLayout& layout, const std::vector<TrainingTensor>& tensors, const std::vector<float>& got,
                   const StateDict& want, double relative, bool global_scale = false) {
    double scale = 0.0;
    for (const TrainingTensor& tensor : tensors)
        for (float v : want.at(tensor.name).data) scale = std::max(scale, double(std::abs(v)));
    for (const TrainingTensor& tensor : tensors) {
        const Op& op = layout.graph.ops[std::size_t(tensor.op)];
        const Tensor& expected = want.at(tensor.name);
        double tolerance = relative * scale;
        if (!global_scale) {
            tolerance = 0.0;
            for (float v : expected.data) tolerance = std::max(tolerance, relative * std::abs(v));
        }
        double worst = 0.0;
        for_each_element(tensor_layout(op, tensor.slot, layout.packing), [&](std::int64_t packed, std::int64_t source) {
            float ours = got[std::size_t(tensor.offset + packed)];
            worst = std::max(worst, double(std::abs(ours - expected.data[std::size_t(source)])));
        });
        CHECK_MESSAGE(worst <= tolerance, tensor.name << ": max |difference| " << worst << ", tolerance " << tolerance);
    }
}
}  // namespace

TEST_CASE("one training step of BNLeNet matches PyTorch's: weights, momentum, running statistics, loss") {
    using Net = nets::d2l::BNLeNet<128>;
    halide::JitTraining<float> jit(build_graph<Net>());
    const TrainingLayout& layout = jit.layout();
    io::SafetensorsContents initial = io::read_safetensors(testing::fixture("bnlenet_step_initial.safetensors"));
    io::SafetensorsContents after = io::read_safetensors(testing::fixture("bnlenet_step_after.safetensors"));
    io::SafetensorsContents momentum = io::read_safetensors(testing::fixture("bnlenet_step_momentum.safetensors"));
    Tensor images = io::read_npy(testing::fixture("bnlenet_step_images.npy"));
    Tensor label_values = io::read_npy(testing::fixture("bnlenet_step_labels.npy"));
    float pytorch_loss = io::read_npy(testing::fixture("bnlenet_step_loss.npy")).data[0];

    TrainingState state = pack_training_state(layout, initial.tensors, "bnlenet_step_initial.safetensors", initial.ignored);
    std::vector<std::int32_t> labels(label_values.data.begin(), label_values.data.end());
    jit.step().set_parameters(state.parameters);
    jit.step().set_statistics(state.statistics);
    auto result = jit.step().run(jit, images.data.data(), labels.data(), {.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 5e-4f});

    CHECK(result.loss == doctest::Approx(pytorch_loss).epsilon(1e-5));
    check_tensors(layout, layout.parameters, jit.step().parameters(), after.tensors, 1e-5);
    check_tensors(layout, layout.parameters, jit.step().velocity(), momentum.tensors, 1e-4, true);
    check_tensors(layout, layout.statistics, jit.step().statistics(), after.tensors, 1e-5);
}
