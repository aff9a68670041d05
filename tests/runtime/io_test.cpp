// Weights and data files: what is read, and what is refused with a message naming the file.
#include <cstring>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include <snc/io/idx.hpp>
#include <snc/io/npy.hpp>
#include <snc/io/safetensors.hpp>
#include <snc/nets/d2l.hpp>
#include <snc/weights.hpp>

namespace {
using namespace snc;

std::vector<char> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

// A safetensors file: the 8-byte length, then `header`, then `data_bytes` bytes of data.
std::vector<char> safetensors_bytes(const std::string& header, std::size_t data_bytes, std::uint64_t length_override = 0) {
    std::uint64_t length = length_override ? length_override : header.size();
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[std::size_t(i)] = char((length >> (8 * i)) & 0xff);
    bytes += header;
    bytes.append(data_bytes, '\0');
    return bytes_of(bytes);
}

std::string refusal_of_safetensors(const std::vector<char>& bytes) {
    try {
        io::parse_safetensors(bytes, "w.safetensors");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

std::string refusal_of_npy(const std::vector<char>& bytes) {
    try {
        io::parse_npy(bytes, "x.npy");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

std::filesystem::path scratch(const std::string& name) {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / ("snc_io_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return dir / name;
}
}  // namespace

TEST_CASE("safetensors round-trips, header padded to 8 bytes") {
    StateDict tensors;
    tensors["a.weight"] = Tensor({2, 3});
    for (int i = 0; i < 6; ++i) tensors["a.weight"].data[std::size_t(i)] = float(i) * 0.5f;
    tensors["b"] = Tensor({4});
    std::string path = scratch("round.safetensors").string();
    io::write_safetensors(path, tensors);
    std::vector<char> bytes = io::read_file(path);
    std::uint64_t length = 0;
    std::memcpy(&length, bytes.data(), 8);
    CHECK(length % 8 == 0);
    io::SafetensorsContents back = io::read_safetensors(path);
    CHECK(back.tensors.size() == 2);
    CHECK(back.tensors.at("a.weight").shape == std::vector<std::int64_t>{2, 3});
    CHECK(back.tensors.at("a.weight").data[5] == 2.5f);
    CHECK(!std::filesystem::exists(path + ".tmp-" + std::to_string(::getpid())));
}

TEST_CASE("a malformed safetensors file is refused with its name and the reason") {
    const std::string good = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    CHECK(refusal_of_safetensors(safetensors_bytes(good, 8)).empty());

    SUBCASE("shorter than the length prefix") {
        CHECK(refusal_of_safetensors(bytes_of("abc")).find("w.safetensors: not a valid safetensors file") == 0);
    }
    SUBCASE("header length past the end") {
        CHECK(refusal_of_safetensors(safetensors_bytes(good, 8, 1 << 20)).find("runs past the end") != std::string::npos);
    }
    SUBCASE("bad JSON") {
        CHECK(refusal_of_safetensors(safetensors_bytes("{\"w\": [1,", 0)).find("does not parse") != std::string::npos);
    }
    SUBCASE("truncated data") {
        CHECK(refusal_of_safetensors(safetensors_bytes(good, 4)).find("lie outside") != std::string::npos);
    }
    SUBCASE("offsets that do not match the shape") {
        std::string header = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
        CHECK(refusal_of_safetensors(safetensors_bytes(header, 8)).find("needs 12") != std::string::npos);
    }
    SUBCASE("overlapping tensors") {
        std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
        CHECK(refusal_of_safetensors(safetensors_bytes(header, 12)).find("overlap") != std::string::npos);
    }
    SUBCASE("a dtype other than F32 is refused by name") {
        std::string header = R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})";
        std::string why = refusal_of_safetensors(safetensors_bytes(header, 4));
        CHECK(why.find("tensor 'w' is F16") != std::string::npos);
    }
    SUBCASE("fields of the wrong kind") {
        std::string header = R"({"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})";
        CHECK(refusal_of_safetensors(safetensors_bytes(header, 8)).find("shape is not an array") != std::string::npos);
    }
    SUBCASE("a file that does not exist") {
        CHECK_THROWS_WITH_AS(io::read_safetensors("/nonexistent/w.safetensors"),
                             "/nonexistent/w.safetensors: cannot open the file", Error);
    }
}

TEST_CASE("weights that do not fit the network are refused, naming parameter, layer and shapes") {
    Graph graph = build_graph<nets::d2l::BNLeNet<>>();
    StateDict tensors = initial_state_dict(graph, 1);
    CHECK_NOTHROW(check_state_dict(graph, tensors, "w.safetensors"));

    SUBCASE("a wrong shape") {
        tensors["4.weight"] = Tensor({16, 6, 3, 3});
        CHECK_THROWS_WITH_AS(check_state_dict(graph, tensors, "w.safetensors"),
                             doctest::Contains("'4.weight' of layer 4 (Conv<16, 5>) has shape (16, 6, 3, 3) but the network needs (16, 6, 5, 5)"),
                             Error);
    }
    SUBCASE("missing and unexpected names are listed") {
        tensors.erase("13.running_var");
        tensors["16.weight"] = Tensor({1});
        std::string why;
        try {
            check_state_dict(graph, tensors, "w.safetensors");
        } catch (const Error& e) {
            why = e.what();
        }
        CHECK(why.find("w.safetensors: the weights do not fit the network") == 0);
        CHECK(why.find("1 missing: 13.running_var") != std::string::npos);
        CHECK(why.find("1 unexpected: 16.weight") != std::string::npos);
    }
}

TEST_CASE("npy files of float32 round-trip; anything else is refused by name") {
    Tensor tensor({2, 3, 1});
    for (int i = 0; i < 6; ++i) tensor.data[std::size_t(i)] = float(i);
    std::string path = scratch("x.npy").string();
    io::write_npy(path, tensor);
    Tensor back = io::read_npy(path);
    CHECK(back.shape == tensor.shape);
    CHECK(back.data == tensor.data);

    std::vector<char> good = io::read_file(path);
    CHECK(refusal_of_npy(bytes_of("PK\x03\x04 not numpy")).find("x.npy: not an .npy file") == 0);
    std::vector<char> doubles = good;
    std::string text(doubles.begin(), doubles.end());
    text.replace(text.find("<f4"), 3, "<f8");
    CHECK(refusal_of_npy(bytes_of(text)).find("holds '<f8' values") != std::string::npos);
    std::vector<char> truncated(good.begin(), good.end() - 4);
    CHECK(refusal_of_npy(truncated).find("x.npy: truncated") == 0);
    std::string fortran(good.begin(), good.end());
    fortran.replace(fortran.find("False"), 5, "True ");
    CHECK(refusal_of_npy(bytes_of(fortran)).find("Fortran order") != std::string::npos);
}

TEST_CASE("Fashion-MNIST's IDX files are read, and truncated ones refused with their name") {
    io::LabeledImages test = io::read_fashion_mnist("/usr/share/datasets/fashion-mnist", "t10k");
    CHECK(test.count == 10000);
    CHECK(test.rows == 28);
    CHECK(test.pixels.size() == 10000u * 28 * 28);

    std::filesystem::path dir = scratch("idx");
    std::filesystem::create_directories(dir);
    std::vector<char> images = io::read_file("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
    std::vector<char> labels = io::read_file("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
    std::ofstream((dir / "t10k-images-idx3-ubyte.gz").string(), std::ios::binary).write(images.data(), std::streamsize(images.size() / 2));
    std::ofstream((dir / "t10k-labels-idx1-ubyte.gz").string(), std::ios::binary).write(labels.data(), std::streamsize(labels.size()));
    CHECK_THROWS_WITH_AS(io::read_fashion_mnist(dir.string(), "t10k"),
                         doctest::Contains("t10k-images-idx3-ubyte.gz"), Error);
    CHECK_THROWS_WITH_AS(io::read_fashion_mnist("/nonexistent", "t10k"), doctest::Contains("no such file"), Error);
}
