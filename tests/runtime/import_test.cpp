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
    SUBCASE("every node snc cannot express, not the first: a Resize, a Reshape to a computed shape, a Loop") {
        Model m({1, 3, 8, 8});
        m.weights("w", {4, 3, 3, 3});
        m.weights("scales", {4}, 1.0f);
        m.weights("fc", {4, 2});
        ints(m.node("Conv", "conv", {"x", "w"}, "c"), "pads", {1, 1, 1, 1});
        m.node("Resize", "resize", {"c", "", "scales"}, "up");
        m.node("Relu", "relu", {"up"}, "r");
        m.node("ReduceMax", "largest", {"r"}, "top");
        one_int(m.node("Cast", "count", {"top"}, "n"), "to", onnx::TensorProto::INT64);
        m.node("Reshape", "view", {"r", "n"}, "v");
        m.weights("trips", {1}, 2.0f);
        m.node("Loop", "loop", {"trips", "", "v"}, "l");
        m.node("Flatten", "flatten", {"l"}, "f");
        m.node("MatMul", "fc", {"f", "fc"}, "y");
        std::string why = refusal(m.save("three_problems", "y"));
        CHECK(why.find("three_problems.onnx: 5 nodes snc cannot express") != std::string::npos);
        CHECK(why.find("node 'resize' (Resize): snc has no layer for it") != std::string::npos);
        CHECK(why.find("node 'largest' (ReduceMax): snc has no layer for it") != std::string::npos);
        CHECK(why.find("node 'count' (Cast): snc has no layer for it") != std::string::npos);
        CHECK(why.find("node 'view' (Reshape): reads 'n', a value computed from the data, where snc needs a constant") != std::string::npos);
        CHECK(why.find("node 'loop' (Loop): snc has no layer for it") != std::string::npos);
        CHECK(why.find("flatten") == std::string::npos);  // after the refusals, shapes are unknown: nothing more is said
    }
    SUBCASE("joins that are not blocks") {
        Model m({1, 3, 8, 8});
        m.node("Relu", "a", {"x"}, "a");
        m.node("Sigmoid", "b", {"x"}, "b");
        m.node("Sub", "difference", {"a", "b"}, "y");
        CHECK(refusal(m.save("sub", "y")).find("node 'difference' (Sub): joins 2 branches; snc's joins are Add (a residual), Concat and Mul (a gate)") !=
              std::string::npos);

        Model g({1, 3, 8, 8});
        g.node("Relu", "a", {"x"}, "a");
        g.node("Sigmoid", "b", {"x"}, "b");
        g.node("Mul", "product", {"a", "b"}, "y");
        CHECK(refusal(g.save("product", "y")).find("node 'product' (Mul): multiplies two computed values") != std::string::npos);
    }
    SUBCASE("windows snc's layers do not have") {
        Model k({1, 4, 8, 8});
        ints(k.node("AveragePool", "wide", {"x"}, "y"), "kernel_shape", {2, 3});
        CHECK(refusal(k.save("wide", "y")).find("node 'wide' (AveragePool): a window that is not square; snc's pools are") != std::string::npos);

        Model s({1, 4, 8, 8});
        s.weights("w", {4, 4, 3, 3});
        ints(s.node("Conv", "uneven", {"x", "w"}, "y"), "strides", {1, 2});
        CHECK(refusal(s.save("uneven", "y")).find("node 'uneven' (Conv): strides that are not equal along both axes") != std::string::npos);
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

TEST_CASE("grouped, dilated and rectangular convs, ceil-mode pools, a concat and a gate import as snc's layers") {
    Model m({1, 4, 8, 8});
    m.weights("grouped", {8, 2, 3, 3});
    m.weights("dilated", {8, 8, 3, 3});
    m.weights("wide", {4, 8, 1, 3});
    m.weights("squeeze", {12, 12, 1, 1});
    auto& g = m.node("Conv", "grouped", {"x", "grouped"}, "g");
    one_int(g, "group", 2), ints(g, "pads", {1, 1, 1, 1});
    auto& d = m.node("Conv", "dilated", {"g", "dilated"}, "d");
    ints(d, "dilations", {2, 2}), ints(d, "pads", {2, 2, 2, 2});
    ints(m.node("Conv", "wide", {"d", "wide"}, "w"), "pads", {0, 1, 0, 1});
    one_int(m.node("Concat", "cat", {"d", "w"}, "c"), "axis", 1);  // d is read by wide and by cat: Concat<Identity, Seq<wide>>
    auto& pool = m.node("MaxPool", "pool", {"c"}, "p");
    ints(pool, "kernel_shape", {3, 3}), ints(pool, "strides", {2, 2}), one_int(pool, "ceil_mode", 1);
    m.node("GlobalAveragePool", "mean", {"p"}, "s");
    m.node("Conv", "excite", {"s", "squeeze"}, "e");
    m.node("Sigmoid", "sigmoid", {"e"}, "gate");
    m.node("Mul", "scale", {"p", "gate"}, "y");
    snc::onnx_import::Result result = snc::onnx_import::import_model(m.save("new_layers", "y"), {.network = "demo::New"});
    CHECK(result.header.find("snc::Conv<8, 3, snc::Pad<1>, snc::Groups<2>, snc::NoBias>,  // grouped") != std::string::npos);
    CHECK(result.header.find("snc::Conv<8, 3, snc::Pad<2>, snc::Dilation<2>, snc::NoBias>,  // dilated") != std::string::npos);
    CHECK(result.header.find("snc::Concat<  // cat\n        snc::Identity,  // branch 0\n        snc::Seq<  // branch 1\n"
                             "            snc::Conv<4, 1, snc::KernelWidth<3>, snc::Pads<0, 1, 0, 1>, snc::NoBias>>>,  // wide") !=
          std::string::npos);
    CHECK(result.header.find("snc::MaxPool<3, snc::Stride<2>, snc::CeilMode>,  // pool") != std::string::npos);
    CHECK(result.header.find("snc::Gate<  // scale\n        snc::Seq<  // the gate\n            snc::AdaptiveAvgPool<1>,  // mean\n") !=
          std::string::npos);
    CHECK(result.weights.count("2.1.0.weight"));  // the concat's second branch, its first layer
    CHECK(result.weights.count("4.1.weight"));    // the gate adds no step: its Seq's second layer
}
