// ONNX's own node tests (Debian's libonnx-testdata), run through snc at their static shapes.
// model.onnx and the TensorProto files are read with ONNX's protobuf classes (libonnx-dev).
// The cases snc's layers cover pass; every other test of those operators is listed below with the
// reason it is skipped, and a test checks that the two lists account for the whole directory.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include <snc/reference.hpp>
#include <snc/snc.hpp>

#include <snc/halide/jit.hpp>

#include "support.hpp"

namespace {
using namespace snc;

const std::string node_tests = "/usr/share/libonnx-testdata/data/node/";

Tensor read_tensor_proto(const std::string& path) {
    onnx::TensorProto proto;
    std::ifstream in(path, std::ios::binary);
    if (!in || !proto.ParseFromIstream(&in)) throw Error(path + ": not a TensorProto");
    if (proto.data_type() != onnx::TensorProto::FLOAT) throw Error(path + ": not float32");
    std::vector<std::int64_t> dims(proto.dims().begin(), proto.dims().end());
    Tensor tensor(dims);
    if (!proto.raw_data().empty()) {
        if (proto.raw_data().size() != tensor.data.size() * 4) throw Error(path + ": raw_data has the wrong size");
        std::memcpy(tensor.data.data(), proto.raw_data().data(), proto.raw_data().size());
    } else {
        if (std::size_t(proto.float_data_size()) != tensor.data.size()) throw Error(path + ": float_data has the wrong size");
        std::copy(proto.float_data().begin(), proto.float_data().end(), tensor.begin());
    }
    return tensor;
}

struct OnnxCase {
    std::vector<Tensor> inputs;
    Tensor output;
    std::map<std::string, const onnx::AttributeProto*> attributes;
    onnx::ModelProto model;
};

OnnxCase read_case(const std::string& name) {
    OnnxCase test;
    std::string dir = node_tests + name + "/";
    std::ifstream in(dir + "model.onnx", std::ios::binary);
    REQUIRE_MESSAGE((in && test.model.ParseFromIstream(&in)), dir << "model.onnx does not parse");
    for (int i = 0; i < test.model.graph().input_size(); ++i)
        test.inputs.push_back(read_tensor_proto(dir + "test_data_set_0/input_" + std::to_string(i) + ".pb"));
    test.output = read_tensor_proto(dir + "test_data_set_0/output_0.pb");
    for (const auto& attribute : test.model.graph().node(0).attribute()) test.attributes[attribute.name()] = &attribute;
    return test;
}

// NCHW <-> NHWC for rank-4 tensors; other ranks pass unchanged.
Tensor to_nhwc(const Tensor& t) {
    if (t.shape.size() != 4) return t;
    std::int64_t n = t.shape[0], c = t.shape[1], h = t.shape[2], w = t.shape[3];
    Tensor out({n, h, w, c});
    for (std::int64_t i = 0; i < n * c * h * w; ++i) {
        std::int64_t x = i % w, y = (i / w) % h, ch = (i / (w * h)) % c, b = i / (w * h * c);
        out.data[std::size_t(((b * h + y) * w + x) * c + ch)] = t.data[std::size_t(i)];
    }
    return out;
}

Tensor reshaped(Tensor t, Shape shape) {
    REQUIRE(t.elements() == shape.elements());
    t.shape = dims_of(shape);
    return t;
}

// Runs `Net` on the case's data input with `tensors` as its state_dict and compares with ONNX's
// output, brought to snc's layout by `expected_layout`.
template <class Net>
void run_and_compare(const std::string& name, const Tensor& input, const StateDict& tensors, Tensor expected) {
    halide::JitNetwork& network = halide::jit<Net>();
    std::vector<float> packed = pack_inference_weights(network.plan(), tensors, name);
    Tensor got = network.run(reshaped(input, Net::input_shape), packed);
    expected = reshaped(std::move(expected), Net::output_shape);
    std::string report;
    CHECK_MESSAGE(testing::agree(got, expected, 1e-5, report), name << ": " << report);
}

template <class Net>
void activation_or_pool(const std::string& name) {
    OnnxCase test = read_case(name);
    run_and_compare<Net>(name, to_nhwc(test.inputs[0]), {}, to_nhwc(test.output));
}

template <class Net>
void conv(const std::string& name) {
    OnnxCase test = read_case(name);
    StateDict tensors{{"0.weight", test.inputs[1]}};
    if (test.inputs.size() > 2) tensors["0.bias"] = test.inputs[2];
    run_and_compare<Net>(name, to_nhwc(test.inputs[0]), tensors, to_nhwc(test.output));
}

template <class Net>
void batch_norm(const std::string& name) {
    OnnxCase test = read_case(name);
    StateDict tensors{{"0.weight", test.inputs[1]}, {"0.bias", test.inputs[2]},
                      {"0.running_mean", test.inputs[3]}, {"0.running_var", test.inputs[4]}};
    run_and_compare<Net>(name, to_nhwc(test.inputs[0]), tensors, to_nhwc(test.output));
}

// Gemm as a dense layer: Y = alpha * A' * B' + beta * C with C one bias per unit.
template <class Net>
void gemm(const std::string& name) {
    OnnxCase test = read_case(name);
    auto attribute = [&](const char* key, float fallback) {
        return test.attributes.count(key) ? (test.attributes[key]->type() == onnx::AttributeProto::INT
                                                 ? float(test.attributes[key]->i()) : test.attributes[key]->f())
                                          : fallback;
    };
    float alpha = attribute("alpha", 1.0f), beta = attribute("beta", 1.0f);
    bool trans_a = attribute("transA", 0.0f) != 0.0f, trans_b = attribute("transB", 0.0f) != 0.0f;
    auto transposed = [](const Tensor& t) {
        Tensor out({t.shape[1], t.shape[0]});
        for (std::int64_t i = 0; i < t.shape[0]; ++i)
            for (std::int64_t j = 0; j < t.shape[1]; ++j) out.data[std::size_t(j * t.shape[0] + i)] = t.data[std::size_t(i * t.shape[1] + j)];
        return out;
    };
    Tensor a = trans_a ? transposed(test.inputs[0]) : test.inputs[0];
    Tensor weight = trans_b ? test.inputs[1] : transposed(test.inputs[1]);  // Dense's (units, features)
    for (float& v : weight) v *= alpha;
    StateDict tensors{{"0.weight", weight}};
    if (test.inputs.size() > 2) {
        Tensor bias({weight.shape[0]});
        for (std::int64_t u = 0; u < weight.shape[0]; ++u)
            bias.data[std::size_t(u)] = beta * test.inputs[2].data[test.inputs[2].data.size() == 1 ? 0 : std::size_t(u)];
        tensors["0.bias"] = bias;
    }
    run_and_compare<Net>(name, a, tensors, test.output);
}

// ONNX flattens (C, H, W); snc (H, W, C): compare feature f of snc with ONNX's feature for it.
template <class Net>
void flatten(const std::string& name) {
    OnnxCase test = read_case(name);
    Shape image = Net::input_shape;
    Tensor expected = test.output;
    const Layout snc_features = feature_layout(image, image.features());
    const std::int64_t extents[] = {image.c(), image.h(), image.w()};
    const Layout onnx_features = row_major(3, extents);
    std::int64_t coordinates[3]{};
    for (std::int64_t n = 0; n < image.n(); ++n)
        for (std::int64_t f = 0; f < image.features(); ++f) {
            snc_features.coordinates(f, coordinates);
            expected.data[std::size_t(n * image.features() + f)] =
                test.output.data[std::size_t(n * image.features() + onnx_features.offset(coordinates))];
        }
    run_and_compare<Net>(name, to_nhwc(test.inputs[0]), {}, expected);
}

// Add of two inputs x, y: snc's Add lives in a Residual, so the network reads [x | y] as one
// feature row, the body's Dense picks x (weights [I 0]), the shortcut's picks y ([0 I]).
template <class Net>
void add(const std::string& name) {
    OnnxCase test = read_case(name);
    const std::int64_t rows = Net::input_shape.n(), features = Net::output_shape.c();
    Tensor joined({rows, 2 * features});
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t f = 0; f < features; ++f) {
            joined.data[std::size_t(r * 2 * features + f)] = test.inputs[0].data[std::size_t(r * features + f)];
            joined.data[std::size_t(r * 2 * features + features + f)] = test.inputs[1].data[std::size_t(r * features + f)];
        }
    Tensor pick_x({features, 2 * features}), pick_y({features, 2 * features});
    for (std::int64_t f = 0; f < features; ++f) {
        pick_x.data[std::size_t(f * 2 * features + f)] = 1.0f;
        pick_y.data[std::size_t(f * 2 * features + features + f)] = 1.0f;
    }
    run_and_compare<Net>(name, joined, {{"0.body.weight", pick_x}, {"0.shortcut.weight", pick_y}}, test.output);
}

