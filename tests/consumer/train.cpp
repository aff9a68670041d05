// The training step of a snc_add_training target, from C++, linking nothing but that target: ten
// SGD steps on one batch from freshly initialized weights (seed 3), each step's loss checked
// against argv[2], the same steps taken by snc's JIT engine in snc's own build.
#include <cmath>
#include <cstdio>
#include <vector>

#include "floats.h"
#include "my_net.hpp"
#include "my_training_training.h"

constexpr int steps = 10;  // as many as the test's JIT took (make_inputs.cpp)

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <images.f32> <losses.f32>\n", argv[0]);
        return 2;
    }
    constexpr snc::Shape input = app::MyNet::input_shape;
    float* images = read_floats(argv[1], input.elements());
    float* expected = read_floats(argv[2], steps);
    if (!images || !expected) return 1;
    try {
        const snc::Graph graph = snc::build_graph<app::MyNet>();
        const snc::TrainingLayout layout = snc::training_layout(graph, snc_training::my_training::packing);
        snc::TrainingState state = snc::pack_training_state(layout, snc::initial_state_dict(graph, 3), "init");
        snc::TrainingStep<float> step(layout, snc::training_segments(graph));
        step.set_parameters(state.parameters);
        step.set_statistics(state.statistics);
        snc::AotSegments engine(layout, step.segments(), *snc_training::my_training::functions(SNC_DEVICE_CPU));
        std::vector<std::int32_t> labels(std::size_t(input.dims[0]));
        for (std::size_t k = 0; k < labels.size(); ++k) labels[k] = std::int32_t(k % 3);
        int failures = 0;
        for (int s = 0; s < steps; ++s) {
            auto result = step.run(engine, images, labels.data(), {.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 5e-4f});
            const bool agree = std::abs(result.loss - expected[s]) <= 1e-4f * std::max(1.0f, std::abs(expected[s]));
            std::printf("%s: step %d: loss %.6f, the JIT's %.6f%s\n", argv[0], s + 1, result.loss, expected[s], agree ? "" : "  DISAGREE");
            failures += !agree;
        }
        return failures ? 1 : 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
}
