// The fused pipeline: ResNet-18 realizes one buffer per conv stage (conv + folded BN + residual add
// + ReLU), and none for a batch norm, a ReLU or an add on its own. Read from the list of Funcs the
// scheduled pipeline realizes (every Func reachable from the output that is not inlined).
#include <set>

#include <doctest/doctest.h>

#include <snc/nets/torchvision.hpp>

#include "jit.hpp"

TEST_CASE("torchvision ResNet-18 lowers to fused stages, without BN, ReLU or add buffers") {
    using namespace snc;
    Plan plan = plan_inference<nets::torchvision::ResNet18<>>();
    // 20 convs (3 of them downsample shortcuts), the stem's max pool, the mean, the classifier.
    CHECK(plan.graph.ops.size() == 68);  // 20 convs, 20 BNs, 17 ReLUs, 8 adds, 3 more
    REQUIRE(plan.stages.size() == 23);

    testing::JitNetwork network(plan);
    std::set<std::string> produced;
    for (const auto& [name, function] : Halide::Internal::find_transitive_calls(network.output().function()))
        if (Halide::LoopLevel level = function.schedule().compute_level(); !level.lock().is_inlined()) produced.insert(name);
    produced.insert(network.output().name());
    REQUIRE(!produced.empty());

    std::set<std::string> stage_buffers;
    for (const std::string& name : produced)
        if (name.rfind("s", 0) == 0 && !name.ends_with("_acc") && !name.ends_with("_padded")) stage_buffers.insert(name);
    CHECK(stage_buffers.size() == 23);
    int conv_add_relu = 0;
    for (const std::string& name : stage_buffers) {
        INFO(name);
        std::string kinds = name.substr(name.find('_') + 1);
        CHECK((kinds.rfind("conv", 0) == 0 || kinds.rfind("maxpool", 0) == 0 ||
               kinds.rfind("globalavgpool", 0) == 0 || kinds.rfind("dense", 0) == 0));
        conv_add_relu += kinds.rfind("conv_bn_add_relu", 0) == 0;
    }
    CHECK(conv_add_relu == 8);  // every BasicBlock's second conv carries its block's add and ReLU
}
