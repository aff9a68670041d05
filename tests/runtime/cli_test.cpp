// The example programs, end to end: PyTorch's weights and inputs through the AOT-compiled BNLeNet,
// and bad input refused with a clear message, a non-zero exit and no output file.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include <snc/io/file.hpp>
#include <snc/io/npy.hpp>

#include "support.hpp"

namespace {
struct Run {
    int status;
    std::string output;
};

Run run(const std::string& command) {
    Run result{-1, ""};
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return result;
    char buffer[4096];
    while (std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) result.output.append(buffer, got);
    int status = ::pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

std::string scratch(const std::string& name) {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / ("snc_cli_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::filesystem::remove_all(dir / name);
    return (dir / name).string();
}

const std::string bnlenet = SNC_BNLENET_PROGRAM;
}  // namespace

TEST_CASE("snc-bnlenet with PyTorch's weights gives PyTorch's logits, any batch size") {
    std::string out = scratch("logits.npy");
    Run result = run(bnlenet + " --weights " + snc::testing::fixture("bnlenet.safetensors") + " --input " +
                     snc::testing::fixture("bnlenet_input.npy") + " --output " + out);
    REQUIRE_MESSAGE(result.status == 0, result.output);
    snc::Tensor got = snc::io::read_npy(out), want = snc::io::read_npy(snc::testing::fixture("bnlenet_expected.npy"));
    std::string report;
    CHECK_MESSAGE(snc::testing::agree(got, want, 2e-5, report), report);  // 4 images through a batch of 128
}

TEST_CASE("snc-bnlenet refuses bad input with a message, a non-zero exit and no output file") {
    std::string out = scratch("never.npy");
    SUBCASE("an input of the wrong shape") {
        Run result = run(bnlenet + " --input " + snc::testing::fixture("narrow_resnet_input.npy") + " --output " + out);
        CHECK(result.status == 1);
        CHECK(result.output.find("narrow_resnet_input.npy: has shape (2, 32, 32, 3) but") != std::string::npos);
        CHECK(result.output.find("takes float32 (N, 28, 28, 1)") != std::string::npos);
    }
    SUBCASE("an input that is not an .npy file") {
        Run result = run(bnlenet + " --input " + snc::testing::fixture("bnlenet.safetensors") + " --output " + out);
        CHECK(result.status == 1);
        CHECK(result.output.find("bnlenet.safetensors: not an .npy file") != std::string::npos);
    }
    SUBCASE("a truncated weights file") {
        std::vector<char> bytes = snc::io::read_file(snc::testing::fixture("bnlenet.safetensors"));
        std::string truncated = scratch("truncated.safetensors");
        std::ofstream(truncated, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
        Run result = run(bnlenet + " --weights " + truncated + " --input " + snc::testing::fixture("bnlenet_input.npy") +
                         " --output " + out);
        CHECK(result.status == 1);
        CHECK(result.output.find("truncated.safetensors: not a valid safetensors file") != std::string::npos);
    }
    SUBCASE("the weights of another network") {
        Run result = run(bnlenet + " --weights " + snc::testing::fixture("narrow_resnet.safetensors") + " --input " +
                         snc::testing::fixture("bnlenet_input.npy") + " --output " + out);
        CHECK(result.status == 1);
        CHECK(result.output.find("narrow_resnet.safetensors: the weights do not fit the network") != std::string::npos);
        CHECK(result.output.find("missing: 0.weight") != std::string::npos);
    }
    SUBCASE("a truncated dataset") {
        std::filesystem::path dir = std::filesystem::path(scratch("idx"));
        std::filesystem::create_directories(dir);
        std::vector<char> images = snc::io::read_file("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
        std::ofstream((dir / "t10k-images-idx3-ubyte.gz").string(), std::ios::binary).write(images.data(), 1000);
        std::filesystem::copy_file("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz",
                                   dir / "t10k-labels-idx1-ubyte.gz", std::filesystem::copy_options::overwrite_existing);
        Run result = run(bnlenet + " --idx " + dir.string());
        CHECK(result.status == 1);
        CHECK(result.output.find("t10k-images-idx3-ubyte.gz") != std::string::npos);
    }
    SUBCASE("an unknown option") {
        Run result = run(bnlenet + " --frobnicate");
        CHECK(result.status == 2);
        CHECK(result.output.find("unknown option --frobnicate") != std::string::npos);
    }
    CHECK(!std::filesystem::exists(out));
}

TEST_CASE("the standalone programs link no libHalide") {
    for (const std::string& program : {std::string(SNC_RESNET18_PROGRAM), bnlenet}) {
        Run result = run("ldd " + program);
        REQUIRE(result.status == 0);
        CHECK_MESSAGE(result.output.find("libHalide") == std::string::npos, program << " links:\n" << result.output);
    }
}