// What is run, by ONNX test name.
const std::set<std::string> covered = {
    "test_conv_with_strides_padding", "test_conv_with_strides_no_padding", "test_conv_with_autopad_same",
    "test_conv_with_strides_and_asymmetric_padding",
    "test_batchnorm_example", "test_batchnorm_epsilon",
    "test_batchnorm_example_training_mode", "test_batchnorm_epsilon_training_mode",
    "test_relu", "test_sigmoid", "test_sigmoid_example", "test_tanh", "test_tanh_example",
    "test_maxpool_2d_default", "test_maxpool_2d_pads", "test_maxpool_2d_precomputed_pads",
    "test_maxpool_2d_precomputed_same_upper", "test_maxpool_2d_precomputed_strides", "test_maxpool_2d_same_lower",
    "test_maxpool_2d_same_upper", "test_maxpool_2d_strides",
    "test_averagepool_2d_default", "test_averagepool_2d_pads", "test_averagepool_2d_pads_count_include_pad",
    "test_averagepool_2d_precomputed_pads", "test_averagepool_2d_precomputed_pads_count_include_pad",
    "test_averagepool_2d_precomputed_same_upper", "test_averagepool_2d_precomputed_strides",
    "test_averagepool_2d_same_lower", "test_averagepool_2d_same_upper", "test_averagepool_2d_strides",
    "test_globalaveragepool", "test_globalaveragepool_precomputed",
    "test_gemm_default_no_bias", "test_gemm_default_vector_bias", "test_gemm_default_zero_bias",
    "test_gemm_default_single_elem_vector_bias", "test_gemm_default_scalar_bias", "test_gemm_transposeA",
    "test_gemm_transposeB", "test_gemm_alpha", "test_gemm_beta", "test_gemm_all_attributes",
    "test_flatten_axis1", "test_flatten_default_axis", "test_flatten_negative_axis3",
    "test_add",
};

