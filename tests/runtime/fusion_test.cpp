// The fused pipeline: ResNet-18 realizes one buffer per conv stage (conv + folded BN + residual add
// + ReLU), and none for a batch norm, a ReLU or an add on its own. Read from the list of Funcs the
// scheduled pipeline realizes (every Func reachable from the output that is not inlined).
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
    std::set<std::string> stored{network.output().name()};
    for (const auto& [name, function] : Halide::Internal::find_transitive_calls(network.output().function()))
        if (Halide::LoopLevel level = function.schedule().compute_level(); !level.lock().is_inlined()) stored.insert(name);
    std::set<std::string> stage_buffers, other_buffers;
    for (const std::string& name : stored) {
        const bool stage_part = name.ends_with("_acc") || name.ends_with("_padded");
        (name.rfind("s", 0) == 0 && !stage_part ? stage_buffers : other_buffers).insert(name);
    }
    std::set<std::string> planned;
    for (const Stage& stage : plan.stages) planned.insert(stage.name);
    CHECK(stage_buffers == planned);  // one buffer per stage, and no other buffer of a whole value
    for (const std::string& name : other_buffers) {
        INFO(name);
        CHECK((name == "input" || name.ends_with("_acc") || name.ends_with("_padded")));
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
