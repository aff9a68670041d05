// Writes what the consumer test's programs check against, with snc's own build (the reference and
// the JIT), into argv[1]: trained.safetensors (initialized weights, batch-norm statistics made
// non-trivial so that folding them is tested), input.f32 and expected.f32 (the reference's logits
// with those weights), losses.f32 (ten training steps of the JIT engine from seed 3's weights, as
// train.cpp takes them).
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include <snc/halide/jit.hpp>
#include <snc/io/safetensors.hpp>
#include <snc/reference.hpp>

#include "my_net.hpp"

namespace {
void write_floats(const std::string& path, const std::vector<float>& values) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size() * sizeof(float)));
    if (!file) throw snc::Error(path + ": cannot write");
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <directory>\n", argv[0]);
        return 2;
    }
    const std::string directory = argv[1];
    try {
        const snc::Graph graph = snc::build_graph<app::MyNet>();
        snc::StateDict trained = snc::initial_state_dict(graph, 5);
        std::mt19937 random(11);
        std::uniform_real_distribution<float> mean(-0.3f, 0.3f), variance(0.5f, 1.5f);
        for (auto& [name, tensor] : trained) {
            if (name.ends_with("running_mean"))
                for (float& v : tensor.data) v = mean(random);
            if (name.ends_with("running_var"))
                for (float& v : tensor.data) v = variance(random);
        }
        snc::io::write_safetensors(directory + "/trained.safetensors", trained);

        constexpr snc::Shape shape = app::MyNet::input_shape;
        snc::Tensor input({shape.dims[0], shape.dims[1], shape.dims[2], shape.dims[3]});
        std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
        for (float& v : input.data) v = pixel(random);
        write_floats(directory + "/input.f32", input.data);
        write_floats(directory + "/expected.f32", snc::reference::forward(graph, trained, input).data);

        snc::halide::JitTraining<float> jit(graph);
        snc::TrainingState state = snc::pack_training_state(jit.layout(), snc::initial_state_dict(graph, 3), "init");
        jit.step().set_parameters(state.parameters);
        jit.step().set_statistics(state.statistics);
        std::vector<std::int32_t> labels(std::size_t(shape.dims[0]));
        for (std::size_t k = 0; k < labels.size(); ++k) labels[k] = std::int32_t(k % 3);
        std::vector<float> losses;
        for (int s = 0; s < 10; ++s)
            losses.push_back(jit.step().run(jit, input.data.data(), labels.data(), {.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 5e-4f}).loss);
        write_floats(directory + "/losses.f32", losses);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
}