// What is not, and why.
const std::map<std::string, std::string> skipped = {
    {"test_maxpool_1d_default", "1-D pooling: snc's tensors are (N, H, W, C) images"},
    {"test_maxpool_3d_default", "3-D pooling: snc's tensors are (N, H, W, C) images"},
    {"test_averagepool_1d_default", "1-D pooling: snc's tensors are (N, H, W, C) images"},
    {"test_averagepool_3d_default", "3-D pooling: snc's tensors are (N, H, W, C) images"},
    {"test_maxpool_2d_ceil", "ceil_mode: not supported (snc's windows floor, as Keras and PyTorch by default)"},
    {"test_averagepool_2d_ceil", "ceil_mode: not supported (snc's windows floor, as Keras and PyTorch by default)"},
    {"test_maxpool_2d_dilations", "dilations: not supported"},
    {"test_maxpool_2d_uint8", "uint8 tensors: snc computes in float32"},
    {"test_add_uint8", "uint8 tensors: snc computes in float32"},
    {"test_maxpool_with_argmax_2d_precomputed_pads", "a second output (argmax indices): not supported"},
    {"test_maxpool_with_argmax_2d_precomputed_strides", "a second output (argmax indices): not supported"},
    {"test_add_bcast", "broadcasting add: snc adds a residual branch of the same shape"},
    {"test_gemm_default_matrix_bias", "a bias per sample (C of shape (M, N)) is not a dense layer"},
    {"test_flatten_axis0", "axis 0: snc flattens all but the batch axis"},
    {"test_flatten_axis2", "axis 2: snc flattens all but the batch axis"},
    {"test_flatten_axis3", "axis 3: snc flattens all but the batch axis"},
    {"test_flatten_negative_axis1", "axis -1: snc flattens all but the batch axis"},
    {"test_flatten_negative_axis2", "axis -2: snc flattens all but the batch axis"},
    {"test_flatten_negative_axis4", "axis -4: snc flattens all but the batch axis"},
};
}  // namespace

