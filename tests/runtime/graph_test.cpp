#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <snc/layout.hpp>
#include <snc/nets/d2l.hpp>
#include <snc/nets/torchvision.hpp>

#include "../static/zoo_blocks.hpp"

namespace {
std::vector<std::string> tensor_names(const snc::Graph& graph) {
    std::vector<std::string> names;
    for (const snc::Op& op : graph.ops)
        for (const snc::TensorSpec& tensor : op.tensors) names.push_back(op.tensor_name(tensor));
    return names;
}
bool contains(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}
}  // namespace

TEST_CASE("BNLeNet's tensors carry the names of one nn.Sequential") {
    snc::Graph graph = snc::build_graph<snc::nets::d2l::BNLeNet<>>();
    std::vector<std::string> names = tensor_names(graph);
    std::vector<std::string> expected = {
        "0.weight",  "0.bias",  "1.weight",  "1.bias",  "1.running_mean",  "1.running_var",
        "4.weight",  "4.bias",  "5.weight",  "5.bias",  "5.running_mean",  "5.running_var",
        "9.weight",  "9.bias",  "10.weight", "10.bias", "10.running_mean", "10.running_var",
        "12.weight", "12.bias", "13.weight", "13.bias", "13.running_mean", "13.running_var",
        "15.weight", "15.bias"};
    CHECK(names == expected);
    CHECK(graph.ops.size() == 16);
    CHECK(graph.output == 16);
}

TEST_CASE("a dense layer after Flatten knows the image its features came from") {
    snc::Graph graph = snc::build_graph<snc::nets::d2l::BNLeNet<>>();
    const snc::Op& dense = graph.ops[9];
    CHECK(dense.spec.kind == snc::OpKind::dense);
    CHECK(dense.flatten_source == snc::Shape{128, 4, 4, 16});
    CHECK(dense.tensors.items[0].dims[0] == 120);
    CHECK(dense.tensors.items[0].dims[1] == 256);
    CHECK(graph.ops[12].flatten_source.rank == 0);  // after a Dense, features are its units
}

TEST_CASE("torchvision ResNet-18's tensors carry torchvision's names and shapes") {
    snc::Graph graph = snc::build_graph<snc::nets::torchvision::ResNet18<>>();
    std::vector<std::string> names = tensor_names(graph);
    CHECK(contains(names, "conv1.weight"));
    CHECK(!contains(names, "conv1.bias"));
    CHECK(contains(names, "layer1.0.bn1.running_var"));
    CHECK(contains(names, "layer2.0.downsample.0.weight"));
    CHECK(contains(names, "layer2.0.downsample.1.running_mean"));
    CHECK(!contains(names, "layer1.0.downsample.0.weight"));
    CHECK(contains(names, "fc.bias"));
    CHECK(names.size() == 102);  // the state_dict's 122 entries less 20 num_batches_tracked

    const snc::Op& conv1 = graph.ops[0];
    CHECK(conv1.tensors.items[0].dims[0] == 64);
    CHECK(conv1.tensors.items[0].dims[1] == 3);
    CHECK(conv1.tensors.items[0].dims[2] == 7);
    CHECK(conv1.spec.window.pad_top == 3);
    CHECK(conv1.spec.window.stride == 2);
}

TEST_CASE("a residual add reads the body's output and the shortcut's") {
    snc::Graph graph = snc::build_graph<snc::Network<snc::Input<4, 6, 6, 3>, snc::nets::d2l::Residual<6, true, 2>>>();
    // conv1, bn1, relu, conv2, bn2, conv3 (shortcut), add, relu
    REQUIRE(graph.ops.size() == 8);
    const snc::Op& add = graph.ops[6];
    CHECK(add.spec.kind == snc::OpKind::add);
    CHECK(add.input == 5);     // bn2's value
    CHECK(add.joined == std::vector{6});  // conv3's value
    CHECK(graph.ops[5].input == 0);
    CHECK(graph.ops[5].name == "0.conv3");
    CHECK(add.out == snc::Shape{4, 3, 3, 6});
    std::vector<int> readers = graph.readers();
    CHECK(readers[0] == 2);  // the input feeds conv1 and conv3
}

