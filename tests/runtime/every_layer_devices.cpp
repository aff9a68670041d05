// EveryLayer (every_layer.hpp) compiled ahead of time for the CPU and the GPUs, as a project would
// use it: inference and one training step on each device compiled in and usable here (the CPU and
// OpenCL on PoCL; CUDA where a GPU is), each against PyTorch's fixtures. Exits non-zero on a
// disagreement or on a device that should run and does not.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <HalideBuffer.h>

#include <snc/io/npy.hpp>
#include <snc/io/safetensors.hpp>
#include <snc/runtime/aot_training.hpp>
#include <snc/runtime/devices.hpp>
#include <snc/runtime/training_step.hpp>

#include "every_layer.hpp"
#include "every_layer_step_inference.h"
#include "every_layer_step_training.h"

namespace {

std::string fixture(const std::string& name) { return std::string(SNC_FIXTURES_DIR) + "/" + name; }

// max |a - b| against `relative` of the largest |b|.
bool agree(const float* got, const float* want, std::size_t count, double relative, const std::string& what) {
    double largest = 0, worst = 0;
    for (std::size_t k = 0; k < count; ++k) {
        largest = std::max(largest, double(std::abs(want[k])));
        worst = std::max(worst, double(std::abs(got[k] - want[k])));
        if (std::isnan(got[k])) worst = INFINITY;
    }
    const bool ok = worst <= relative * std::max(largest, 1e-3);
    std::printf("  %-40s max |difference| %.3g of %.3g%s\n", what.c_str(), worst, largest, ok ? "" : "  DISAGREE");
    return ok;
}

}  // namespace

int main() {
    using snc::testing::EveryLayer;
    int failures = 0;
    const snc::Tensor input = snc::io::read_npy(fixture("every_layer_input.npy"));
    const snc::Tensor expected = snc::io::read_npy(fixture("every_layer_expected.npy"));
    std::vector<float> packed(static_cast<std::size_t>(every_layer_step_inference_packed_weight_count()));
    char error[512] = "";
    if (every_layer_step_inference_pack_weights(fixture("every_layer.safetensors").c_str(), packed.data(), std::int64_t(packed.size()), error,
                                       sizeof error)) {
        std::fprintf(stderr, "every_layer_devices: %s\n", error);
        return 1;
    }
    snc::io::SafetensorsContents initial = snc::io::read_safetensors(fixture("every_layer.safetensors"));
    snc::io::SafetensorsContents after = snc::io::read_safetensors(fixture("every_layer_step_after.safetensors"));
    const snc::Tensor label_values = snc::io::read_npy(fixture("every_layer_step_labels.npy"));
    const float pytorch_loss = snc::io::read_npy(fixture("every_layer_step_loss.npy")).data[0];
    const std::vector<std::int32_t> labels(label_values.data.begin(), label_values.data.end());

    for (int device : {SNC_DEVICE_CPU, SNC_DEVICE_OPENCL, SNC_DEVICE_CUDA}) {
        const char* label = snc::runtime::device_label(device);
        const snc::SegmentFunctions* functions = snc_training::every_layer_step::functions(device);
        std::string problem = functions ? "" : "not compiled in";
        if (functions && functions->device_interface) problem = snc::runtime::device_problem(functions->device_interface());
        if (!problem.empty()) {
            std::printf("%s: skipped (%s)\n", label, problem.c_str());
            // The suite compiles the CPU and OpenCL variants, and PoCL runs OpenCL here (scripts/setup).
            if (device != SNC_DEVICE_CUDA) ++failures;
            continue;
        }
        std::printf("%s:\n", label);
        if (every_layer_step_inference_set_device(device, error, sizeof error)) {
            std::printf("  inference: %s\n", error);
            ++failures;
            continue;
        }
        Halide::Runtime::Buffer<float> in(const_cast<float*>(input.data.data()), 3, 12, 12, 4);
        Halide::Runtime::Buffer<float> weights(packed.data(), int(packed.size()));
        Halide::Runtime::Buffer<float> out(5, 4);
        if (every_layer_step_inference_with_weights(in, weights, out)) {
            std::printf("  inference: %s\n", every_layer_step_inference_last_error());
            ++failures;
            continue;
        }
        failures += !agree(out.data(), expected.data.data(), expected.data.size(), 1e-5, "logits against PyTorch's");
        // The same input as NCHW memory: the pipeline's stages that read the input take it as it
        // lies (the branch for any strides), the same logits.
        std::vector<float> nchw(input.data.size());
        for (int n = 0; n < 4; ++n)
            for (int y = 0; y < 12; ++y)
                for (int x = 0; x < 12; ++x)
                    for (int c = 0; c < 3; ++c) nchw[std::size_t(((n * 3 + c) * 12 + y) * 12 + x)] = input.data[std::size_t(((n * 12 + y) * 12 + x) * 3 + c)];
        Halide::Runtime::Buffer<float> in_nchw(nchw.data(), 12, 12, 3, 4);
        Halide::Runtime::Buffer<float> out_nchw(5, 4);
        if (every_layer_step_inference_from_nchw(in_nchw, weights, out_nchw)) {
            std::printf("  inference from NCHW: %s\n", every_layer_step_inference_last_error());
            ++failures;
        } else {
            failures += !agree(out_nchw.data(), expected.data.data(), expected.data.size(), 1e-5, "logits from NCHW against PyTorch's");
        }

        const snc::Graph graph = snc::build_graph<EveryLayer>();
        const snc::TrainingLayout layout = snc::training_layout(graph, snc_training::every_layer_step::packing);
        snc::TrainingState state = snc::pack_training_state(layout, initial.tensors, "every_layer.safetensors", initial.ignored);
        snc::TrainingStep<float> step(layout, snc::training_segments(graph));
        step.set_parameters(state.parameters);
        step.set_statistics(state.statistics);
        snc::AotSegments engine(layout, step.segments(), *functions);
        auto result = step.run(engine, input.data.data(), labels.data(), {.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 5e-4f});
        failures += !agree(&result.loss, &pytorch_loss, 1, 1e-5, "training step: loss");
        const snc::StateDict ours = snc::unpack_training_state(layout, {step.parameters(), step.statistics()});
        for (const auto& [name, want] : after.tensors)
            failures += !agree(ours.at(name).data.data(), want.data.data(), want.data.size(), 1e-4, "training step: " + name);
    }
    return failures ? 1 : 0;
}
