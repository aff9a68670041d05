// The example programs, end to end: PyTorch's weights and inputs through the AOT-compiled BNLeNet,
// and bad input refused with a clear message, a non-zero exit and no output file.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

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

namespace {
const std::string trainer = SNC_TRAIN_BNLENET_PROGRAM;

std::string last_line_with(const std::string& text, const std::string& start) {
    std::string found;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind(start, 0) == 0) found = line;
    return found;
}
}  // namespace

TEST_CASE("a trainer's checkpoint gives the trainer's test accuracy in the standalone classifier") {
    std::string checkpoint = scratch("bnlenet.safetensors"), log = scratch("metrics.csv");
    Run trained = run(trainer + " --steps 30 --threads 2 --save " + checkpoint + " --log " + log);
    REQUIRE_MESSAGE(trained.status == 0, trained.output);
    std::string trainer_says = last_line_with(trained.output, "test accuracy: ");
    REQUIRE(!trainer_says.empty());
    CHECK(trained.output.find("epoch 1/1: train loss ") != std::string::npos);
    CHECK(trained.output.find("img/s") != std::string::npos);

    Run classified = run(bnlenet + " --weights " + checkpoint + " --idx");
    REQUIRE_MESSAGE(classified.status == 0, classified.output);
    std::string classifier_says = last_line_with(classified.output, "test accuracy: ");
    double from_trainer = std::stod(trainer_says.substr(15)), from_classifier = std::stod(classifier_says.substr(15));
    CHECK(from_trainer > 0.5);  // 30 steps of BNLeNet already classify
    CHECK(std::abs(from_trainer - from_classifier) <= 0.001);

    std::vector<char> csv = snc::io::read_file(log);
    CHECK(std::string(csv.begin(), csv.end()).rfind("epoch,train_loss,train_accuracy,test_accuracy,seconds\n1,", 0) == 0);
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(checkpoint).parent_path()))
        CHECK_MESSAGE(entry.path().string().find(".tmp-") == std::string::npos, "left behind: " << entry.path());
}

TEST_CASE("training in file order is reproducible, and --init resumes from a checkpoint") {
    std::string first = scratch("first.safetensors"), second = scratch("second.safetensors");
    Run a = run(trainer + " --steps 3 --no-shuffle --population-stats 0 --save " + first);
    Run b = run(trainer + " --steps 3 --no-shuffle --population-stats 0 --save " + second);
    REQUIRE(a.status == 0);
    REQUIRE(b.status == 0);
    CHECK(snc::io::read_file(first) == snc::io::read_file(second));
    auto without_seconds = [](std::string line) { return line.substr(0, line.rfind(',')); };
    CHECK(without_seconds(last_line_with(a.output, "epoch 1/1: ")) == without_seconds(last_line_with(b.output, "epoch 1/1: ")));
    Run resumed = run(trainer + " --steps 3 --no-shuffle --init " + first);
    CHECK(resumed.status == 0);
}

TEST_CASE("a trainer refuses bad input with a message, a non-zero exit and no checkpoint") {
    std::string checkpoint = scratch("never.safetensors");
    SUBCASE("weights of another network") {
        Run result = run(trainer + " --steps 1 --init " + snc::testing::fixture("narrow_resnet.safetensors") + " --save " + checkpoint);
        CHECK(result.status == 1);
        CHECK(result.output.find("narrow_resnet.safetensors: the weights do not fit the network") != std::string::npos);
    }
    SUBCASE("a truncated dataset") {
        std::filesystem::path dir = std::filesystem::path(scratch("train-idx"));
        std::filesystem::create_directories(dir);
        for (const char* name : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                                 "t10k-labels-idx1-ubyte.gz"})
            std::filesystem::copy_file(std::filesystem::path("/usr/share/datasets/fashion-mnist") / name, dir / name,
                                       std::filesystem::copy_options::overwrite_existing);
        std::filesystem::resize_file(dir / "train-labels-idx1-ubyte.gz", 2000);
        Run result = run(trainer + " --steps 1 --data " + dir.string() + " --save " + checkpoint);
        CHECK(result.status == 1);
        CHECK(result.output.find("train-labels-idx1-ubyte.gz") != std::string::npos);
    }
    SUBCASE("a bad option value") {
        Run result = run(trainer + " --lr fast");
        CHECK(result.status == 2);
        CHECK(result.output.find("--lr needs a number") != std::string::npos);
    }
    CHECK(!std::filesystem::exists(checkpoint));
}
