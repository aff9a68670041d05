// libFuzzer target: a safetensors file as weights of a network: parsed, checked against the
// network's tensors (names, shapes), folded and packed for inference, and packed for training,
// through every tensor layout (conv, dense after a Flatten, per-feature batch norm after a Flatten).
#include <snc/io/safetensors.hpp>
#include <snc/nets/d2l.hpp>
#include <snc/training.hpp>

namespace {
using FlattenBatchNorm = snc::Network<snc::Input<2, 4, 4, 3>, snc::Conv<4, 3, snc::Pad<1>>, snc::Flatten, snc::BatchNorm<>,
                                      snc::Dense<5>>;

template <class Net>
void load(const snc::io::SafetensorsContents& contents) {
    static const snc::Graph graph = snc::build_graph<Net>();
    static const snc::Plan plan = snc::plan_inference(graph, snc::Packing::output_innermost);
    static const snc::TrainingLayout layout = snc::training_layout(graph, snc::Packing::input_innermost);
    try {
        std::vector<float> packed = snc::pack_inference_weights(plan, contents.tensors, "fuzz.safetensors", contents.ignored);
        snc::TrainingState state = snc::pack_training_state(layout, contents.tensors, "fuzz.safetensors", contents.ignored);
        snc::StateDict back = snc::unpack_training_state(layout, state);
        volatile std::size_t sink = packed.size() + back.size();
        (void)sink;
    } catch (const snc::Error&) {
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<char> bytes(data, data + size);
    try {
        snc::io::SafetensorsContents contents = snc::io::parse_safetensors(bytes, "fuzz.safetensors");
        load<snc::nets::d2l::BNLeNet<2>>(contents);
        load<FlattenBatchNorm>(contents);
    } catch (const snc::Error&) {
    }
    return 0;
}