TEST_CASE("ONNX Conv node tests") {
    conv<Network<Input<1, 7, 5, 1>, Conv<1, 3, Pad<1>, Stride<2>, NoBias>>>("test_conv_with_strides_padding");
    conv<Network<Input<1, 7, 5, 1>, Conv<1, 3, Stride<2>, NoBias>>>("test_conv_with_strides_no_padding");
    // SAME_LOWER on 5x5, 3x3, stride 2: the 2 padding pixels split evenly, as with Same.
    conv<Network<Input<1, 5, 5, 1>, Conv<1, 3, Same, Stride<2>, NoBias>>>("test_conv_with_autopad_same");
    conv<Network<Input<1, 7, 5, 1>, Conv<1, 3, Pads<1, 0, 1, 0>, Stride<2>, NoBias>>>(
        "test_conv_with_strides_and_asymmetric_padding");
}

TEST_CASE("ONNX BatchNormalization node tests, inference") {
    batch_norm<Network<Input<2, 4, 5, 3>, BatchNorm<>>>("test_batchnorm_example");
    batch_norm<Network<Input<2, 4, 5, 3>, BatchNorm<Epsilon<1e-2f>>>>("test_batchnorm_epsilon");
}

// Training mode: Y normalized with the batch's statistics, and the running statistics updated.
// ONNX's momentum weighs the old value (0.9 by default), PyTorch's and snc's the new (0.1). ONNX
// updates the running variance with the batch's biased variance; snc, as PyTorch, with the
// unbiased one (m / (m - 1) times it): the expected running variance is ONNX's with that factor.
template <class Net>
void batch_norm_training(const std::string& name) {
    OnnxCase test = read_case(name);
    REQUIRE(test.model.graph().output_size() == 3);
    std::string dir = node_tests + name + "/test_data_set_0/";
    Tensor running_mean = read_tensor_proto(dir + "output_1.pb"), running_var = read_tensor_proto(dir + "output_2.pb");
    const Tensor& old_var = test.inputs[4];
    const double onnx_momentum = 0.9, m = double(Net::input_shape.n() * Net::input_shape.h() * Net::input_shape.w());

    Graph graph = build_graph<Net>();
    halide::JitTraining<float> jit(graph);
    const TrainingLayout& layout = jit.layout();
    StateDict tensors{{"0.weight", test.inputs[1]}, {"0.bias", test.inputs[2]}, {"0.running_mean", test.inputs[3]},
                      {"0.running_var", test.inputs[4]}};
    TrainingState state = pack_training_state(layout, tensors, name);
    std::vector<std::int32_t> labels(std::size_t(Net::input_shape.n()), 0);
    Tensor x = to_nhwc(test.inputs[0]);
    jit.step().set_parameters(state.parameters);
    jit.step().set_statistics(state.statistics);
    jit.step().run(jit, x.data.data(), labels.data(), {.learning_rate = 0, .momentum = 0, .weight_decay = 0});
    state.statistics = jit.step().statistics();

    Tensor y(dims_of(Net::input_shape));
    Halide::Buffer<float> y_buffer(y.data.data(), halide::halide_extents(Net::input_shape));
    Halide::Pipeline normalized(jit.backward_funcs(0).values[1]);
    normalized.set_jit_externs(halide::training_jit_externs());
    normalized.realize(y_buffer);
    std::string report;
    CHECK_MESSAGE(testing::agree(y, to_nhwc(test.output), 1e-5, report), name << " Y: " << report);
    for (int c = 0; c < int(Net::input_shape.c()); ++c) {
        double expected_var = onnx_momentum * old_var.data[std::size_t(c)] +
                              m / (m - 1) * (running_var.data[std::size_t(c)] - onnx_momentum * old_var.data[std::size_t(c)]);
        CHECK(state.statistics[std::size_t(layout.statistic(0, 2).offset + c)] ==
              doctest::Approx(running_mean.data[std::size_t(c)]).epsilon(1e-5));
        CHECK(state.statistics[std::size_t(layout.statistic(0, 3).offset + c)] == doctest::Approx(expected_var).epsilon(1e-5));
    }
}