// The blocked packing: every element at one offset, each block of 64 output channels contiguous
// with its output channel fastest, and convs whose channels 64 does not divide left unblocked.
TEST_CASE("a conv's weights packed in blocks of output channels") {
    const snc::Graph graph = snc::build_graph<snc::Network<snc::Input<1, 6, 6, 3>, snc::Conv<192, 3>, snc::Conv<96, 1>>>();
    const snc::Layout blocked = snc::tensor_layout(graph.ops[0], 0, snc::Packing::output_blocked).packed;
    const snc::Layout plain = snc::tensor_layout(graph.ops[0], 0, snc::Packing::output_innermost).packed;
    REQUIRE(blocked.size() == 192 * 3 * 3 * 3);
    std::vector<int> seen(std::size_t(blocked.size()), 0);
    std::int64_t coordinates[4]{};
    for (std::int64_t at = 0; at < blocked.size(); ++at) {
        blocked.coordinates(at, coordinates);
        CHECK(blocked.offset(coordinates) == at);
        ++seen[std::size_t(at)];
    }
    CHECK(std::count(seen.begin(), seen.end(), 1) == blocked.size());
    // (co, ci, ky, kx): the block's channels next to each other, then the input channel, ...
    CHECK(blocked(std::int64_t(65), 0, 0, 0) - blocked(std::int64_t(64), 0, 0, 0) == 1);
    CHECK(blocked(std::int64_t(64), 1, 0, 0) - blocked(std::int64_t(64), 0, 0, 0) == 64);
    CHECK(blocked(std::int64_t(64), 0, 0, 1) - blocked(std::int64_t(64), 0, 0, 0) == 64 * 3);
    CHECK(blocked(std::int64_t(64), 0, 1, 0) - blocked(std::int64_t(64), 0, 0, 0) == 64 * 3 * 3);
    // ... and the next block after all of this one's weights.
    CHECK(blocked(std::int64_t(64), 0, 0, 0) == 64 * 3 * 3 * 3);
    CHECK(plain(std::int64_t(64), 0, 0, 0) == 64);
    CHECK(snc::tensor_layout(graph.ops[1], 0, snc::Packing::output_blocked).packed ==
          snc::tensor_layout(graph.ops[1], 0, snc::Packing::output_innermost).packed);
}

namespace {
// Every tensor's name, sorted, joined by spaces.
template <class Net>
std::string tensor_names() {
    std::vector<std::string> names = tensor_names(snc::build_graph<Net>());
    std::sort(names.begin(), names.end());
    std::string joined;
    for (const std::string& name : names) joined += (joined.empty() ? "" : " ") + name;
    return joined;
}
}  // namespace

