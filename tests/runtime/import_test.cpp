// snc-import's refusals and its declarations, on small ONNX graphs built here with ONNX's protobuf
// classes (PyTorch's exports of whole networks are checked end to end by the onnx_import test).
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <onnx_import.hpp>

#include "scratch.hpp"

namespace {

// A graph on an NCHW float input, its nodes and float initializers added by the cases.
struct Model {
    onnx::ModelProto proto;
    onnx::GraphProto* graph;

    explicit Model(std::vector<std::int64_t> input_dims, const std::string& batch_name = "") {
        proto.set_ir_version(8);
        proto.set_producer_name("snc-test");
        proto.add_opset_import()->set_version(13);
        graph = proto.mutable_graph();
        auto* input = graph->add_input();
        input->set_name("x");
        auto* tensor = input->mutable_type()->mutable_tensor_type();
        tensor->set_elem_type(onnx::TensorProto::FLOAT);
        for (std::size_t k = 0; k < input_dims.size(); ++k) {
            auto* dim = tensor->mutable_shape()->add_dim();
            if (k == 0 && !batch_name.empty()) dim->set_dim_param(batch_name);
            else dim->set_dim_value(input_dims[k]);
        }
    }
    onnx::NodeProto& node(const std::string& op, const std::string& name, std::vector<std::string> inputs, const std::string& output) {
        auto* n = graph->add_node();
        n->set_op_type(op);
        n->set_name(name);
        for (const auto& input : inputs) n->add_input(input);
        n->add_output(output);
        return *n;
    }
    void weights(const std::string& name, std::vector<std::int64_t> dims, float value = 0.5f) {
        auto* t = graph->add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto::FLOAT);
        std::int64_t count = 1;
        for (std::int64_t d : dims) t->add_dims(d), count *= d;
        for (std::int64_t i = 0; i < count; ++i) t->add_float_data(value + 0.01f * float(i % 7));
    }
    std::string save(const std::string& name, const std::string& output) {
        graph->add_output()->set_name(output);
        std::string path = (snc::testing::scratch_directory("snc_import_test") / (name + ".onnx")).string();
        std::ofstream out(path, std::ios::binary);
        proto.SerializeToOstream(&out);
        return path;
    }
};

void ints(onnx::NodeProto& node, const std::string& name, std::vector<std::int64_t> values) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (std::int64_t v : values) a->add_ints(v);
}
void one_int(onnx::NodeProto& node, const std::string& name, std::int64_t value) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
}
void one_float(onnx::NodeProto& node, const std::string& name, float value) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
}