TEST_CASE("ONNX BatchNormalization node tests, training mode") {
    batch_norm_training<Network<Input<2, 4, 5, 3>, BatchNorm<Momentum<0.1f>>, Flatten>>("test_batchnorm_example_training_mode");
    batch_norm_training<Network<Input<2, 4, 5, 3>, BatchNorm<Epsilon<1e-2f>, Momentum<0.1f>>, Flatten>>(
        "test_batchnorm_epsilon_training_mode");
}

TEST_CASE("ONNX Relu, Sigmoid and Tanh node tests") {
    activation_or_pool<Network<Input<3, 20>, ReLU>>("test_relu");
    activation_or_pool<Network<Input<3, 20>, Sigmoid>>("test_sigmoid");
    activation_or_pool<Network<Input<1, 3>, Sigmoid>>("test_sigmoid_example");
    activation_or_pool<Network<Input<3, 20>, Tanh>>("test_tanh");
    activation_or_pool<Network<Input<1, 3>, Tanh>>("test_tanh_example");
}

TEST_CASE("ONNX MaxPool node tests") {  // ONNX's strides default to 1, snc's to the window
    activation_or_pool<Network<Input<1, 32, 32, 3>, MaxPool<2, Stride<1>>>>("test_maxpool_2d_default");
    activation_or_pool<Network<Input<1, 28, 28, 3>, MaxPool<3, Stride<1>, Pad<2>>>>("test_maxpool_2d_pads");
    activation_or_pool<Network<Input<1, 5, 5, 1>, MaxPool<5, Stride<1>, Pad<2>>>>("test_maxpool_2d_precomputed_pads");
    activation_or_pool<Network<Input<1, 5, 5, 1>, MaxPool<3, Stride<2>, Same>>>("test_maxpool_2d_precomputed_same_upper");
    activation_or_pool<Network<Input<1, 5, 5, 1>, MaxPool<2, Stride<2>>>>("test_maxpool_2d_precomputed_strides");
    activation_or_pool<Network<Input<1, 32, 32, 3>, MaxPool<2, Stride<1>, Pads<1, 1, 0, 0>>>>("test_maxpool_2d_same_lower");
    activation_or_pool<Network<Input<1, 32, 32, 3>, MaxPool<2, Stride<1>, Same>>>("test_maxpool_2d_same_upper");
    activation_or_pool<Network<Input<1, 32, 32, 3>, MaxPool<5, Stride<3>>>>("test_maxpool_2d_strides");
}

TEST_CASE("ONNX AveragePool node tests") {
    activation_or_pool<Network<Input<1, 32, 32, 3>, AvgPool<2, Stride<1>>>>("test_averagepool_2d_default");
    activation_or_pool<Network<Input<1, 28, 28, 3>, AvgPool<3, Stride<1>, Pad<2>>>>("test_averagepool_2d_pads");
    activation_or_pool<Network<Input<1, 28, 28, 3>, AvgPool<3, Stride<1>, Pad<2>, CountIncludePad>>>(
        "test_averagepool_2d_pads_count_include_pad");
    activation_or_pool<Network<Input<1, 5, 5, 1>, AvgPool<5, Stride<1>, Pad<2>>>>("test_averagepool_2d_precomputed_pads");
    activation_or_pool<Network<Input<1, 5, 5, 1>, AvgPool<5, Stride<1>, Pad<2>, CountIncludePad>>>(
        "test_averagepool_2d_precomputed_pads_count_include_pad");
    activation_or_pool<Network<Input<1, 5, 5, 1>, AvgPool<3, Stride<2>, Same>>>("test_averagepool_2d_precomputed_same_upper");
    activation_or_pool<Network<Input<1, 5, 5, 1>, AvgPool<2, Stride<2>>>>("test_averagepool_2d_precomputed_strides");
    activation_or_pool<Network<Input<1, 32, 32, 3>, AvgPool<2, Stride<1>, Pads<1, 1, 0, 0>>>>("test_averagepool_2d_same_lower");
    activation_or_pool<Network<Input<1, 32, 32, 3>, AvgPool<2, Stride<1>, Same>>>("test_averagepool_2d_same_upper");
    activation_or_pool<Network<Input<1, 32, 32, 3>, AvgPool<5, Stride<3>>>>("test_averagepool_2d_strides");
}