// The blocks of tests/static/zoo_blocks.hpp name their tensors as torchvision's modules' state_dict
// keys (num_batches_tracked aside), sorted: made with torchvision 0.14.
TEST_CASE("each torchvision family's block names its tensors as torchvision does") {
    using namespace snc;
    CHECK(tensor_names<zoo_blocks::MobileNetV2Block>() == "conv.0.0.weight conv.0.1.bias conv.0.1.running_mean conv.0.1.running_var conv.0.1.weight conv.1.0.weight conv.1.1.bias conv.1.1.running_mean conv.1.1.running_var conv.1.1.weight conv.2.weight conv.3.bias conv.3.running_mean conv.3.running_var conv.3.weight");
    CHECK(tensor_names<zoo_blocks::MobileNetV3Block>() == "block.0.0.weight block.0.1.bias block.0.1.running_mean block.0.1.running_var block.0.1.weight block.1.0.weight block.1.1.bias block.1.1.running_mean block.1.1.running_var block.1.1.weight block.2.fc1.bias block.2.fc1.weight block.2.fc2.bias block.2.fc2.weight block.3.0.weight block.3.1.bias block.3.1.running_mean block.3.1.running_var block.3.1.weight");
    CHECK(tensor_names<zoo_blocks::ShuffleNetV2Unit>() == "branch2.0.weight branch2.1.bias branch2.1.running_mean branch2.1.running_var branch2.1.weight branch2.3.weight branch2.4.bias branch2.4.running_mean branch2.4.running_var branch2.4.weight branch2.5.weight branch2.6.bias branch2.6.running_mean branch2.6.running_var branch2.6.weight");
    CHECK(tensor_names<zoo_blocks::ShuffleNetV2Down>() == "branch1.0.weight branch1.1.bias branch1.1.running_mean branch1.1.running_var branch1.1.weight branch1.2.weight branch1.3.bias branch1.3.running_mean branch1.3.running_var branch1.3.weight branch2.0.weight branch2.1.bias branch2.1.running_mean branch2.1.running_var branch2.1.weight branch2.3.weight branch2.4.bias branch2.4.running_mean branch2.4.running_var branch2.4.weight branch2.5.weight branch2.6.bias branch2.6.running_mean branch2.6.running_var branch2.6.weight");
    CHECK(tensor_names<zoo_blocks::SqueezeNetFire>() == "expand1x1.bias expand1x1.weight expand3x3.bias expand3x3.weight squeeze.bias squeeze.weight");
    CHECK(tensor_names<zoo_blocks::ConvNeXtBlock>() == "block.0.bias block.0.weight block.2.bias block.2.weight block.3.bias block.3.weight block.5.bias block.5.weight layer_scale");
    CHECK(tensor_names<zoo_blocks::ResNeXtBlock>() == "bn1.bias bn1.running_mean bn1.running_var bn1.weight bn2.bias bn2.running_mean bn2.running_var bn2.weight bn3.bias bn3.running_mean bn3.running_var bn3.weight conv1.weight conv2.weight conv3.weight");
    CHECK(tensor_names<zoo_blocks::InceptionV3C>() == "branch1x1.bn.bias branch1x1.bn.running_mean branch1x1.bn.running_var branch1x1.bn.weight branch1x1.conv.weight branch7x7_1.bn.bias branch7x7_1.bn.running_mean branch7x7_1.bn.running_var branch7x7_1.bn.weight branch7x7_1.conv.weight branch7x7_2.bn.bias branch7x7_2.bn.running_mean branch7x7_2.bn.running_var branch7x7_2.bn.weight branch7x7_2.conv.weight branch7x7_3.bn.bias branch7x7_3.bn.running_mean branch7x7_3.bn.running_var branch7x7_3.bn.weight branch7x7_3.conv.weight branch7x7dbl_1.bn.bias branch7x7dbl_1.bn.running_mean branch7x7dbl_1.bn.running_var branch7x7dbl_1.bn.weight branch7x7dbl_1.conv.weight branch7x7dbl_2.bn.bias branch7x7dbl_2.bn.running_mean branch7x7dbl_2.bn.running_var branch7x7dbl_2.bn.weight branch7x7dbl_2.conv.weight branch7x7dbl_3.bn.bias branch7x7dbl_3.bn.running_mean branch7x7dbl_3.bn.running_var branch7x7dbl_3.bn.weight branch7x7dbl_3.conv.weight branch7x7dbl_4.bn.bias branch7x7dbl_4.bn.running_mean branch7x7dbl_4.bn.running_var branch7x7dbl_4.bn.weight branch7x7dbl_4.conv.weight branch7x7dbl_5.bn.bias branch7x7dbl_5.bn.running_mean branch7x7dbl_5.bn.running_var branch7x7dbl_5.bn.weight branch7x7dbl_5.conv.weight branch_pool.bn.bias branch_pool.bn.running_mean branch_pool.bn.running_var branch_pool.bn.weight branch_pool.conv.weight");
}
