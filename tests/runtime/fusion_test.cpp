// The fused pipeline: ResNet-18 realizes one buffer per conv stage (conv + folded BN + residual add
// + ReLU), and none for a batch norm, a ReLU or an add on its own. Read from the list of Funcs the
// scheduled pipeline realizes (every Func reachable from the output that is not inlined).
#include <cctype>
#include <set>

#include <doctest/doctest.h>

#include <snc/halide/jit.hpp>
#include <snc/nets/torchvision.hpp>

TEST_CASE("torchvision ResNet-18 lowers to fused stages, without BN, ReLU or add buffers") {
    using namespace snc;
    halide::JitNetwork network(build_graph<nets::torchvision::ResNet18<>>());
    const Plan& plan = network.plan();
    // 20 convs (3 of them downsample shortcuts), the stem's max pool, the mean, the classifier.
    CHECK(plan.graph.ops.size() == 68);  // 20 convs, 20 BNs, 17 ReLUs, 8 adds, 3 more
    REQUIRE(plan.stages.size() == 23);

    // The Funcs the pipeline stores: the output, and every Func it calls that is not inlined.
    // (Halide makes names unique in a process by a "$n" suffix: other tests may have used the same.)
    auto unsuffixed = [](const std::string& name) { return name.substr(0, name.find('$')); };
    std::set<std::string> stored{unsuffixed(network.output().name())};
    for (const auto& [name, function] : Halide::Internal::find_transitive_calls(network.output().function()))
        if (Halide::LoopLevel level = function.schedule().compute_level(); !level.lock().is_inlined()) stored.insert(unsuffixed(name));
    std::set<std::string> stage_buffers, other_buffers;
    for (const std::string& name : stored) {
        const bool stage_name = name.size() > 1 && name[0] == 's' && std::isdigit(static_cast<unsigned char>(name[1]));
        // A Winograd stage's transformed input and products are computed inside it, per row of
        // tiles or per image.
        const bool stage_part = name.ends_with("_acc") || name.ends_with("_padded") || name.ends_with("_winograd_input") ||
                                name.ends_with("_winograd_product");
        (stage_name && !stage_part ? stage_buffers : other_buffers).insert(name);
    }
    std::set<std::string> planned;
    for (const Stage& stage : plan.stages) planned.insert(stage.name);
    for (const std::string& name : planned)
        if (!stage_buffers.count(name)) MESSAGE("planned, not stored: " << name);
    for (const std::string& name : stage_buffers)
        if (!planned.count(name)) MESSAGE("stored, not planned: " << name);
    CHECK(stage_buffers == planned);  // one buffer per stage, and no other buffer of a whole value
    for (const std::string& name : other_buffers) {
        INFO(name);
        // inside a stage: its accumulator, its padded input, a Winograd stage's transformed input
        // and products, a pool's inline reductions
        CHECK((name == "input" || name.ends_with("_acc") || name.ends_with("_padded") || name.ends_with("_winograd_input") ||
               name.ends_with("_winograd_product") || name.rfind("sum", 0) == 0 || name.rfind("maximum", 0) == 0));
    }

    int conv_add_relu = 0;
    for (const std::string& name : stage_buffers) {
        INFO(name);
        std::string kinds = name.substr(name.find('_') + 1);
        CHECK((kinds.rfind("conv", 0) == 0 || kinds.rfind("max_pool", 0) == 0 || kinds.rfind("global_avg_pool", 0) == 0 ||
               kinds.rfind("dense", 0) == 0));
        conv_add_relu += kinds.rfind("conv_batch_norm_add_relu", 0) == 0;
    }
    CHECK(conv_add_relu == 8);  // every BasicBlock's second conv carries its block's add and ReLU
}
