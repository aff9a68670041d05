// The book's modern CNNs against PyTorch (scripts/check-d2l): snc::nets::d2l's NiN, GoogLeNet and
// DenseNet at batch 2, on the cases tests/d2l/make_d2l_cases.py wrote to $SNC_D2L_CASES: logits
// at inference within 1e-4, and one SGD step in training mode (loss, every weight and running
// statistic after it) within 1e-4 of each tensor's largest value. Compiled by the JIT: minutes for
// GoogLeNet's training step, so outside the default test run.
#include <cstdlib>
#include <filesystem>

#include <doctest/doctest.h>

#include <snc/io/npy.hpp>
#include <snc/io/safetensors.hpp>
#include <snc/nets/d2l.hpp>
#include <snc/reference.hpp>

#include <snc/halide/jit.hpp>

namespace {
using namespace snc;

std::string case_file(const std::string& name) {
    const char* directory = std::getenv("SNC_D2L_CASES");
    REQUIRE_MESSAGE(directory, "SNC_D2L_CASES names the directory of make_d2l_cases.py's files");
    return (std::filesystem::path(directory) / name).string();
}

// max |got - want| within `relative` of the largest |want|.
void check_close(const float* got, const float* want, std::size_t count, double relative, const std::string& what) {
    double largest = 0, worst = 0;
    for (std::size_t k = 0; k < count; ++k) {
        largest = std::max(largest, double(std::abs(want[k])));
        worst = std::max(worst, std::isnan(got[k]) ? INFINITY : double(std::abs(got[k] - want[k])));
    }
    CHECK_MESSAGE(worst <= relative * std::max(largest, 1e-3), what << ": max |difference| " << worst << " of " << largest);
}

template <class Net>
void check_against_pytorch(const std::string& name) {
    io::SafetensorsContents initial = io::read_safetensors(case_file(name + ".safetensors"));
    const Tensor input = io::read_npy(case_file(name + "_input.npy"));
    const Tensor expected = io::read_npy(case_file(name + "_expected.npy"));
    const Graph graph = build_graph<Net>();
    {
        halide::JitNetwork network(graph);
        std::vector<float> packed = pack_inference_weights(network.plan(), initial.tensors, name, initial.ignored);
        const Tensor logits = network.run(input, packed);
        check_close(logits.data.data(), expected.data.data(), expected.data.size(), 1e-4, name + " logits");
        MESSAGE(name << ": inference checked");
    }
    io::SafetensorsContents after = io::read_safetensors(case_file(name + "_after.safetensors"));
    const Tensor label_values = io::read_npy(case_file(name + "_labels.npy"));
    const float loss = io::read_npy(case_file(name + "_loss.npy")).data[0];
    halide::JitTraining<float> jit(graph);
    const TrainingLayout& layout = jit.layout();
    TrainingState state = pack_training_state(layout, initial.tensors, name, initial.ignored);
    const std::vector<std::int32_t> labels(label_values.data.begin(), label_values.data.end());
    jit.step().set_parameters(state.parameters);
    jit.step().set_statistics(state.statistics);
    auto result = jit.step().run(jit, input.data.data(), labels.data(), {.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 5e-4f});
    CHECK(result.loss == doctest::Approx(loss).epsilon(1e-4));
    const StateDict ours = unpack_training_state(layout, {jit.step().parameters(), jit.step().statistics()});
    for (const auto& [tensor, want] : after.tensors)
        check_close(ours.at(tensor).data.data(), want.data.data(), want.data.size(), 1e-4, name + " step: " + tensor);
    MESSAGE(name << ": training step checked, loss " << result.loss << " (PyTorch " << loss << ")");
}
}  // namespace

TEST_CASE("d2l's NiN (8.3) gives PyTorch's logits and training step") { check_against_pytorch<nets::d2l::NiN<2>>("nin"); }
TEST_CASE("d2l's GoogLeNet (8.4) gives PyTorch's logits and training step") { check_against_pytorch<nets::d2l::GoogLeNet<2>>("googlenet"); }
TEST_CASE("d2l's DenseNet (8.7) gives PyTorch's logits and training step") { check_against_pytorch<nets::d2l::DenseNet<2>>("densenet"); }