std::string refusal(const std::string& path, snc::onnx_import::Options options = {}) {
    try {
        snc::onnx_import::import_model(path, options);
    } catch (const snc::Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("a small network imports as one layer a line, its tensors under snc's names") {
    Model m({2, 3, 8, 8});
    m.weights("w", {4, 3, 3, 3});
    m.weights("gamma", {4}, 1.0f), m.weights("beta", {4}, 0.0f), m.weights("mean", {4}, 0.1f), m.weights("var", {4}, 1.0f);
    m.weights("fc", {5, 4});
    m.weights("fc_bias", {5});
    ints(m.node("Conv", "conv", {"x", "w"}, "c"), "pads", {1, 1, 1, 1});
    auto& bn = m.node("BatchNormalization", "bn", {"c", "gamma", "beta", "mean", "var"}, "b");
    one_float(bn, "epsilon", 1e-3f);
    one_float(bn, "momentum", 0.99f);
    m.node("Relu", "relu", {"b"}, "r");
    m.node("GlobalAveragePool", "gap", {"r"}, "g");
    m.node("Flatten", "flatten", {"g"}, "f");
    one_int(m.node("Gemm", "fc", {"f", "fc", "fc_bias"}, "y"), "transB", 1);
    snc::onnx_import::Result result = snc::onnx_import::import_model(m.save("small", "y"), {.network = "demo::Small"});
    CHECK(result.header.find("namespace demo {") != std::string::npos);
    CHECK(result.header.find("using Small = snc::Network<snc::Input<2, 8, 8, 3>,\n") != std::string::npos);
    CHECK(result.header.find("    snc::Conv<4, 3, snc::Pad<1>, snc::NoBias>,  // conv\n") != std::string::npos);
    // ONNX's momentum weighs the old statistics: 0.99 there is 0.01 in PyTorch's and snc's convention
    CHECK(result.header.find("    snc::BatchNorm<snc::Epsilon<0.00100000005f>, snc::Momentum<0.00999999046f>>,  // bn\n") != std::string::npos);
    CHECK(result.header.find("    snc::GlobalAvgPool,  // gap\n    snc::Dense<5>>;  // fc\n") != std::string::npos);  // no Flatten of (N, C)
    CHECK(result.weights.count("0.weight"));
    CHECK(result.weights.count("1.running_var"));
    CHECK(result.weights.at("4.weight").shape == std::vector<std::int64_t>{5, 4});
    CHECK(result.parameters == 4 * 27 + 8 + 25);
}

TEST_CASE("what snc cannot express is refused, one line per node, naming it") {
    SUBCASE("an operator snc has no layer for, and a dilated conv") {
        Model m({1, 3, 8, 8});
        m.weights("w", {4, 3, 3, 3});
        ints(m.node("Conv", "dilated", {"x", "w"}, "c"), "dilations", {2, 2});
        m.node("Softmax", "softmax", {"c"}, "y");
        std::string why = refusal(m.save("two_problems", "y"));
        CHECK(why.find("two_problems.onnx: 1 node snc cannot express") != std::string::npos);  // the walk stops at the first
        CHECK(why.find("node 'dilated' (Conv): dilations; snc's windows are dense") != std::string::npos);
    }
    SUBCASE("a Concat of two branches") {
        Model m({1, 3, 8, 8});
        m.node("Relu", "a", {"x"}, "a");
        m.node("Sigmoid", "b", {"x"}, "b");
        auto& concat = m.node("Concat", "concat", {"a", "b"}, "y");
        one_int(concat, "axis", 1);
        std::string why = refusal(m.save("concat", "y"));
        CHECK(why.find("node 'concat' (Concat): snc has no layer for it") != std::string::npos);
    }
    SUBCASE("grouped convs, ceil_mode, non-square kernels") {
        Model m({1, 4, 8, 8});
        m.weights("w", {4, 2, 3, 3});
        one_int(m.node("Conv", "grouped", {"x", "w"}, "c"), "group", 2);
        std::string why = refusal(m.save("grouped", "c"));
        CHECK(why.find("node 'grouped' (Conv): groups; snc's convs are dense") != std::string::npos);

        Model p({1, 4, 8, 8});
        auto& pool = p.node("MaxPool", "ceil", {"x"}, "y");
        ints(pool, "kernel_shape", {2, 2});
        one_int(pool, "ceil_mode", 1);
        CHECK(refusal(p.save("ceil", "y")).find("node 'ceil' (MaxPool): ceil_mode; snc's windows floor") != std::string::npos);

        Model k({1, 4, 8, 8});
        ints(k.node("AveragePool", "wide", {"x"}, "y"), "kernel_shape", {2, 3});
        CHECK(refusal(k.save("wide", "y")).find("node 'wide' (AveragePool): a kernel that is not 2-D and square") != std::string::npos);
    }
    SUBCASE("a dynamic batch without --batch, and with it") {
        Model m({0, 3, 4, 4}, "batch_size");
        m.node("Relu", "relu", {"x"}, "y");
        std::string path = m.save("dynamic", "y");
        CHECK(refusal(path) == path + ": the model's batch is dynamic ('batch_size'): give --batch N");
        CHECK(snc::onnx_import::import_model(path, {.network = "a::B", .batch = 8}).header.find("snc::Input<8, 4, 4, 3>") != std::string::npos);
    }
    SUBCASE("a model whose output is its input: no layer to compile") {
        Model m({1, 3, 4, 4});
        m.node("Identity", "same", {"x"}, "y");
        std::string path = m.save("identity", "y");
        CHECK(refusal(path) == path + ": the model computes nothing from its input (its output is the input, 'y'); snc compiles networks of at least one layer");
    }
    SUBCASE("a file that is not an ONNX model") {
        std::string path = snc::testing::scratch_directory("snc_import_test") / "not_onnx.onnx";
        std::ofstream(path) << "not a protobuf at all \xff\xff\xff";
        CHECK(refusal(path) == path + ": not an ONNX model (it does not parse as a ModelProto)");
    }
}
