// The training step's misuses, from C++ in one process, linking only the training target: each is
// an exception that says what was wrong, never an abort, and the caller's own Halide error handler
// hears none of them. Then a well-formed step still gives the JIT's first loss.
//   misuse_training <images.f32> <losses.f32>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "floats.h"
#include "my_net.hpp"
#include "my_training_training.h"

namespace {
int failures = 0;
int callers_errors = 0;

// Runs `attempt`, which must throw an exception whose message holds `needle`.
template <class Attempt>
void expect_refusal(const char* what, const std::string& needle, Attempt attempt) {
    std::string message = "(nothing thrown)";
    try {
        attempt();
    } catch (const std::exception& e) {
        message = e.what();
    }
    const bool ok = message.find(needle) != std::string::npos;
    std::printf("%s %s: \"%s\"\n", ok ? "ok  " : "FAIL", what, message.c_str());
    failures += !ok;
}

void* failing_malloc(void*, size_t) { return nullptr; }
}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <images.f32> <losses.f32>\n", argv[0]);
        return 2;
    }
    halide_set_error_handler([](void*, const char*) { ++callers_errors; });
    constexpr snc::Shape input = app::MyNet::input_shape;
    float* images = read_floats(argv[1], input.elements());
    float* losses = read_floats(argv[2], 10);  // the JIT's ten steps (make_inputs.cpp); the first is compared
    if (!images || !losses) return 1;

    const snc::Graph graph = snc::build_graph<app::MyNet>();
    const snc::TrainingLayout layout = snc::training_layout(graph, snc_training::my_training::packing);
    const snc::SegmentFunctions& cpu = *snc_training::my_training::functions(SNC_DEVICE_CPU);
    const snc::Hyperparameters h{.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 5e-4f};
    std::vector<std::int32_t> labels(std::size_t(input.dims[0]));
    for (std::size_t k = 0; k < labels.size(); ++k) labels[k] = std::int32_t(k % 3);

    snc::StateDict wrong = snc::initial_state_dict(graph, 3);
    wrong.begin()->second.data.pop_back();
    wrong.begin()->second.shape.back() -= 1;
    expect_refusal("initial weights with a tensor of the wrong shape", wrong.begin()->first,
                   [&] { snc::pack_training_state(layout, wrong, "wrong.safetensors"); });

    snc::TrainingState state = snc::pack_training_state(layout, snc::initial_state_dict(graph, 3), "init");
    snc::TrainingStep<float> step(layout, snc::training_segments(graph));
    step.set_parameters(state.parameters);
    step.set_statistics(state.statistics);
    snc::AotSegments engine(layout, step.segments(), cpu);
    expect_refusal("null images", "images is NULL", [&] { step.run(engine, nullptr, labels.data(), h); });
    expect_refusal("null labels", "labels is NULL", [&] { step.run(engine, images, nullptr, h); });
    std::vector<std::int32_t> bad_labels = labels;
    bad_labels[1] = 5;
    expect_refusal("a label past the classes", "label 5 of image 1 is outside 0..2", [&] { step.run(engine, images, bad_labels.data(), h); });

    halide_malloc_t before = halide_set_custom_malloc(failing_malloc);
    expect_refusal("an allocation that fails inside a pass", "Halide error -11", [&] { step.run(engine, images, labels.data(), h); });
    halide_set_custom_malloc(before);

    // A fresh step (the failed one may have run part of its passes) from the same weights.
    snc::TrainingStep<float> fresh(layout, snc::training_segments(graph));
    fresh.set_parameters(state.parameters);
    fresh.set_statistics(state.statistics);
    snc::AotSegments fresh_engine(layout, fresh.segments(), cpu);
    const float loss = fresh.run(fresh_engine, images, labels.data(), h).loss;
    const bool agree = std::abs(loss - losses[0]) <= 1e-4f * std::max(1.0f, std::abs(losses[0]));
    std::printf("%s a well-formed step after them: loss %.6f, the JIT's %.6f\n", agree ? "ok  " : "FAIL", loss, losses[0]);
    failures += !agree;
    std::printf("%s the caller's Halide error handler heard %d of snc's errors\n", callers_errors ? "FAIL" : "ok  ", callers_errors);
    failures += callers_errors != 0;
    std::printf("%s: %d failures\n", argv[0], failures);
    return failures ? 1 : 0;
}