TEST_CASE("ONNX GlobalAveragePool node tests") {
    activation_or_pool<Network<Input<1, 5, 5, 3>, GlobalAvgPool>>("test_globalaveragepool");
    activation_or_pool<Network<Input<1, 3, 3, 1>, GlobalAvgPool>>("test_globalaveragepool_precomputed");
}

TEST_CASE("ONNX Gemm node tests that are dense layers") {
    gemm<Network<Input<2, 10>, Dense<3, NoBias>>>("test_gemm_default_no_bias");
    gemm<Network<Input<2, 7>, Dense<4>>>("test_gemm_default_vector_bias");
    gemm<Network<Input<3, 5>, Dense<4>>>("test_gemm_default_zero_bias");
    gemm<Network<Input<3, 7>, Dense<3>>>("test_gemm_default_single_elem_vector_bias");
    gemm<Network<Input<2, 3>, Dense<4>>>("test_gemm_default_scalar_bias");
    gemm<Network<Input<3, 6>, Dense<4>>>("test_gemm_transposeA");
    gemm<Network<Input<3, 6>, Dense<4>>>("test_gemm_transposeB");
    gemm<Network<Input<3, 5>, Dense<4>>>("test_gemm_alpha");
    gemm<Network<Input<2, 7>, Dense<4>>>("test_gemm_beta");
    gemm<Network<Input<3, 4>, Dense<5>>>("test_gemm_all_attributes");
}

TEST_CASE("ONNX Flatten node tests on the batch axis") {
    flatten<Network<Input<2, 4, 5, 3>, Flatten>>("test_flatten_axis1");
    flatten<Network<Input<5, 3, 2, 4>, Flatten>>("test_flatten_default_axis");
    flatten<Network<Input<2, 4, 5, 3>, Flatten>>("test_flatten_negative_axis3");
}

TEST_CASE("ONNX Add node test, as a residual add") {
    add<Network<Input<3, 40>, Residual<Dense<20, NoBias>, Dense<20, NoBias>>>>("test_add");
}

TEST_CASE("every ONNX node test of snc's operators is either run or skipped with a reason") {
    const std::vector<std::string> families = {"test_conv_with", "test_conv_", "test_batchnorm", "test_relu",
                                               "test_sigmoid", "test_tanh", "test_maxpool", "test_averagepool",
                                               "test_globalaveragepool", "test_gemm", "test_add", "test_flatten"};
    std::size_t seen = 0;
    for (const auto& entry : std::filesystem::directory_iterator(node_tests)) {
        std::string name = entry.path().filename().string();
        bool in_family = false;
        for (const std::string& family : families) in_family = in_family || name.rfind(family, 0) == 0;
        if (!in_family || name.rfind("test_convinteger", 0) == 0 || name.rfind("test_convtranspose", 0) == 0 ||
            name.rfind("test_relu_", 0) == 0 || name.rfind("test_tanh_", 0) == 0 && name != "test_tanh_example")
            continue;
        ++seen;
        CHECK_MESSAGE((covered.count(name) || skipped.count(name)), name << " is neither run nor listed as skipped");
    }
    CHECK(seen == covered.size() + skipped.size());
    for (const auto& [name, reason] : skipped) MESSAGE("skipped " << name << ": " << reason);
}
