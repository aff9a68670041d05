// Weights and data files: what is read, and what is refused with a message naming the file.
#include <sys/wait.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include <snc/io/idx.hpp>
#include <snc/io/npy.hpp>
#include <snc/io/safetensors.hpp>
#include <snc/nets/d2l.hpp>
#include <snc/weights.hpp>

#include "scratch.hpp"

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
    return snc::testing::scratch_directory("snc_io_test") / name;
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
        CHECK_THROWS_WITH_AS(io::read_safetensors("/nonexistent/w.safetensors"), "/nonexistent/w.safetensors: no such file", Error);
    }
    SUBCASE("a directory") {
        std::filesystem::path dir = scratch("a_directory.safetensors");
        std::filesystem::create_directories(dir);
        CHECK_THROWS_WITH_AS(io::read_safetensors(dir.string()), (dir.string() + ": is a directory, not a file").c_str(), Error);
    }
    SUBCASE("a tensor named twice (JSON lets the last win; a state_dict cannot)") {
        std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
        CHECK(refusal_of_safetensors(safetensors_bytes(header, 12)).find("the tensor 'w' appears twice") != std::string::npos);
    }
    SUBCASE("overlapping tensors with an empty one sorted between them") {
        std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[2,2]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
        CHECK(refusal_of_safetensors(safetensors_bytes(header, 12)).find("overlap") != std::string::npos);
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

namespace {
// A 6-byte .npy header claiming `shape`, and `data_bytes` bytes of data.
std::vector<char> npy_claiming(const std::string& shape, std::size_t data_bytes) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::string bytes = "\x93NUMPY\x01";
    bytes += '\0';
    bytes += char(header.size() & 0xff);
    bytes += char(header.size() >> 8);
    return bytes_of(bytes + header + std::string(data_bytes, '\0'));
}
}  // namespace

TEST_CASE("an .npy shape is checked against the file's length before anything is allocated") {
    // 3 KB claiming 1.2 GB: refused by arithmetic, not by a failed allocation.
    CHECK(refusal_of_npy(npy_claiming("(400000, 28, 28, 1)", 3000)).find("x.npy: truncated: its shape (400000, 28, 28, 1) needs 1254400000 bytes of data, the file has 3000") == 0);
    // 2^60 images: the element count would wrap to 0 in 64 bits.
    CHECK(refusal_of_npy(npy_claiming("(1152921504606846976, 28, 28, 1)", 16)).find("needs more than 2^64 bytes") != std::string::npos);
    CHECK(refusal_of_npy(npy_claiming("(2, 2)", 16)).empty());
    CHECK(refusal_of_npy(npy_claiming("(0, 28, 28, 1)", 0)).empty());
}

TEST_CASE("writing a file atomically leaves nothing behind when it fails or the program is killed meanwhile") {
    std::string target = scratch("atomic.bin").string();
    std::filesystem::remove(target);
    auto temporaries = [&] {
        int count = 0;
        for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(target).parent_path()))
            count += entry.path().filename().string().rfind("atomic.bin.tmp-", 0) == 0;
        return count;
    };
    SUBCASE("the writer throws") {
        CHECK_THROWS(io::write_file_atomically(target, [](std::ostream& out) {
            out << "half";
            throw std::runtime_error("interrupted");
        }));
        CHECK(!std::filesystem::exists(target));
    }
    SUBCASE("SIGTERM arrives while writing") {
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            io::write_file_atomically(target, [](std::ostream& out) {
                out << "half";
                out.flush();
                std::raise(SIGTERM);
            });
            std::_Exit(0);  // not reached: SIGTERM's default action ends the process
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        CHECK(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == SIGTERM);
        CHECK(!std::filesystem::exists(target));
    }
    SUBCASE("an output path is checked before any work: its directory exists, it is not a directory") {
        CHECK_THROWS_WITH_AS(io::check_output_path("/nonexistent/w.safetensors", "--save"),
                             "--save /nonexistent/w.safetensors: the directory /nonexistent does not exist", Error);
        CHECK_THROWS_WITH_AS(io::check_output_path(std::filesystem::temp_directory_path().string(), "--log"),
                             doctest::Contains("is a directory, not a file"), Error);
        CHECK_NOTHROW(io::check_output_path(target, "--save"));
    }
    CHECK(temporaries() == 0);
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
    CHECK_THROWS_WITH_AS(io::read_fashion_mnist("/nonexistent", "t10k"), doctest::Contains("/nonexistent: not a directory"), Error);
}

namespace {
std::vector<std::uint8_t> idx(std::uint32_t magic, std::vector<std::uint32_t> extents, std::size_t payload) {
    std::vector<std::uint8_t> bytes;
    for (std::uint32_t word : [&] { extents.insert(extents.begin(), magic); return extents; }())
        for (int shift : {24, 16, 8, 0}) bytes.push_back(std::uint8_t(word >> shift));
    bytes.resize(bytes.size() + payload, 1);
    return bytes;
}
std::string refusal_of_idx(const std::vector<std::uint8_t>& images, const std::vector<std::uint8_t>& labels) {
    try {
        io::parse_fashion_mnist(images, "images", labels, "labels");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("IDX files that are not Fashion-MNIST's are refused before any pixel is touched") {
    CHECK(refusal_of_idx(idx(0x803, {2, 28, 28}, 2 * 784), idx(0x801, {2}, 2)).empty());
    // rows and columns of 0 once crashed the resize of every program that read them
    CHECK(refusal_of_idx(idx(0x803, {5, 0, 0}, 0), idx(0x801, {5}, 5)) == "images: holds images of 0x0 pixels; Fashion-MNIST's are 28x28");
    CHECK(refusal_of_idx(idx(0x803, {5, 1, 1}, 5), idx(0x801, {5}, 5)).find("1x1 pixels") != std::string::npos);
    CHECK(refusal_of_idx(idx(0x803, {5, 28, 29}, 5 * 812), idx(0x801, {5}, 5)).find("28x29 pixels") != std::string::npos);
    // 24 bytes claiming 20000x20000 images once cost 1.5 GB
    CHECK(refusal_of_idx(idx(0x803, {1, 20000, 20000}, 8), idx(0x801, {1}, 1)).find("20000x20000 pixels") != std::string::npos);
    CHECK(refusal_of_idx(idx(0x803, {0, 28, 28}, 0), idx(0x801, {0}, 0)) == "images: holds no images");
    CHECK(refusal_of_idx(idx(0x803, {2, 28, 28}, 2 * 784), idx(0x801, {2}, 1)).find("labels: truncated") == 0);
    CHECK(refusal_of_idx(idx(0x803, {3, 28, 28}, 2 * 784), idx(0x801, {3}, 3)).find("images: truncated") == 0);
}
