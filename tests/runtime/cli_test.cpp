// The example programs, end to end: PyTorch's weights and inputs through the AOT-compiled BNLeNet,
// and bad input refused with a clear message, a non-zero exit and no output file.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <thread>
#include <tuple>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <doctest/doctest.h>

#include <snc/io/file.hpp>
#include <snc/io/npy.hpp>
#include <snc/io/safetensors.hpp>

#include "scratch.hpp"
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
    const std::filesystem::path dir = snc::testing::scratch_directory("snc_cli_test");
    std::filesystem::remove_all(dir / name);
    return (dir / name).string();
}

const std::string bnlenet = SNC_BNLENET_PROGRAM;

// An uncompressed IDX pair in `dir`: `count` images of rows x cols (pixels 7), labels 0..9.
std::string write_idx(const std::string& dir, const std::string& split, std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
    std::filesystem::create_directories(dir);
    auto words = [](std::ofstream& out, std::initializer_list<std::uint32_t> values) {
        for (std::uint32_t v : values)
            for (int shift : {24, 16, 8, 0}) out << char((v >> shift) & 0xff);
    };
    std::ofstream images(dir + "/" + split + "-images-idx3-ubyte", std::ios::binary);
    words(images, {0x803, count, rows, cols});
    images << std::string(std::size_t(count) * rows * cols, char(7));
    std::ofstream labels(dir + "/" + split + "-labels-idx1-ubyte", std::ios::binary);
    words(labels, {0x801, count});
    for (std::uint32_t i = 0; i < count; ++i) labels << char(i % 10);
    return dir;
}
}  // namespace

TEST_CASE("NaN and infinity in the input give what PyTorch gives: NaN in, NaN out; an infinite pixel stays finite") {
    std::string out = scratch("special_logits.npy");
    Run result = run(bnlenet + " --weights " + snc::testing::fixture("bnlenet.safetensors") + " --input " +
                     snc::testing::fixture("bnlenet_special_input.npy") + " --output " + out);
    REQUIRE_MESSAGE(result.status == 0, result.output);
    snc::Tensor got = snc::io::read_npy(out), want = snc::io::read_npy(snc::testing::fixture("bnlenet_special_expected.npy"));
    int nans = 0;
    for (float v : want.data) nans += std::isnan(v);
    CHECK(nans == 20);  // images 0 (a NaN pixel) and 2 (+inf beside -inf); 1 and 3 finite
    std::string report;
    CHECK_MESSAGE(snc::testing::agree(got, want, 2e-5, report), report);
}

TEST_CASE("snc-bnlenet refuses bad input with a message, a non-zero exit and no output file") {
    std::string out = scratch("never.npy");
    SUBCASE("an input of the wrong shape") {
        Run result = run(bnlenet + " --input " + snc::testing::fixture("narrow_resnet_input.npy") + " --output " + out);
        CHECK(result.status == 2);
        CHECK(result.output.find("narrow_resnet_input.npy: has shape (2, 32, 32, 3) but") != std::string::npos);
        CHECK(result.output.find("takes float32 (N, 28, 28, 1)") != std::string::npos);
    }
    SUBCASE("an input that is not an .npy file") {
        Run result = run(bnlenet + " --input " + snc::testing::fixture("bnlenet.safetensors") + " --output " + out);
        CHECK(result.status == 2);
        CHECK(result.output.find("bnlenet.safetensors: not an .npy file") != std::string::npos);
    }
    SUBCASE("a truncated weights file") {
        std::vector<char> bytes = snc::io::read_file(snc::testing::fixture("bnlenet.safetensors"));
        std::string truncated = scratch("truncated.safetensors");
        std::ofstream(truncated, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
        Run result = run(bnlenet + " --weights " + truncated + " --input " + snc::testing::fixture("bnlenet_input.npy") +
                         " --output " + out);
        CHECK(result.status == 2);
        CHECK(result.output.find("truncated.safetensors: not a valid safetensors file") != std::string::npos);
    }
    SUBCASE("the weights of another network") {
        Run result = run(bnlenet + " --weights " + snc::testing::fixture("narrow_resnet.safetensors") + " --input " +
                         snc::testing::fixture("bnlenet_input.npy") + " --output " + out);
        CHECK(result.status == 2);
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
        CHECK(result.status == 2);
        CHECK(result.output.find("t10k-images-idx3-ubyte.gz") != std::string::npos);
    }
    SUBCASE("an unknown option") {
        Run result = run(bnlenet + " --frobnicate");
        CHECK(result.status == 2);
        CHECK(result.output.find("unknown option or argument --frobnicate") != std::string::npos);
    }
    SUBCASE("a directory where a file belongs") {
        Run input = run(bnlenet + " --input " + std::string(SNC_FIXTURES_DIR) + " --output " + out);
        CHECK(input.status == 2);
        CHECK(input.output.find(std::string(SNC_FIXTURES_DIR) + ": is a directory, not a file") != std::string::npos);
        Run weights = run(bnlenet + " --weights " + std::string(SNC_FIXTURES_DIR) + " --idx");
        CHECK(weights.status == 2);
        CHECK(weights.output.find("is a directory, not a file") != std::string::npos);
    }
    SUBCASE("an .npy that claims 1.2 GB in 3 KB is refused before anything is allocated") {
        std::string claim = scratch("claims.npy");
        std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (400000, 28, 28, 1), }";
        while ((10 + header.size() + 1) % 64) header += ' ';
        header += '\n';
        std::ofstream file(claim, std::ios::binary);
        file << "\x93NUMPY\x01" << '\0' << char(header.size()) << '\0' << header << std::string(3000, '\0');
        file.close();
        // Under a 1 GB allocation limit an attempt to allocate would end in "out of memory". (ASan
        // reserves terabytes of address space, so under ASan its allocator sets the limit.)
#if defined(__SANITIZE_ADDRESS__)
        const std::string limit = "ASAN_OPTIONS=$ASAN_OPTIONS:max_allocation_size_mb=1000:allocator_may_return_null=1 ";
#else
        const std::string limit = "ulimit -v 1000000; ";
#endif
        Run result = run(limit + bnlenet + " --input " + claim + " --output " + out);
        CHECK(result.status == 2);
        CHECK(result.output.find("claims.npy: truncated: its shape (400000, 28, 28, 1) needs 1254400000 bytes") != std::string::npos);
    }
    SUBCASE("a safetensors file that names a tensor twice") {
        std::string twice = scratch("twice.safetensors");
        std::string header = R"({"0.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"0.weight":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
        std::ofstream file(twice, std::ios::binary);
        for (int i = 0; i < 8; ++i) file << char(i == 0 ? header.size() : 0);
        file << header << std::string(8, '\0');
        file.close();
        Run result = run(bnlenet + " --weights " + twice + " --idx");
        CHECK(result.status == 2);
        CHECK(result.output.find("twice.safetensors: not a valid safetensors file: the tensor '0.weight' appears twice") != std::string::npos);
    }
    SUBCASE("Fashion-MNIST files of another image size, or with no images") {
        for (auto [rows, cols, count, says] : {std::tuple{0, 0, 5, "holds images of 0x0 pixels"}, std::tuple{28, 29, 5, "holds images of 28x29 pixels"},
                                               std::tuple{1, 1, 5, "holds images of 1x1 pixels"}, std::tuple{28, 28, 0, "holds no images"}}) {
            std::string dir = write_idx(scratch("odd-idx"), "t10k", count, rows, cols);
            Run result = run(bnlenet + " --idx " + dir);
            CHECK(result.status == 2);
            CHECK_MESSAGE(result.output.find(std::string("t10k-images-idx3-ubyte: ") + says) != std::string::npos, result.output);
        }
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
        CHECK(result.status == 2);
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
        CHECK(result.status == 2);
        CHECK(result.output.find("train-labels-idx1-ubyte.gz") != std::string::npos);
    }
    SUBCASE("a bad option value, or one out of range") {
        for (auto [option, says] : {std::pair{"--lr fast", "--lr: needs a number above 0"},
                                    std::pair{"--threads 1e10", "--threads: needs a whole number from 1 to 1024, got '1e10'"},
                                    std::pair{"--epochs 1e10", "--epochs: needs a whole number from 1 to 100000"},
                                    std::pair{"--epochs 3e9", "--epochs: needs a whole number from 1 to 100000"},
                                    std::pair{"--population-stats 1e30", "--population-stats: needs a whole number from 0 to 1000000"},
                                    std::pair{"--momentum 1", "--momentum: needs a number from 0 to 0.9999"}}) {
            Run result = run(trainer + " " + option + " --save " + checkpoint);
            CHECK(result.status == 2);
            CHECK_MESSAGE(result.output.find(says) != std::string::npos, result.output);
            CHECK(result.output.find("epoch 1/") == std::string::npos);  // refused before any work
        }
    }
    SUBCASE("--save and --log into a directory that does not exist: refused before training") {
        for (const char* option : {"--save", "--log"}) {
            Run result = run(trainer + " --steps 1 " + option + " /nonexistent/out.file");
            CHECK(result.status == 2);
            CHECK(result.output.find(std::string(option) + ": /nonexistent/out.file: the directory /nonexistent does not exist") != std::string::npos);
            CHECK(result.output.find("epoch 1/") == std::string::npos);
        }
    }
    SUBCASE("a training split smaller than one batch") {
        std::string dir = write_idx(scratch("small-idx"), "train", 100, 28, 28);
        write_idx(dir, "t10k", 10, 28, 28);
        Run result = run(trainer + " --steps 1 --data " + dir + " --save " + checkpoint);
        CHECK(result.status == 2);
        CHECK(result.output.find("the training split holds 100 images, fewer than one batch of 128") != std::string::npos);
    }
    SUBCASE("training images of no pixels") {
        std::string dir = write_idx(scratch("empty-idx"), "train", 500, 0, 0);
        write_idx(dir, "t10k", 10, 28, 28);
        Run result = run(trainer + " --steps 1 --data " + dir + " --save " + checkpoint);
        CHECK(result.status == 2);
        CHECK(result.output.find("train-images-idx3-ubyte: holds images of 0x0 pixels") != std::string::npos);
    }
    CHECK(!std::filesystem::exists(checkpoint));
}

TEST_CASE("a log that cannot be written during training loses nothing: the weights are saved, the failure reported") {
    std::string log_dir = scratch("vanishing"), checkpoint = scratch("kept.safetensors");
    std::filesystem::create_directories(log_dir);
    // The directory passes the check before training, and is gone when the epoch's row is written.
    std::thread remover([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(700));
        std::filesystem::remove_all(log_dir);
    });
    Run result = run(trainer + " --steps 150 --population-stats 0 --log " + log_dir + "/metrics.csv --save " + checkpoint);
    remover.join();
    CHECK(result.status == 1);
    CHECK_MESSAGE(result.output.find("metrics.csv: cannot create") != std::string::npos, result.output);
    CHECK(result.output.find("test accuracy: ") != std::string::npos);
    CHECK(std::filesystem::exists(checkpoint));
}

// GPU targets. OpenCL runs here through PoCL on the CPU (scripts/setup installs it), so the GPU
// schedules' kernels are checked for what they compute; their speed on PoCL means nothing. CUDA is
// compiled into the programs (PTX for capability 7.0: SNC_CUDA_TARGET) and runs where a CUDA driver and GPU are.
namespace {
const std::string d2l_resnet18 = SNC_D2L_RESNET18_PROGRAM;
const std::string resnet18 = SNC_RESNET18_PROGRAM;

// Random pixels in [0, 1) of shape (n, h, w, c), written as .npy.
std::string random_images(const std::string& name, std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t c) {
    snc::Tensor images;
    images.shape = {n, h, w, c};
    images.data.resize(std::size_t(n * h * w * c));
    std::mt19937 random(7);
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    for (float& v : images.data) v = pixel(random);
    std::string path = scratch(name);
    snc::io::write_npy(path, images);
    return path;
}

// What a program run on `device` needs in its environment. Under ASan, LeakSanitizer's scan at
// exit crashes among PoCL's worker threads ("Tracer caught signal 11", exit 1 after a good run), so
// OpenCL runs skip the leak check; every CPU run keeps it.
std::string device_environment([[maybe_unused]] const std::string& device) {
#if defined(__SANITIZE_ADDRESS__)
    if (device == "opencl") return "ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 ";
#endif
    return "";
}

// The logits of `program` on `input` on `device`: status, output, and the logits when it ran.
std::pair<Run, snc::Tensor> classify(const std::string& program, const std::string& input, const std::string& device) {
    std::string out = scratch("logits_" + device + ".npy");
    Run result = run(device_environment(device) + program + " --device " + device + " --input " + input + " --output " + out);
    snc::Tensor logits;
    if (result.status == 0) logits = snc::io::read_npy(out);
    return {result, logits};
}
}  // namespace

TEST_CASE("the classifiers on OpenCL give the CPU's logits") {
    struct Case {
        std::string program, input;
    };
    for (const Case& c : {Case{bnlenet, snc::testing::fixture("bnlenet_input.npy")},
                          Case{d2l_resnet18, random_images("d2l_input.npy", 2, 96, 96, 1)},
                          Case{resnet18, random_images("resnet_input.npy", 1, 224, 224, 3)}}) {
        CAPTURE(c.program);
        auto [on_cpu, cpu_logits] = classify(c.program, c.input, "cpu");
        REQUIRE_MESSAGE(on_cpu.status == 0, on_cpu.output);
        CHECK(on_cpu.output.find(": on cpu") != std::string::npos);
        auto [on_opencl, opencl_logits] = classify(c.program, c.input, "opencl");
        REQUIRE_MESSAGE(on_opencl.status == 0, "OpenCL (PoCL, from scripts/setup) must run here:\n" << on_opencl.output);
        CHECK(on_opencl.output.find(": on opencl") != std::string::npos);
        std::string report;
        CHECK_MESSAGE(snc::testing::agree(opencl_logits, cpu_logits, 1e-4, report), report);
    }
}

TEST_CASE("CUDA is compiled in: it runs and agrees where it can, and is refused with the reason where it cannot") {
    // Every classifier carries CUDA (examples/CMakeLists.txt); a library without it refuses
    // SNC_DEVICE_CUDA as not compiled for it (tests/consumer/misuse.c).
    for (const std::string& program : {bnlenet, d2l_resnet18, resnet18}) {
        CAPTURE(program);
        // Halide embeds each CUDA kernel module as PTX text, LLVM's banner first.
        std::vector<char> binary = snc::io::read_file(program);
        CHECK(std::string_view(binary.data(), binary.size()).find("// Generated by LLVM NVPTX Back-End") != std::string_view::npos);
    }
    std::string input = snc::testing::fixture("bnlenet_input.npy");
    auto [on_cuda, cuda_logits] = classify(bnlenet, input, "cuda");
    if (on_cuda.status == 0) {
        auto [on_cpu, cpu_logits] = classify(bnlenet, input, "cpu");
        std::string report;
        CHECK_MESSAGE(snc::testing::agree(cuda_logits, cpu_logits, 1e-4, report), report);
    } else {
        CHECK(on_cuda.status == 2);
        CHECK_MESSAGE(on_cuda.output.rfind(bnlenet + ": --device cuda: CUDA cannot be used: ", 0) == 0, on_cuda.output);
        CHECK(std::count(on_cuda.output.begin(), on_cuda.output.end(), '\n') == 1);
    }
    Run unknown = run(bnlenet + " --device tpu --input " + input + " --output " + scratch("never.npy"));
    CHECK(unknown.status == 2);
    CHECK(!std::filesystem::exists(scratch("never.npy")));
}

TEST_CASE("a training step on OpenCL gives the CPU's weights and PyTorch's") {
    // PyTorch's fixture took one step on the first 128 training images in file order, with these
    // hyperparameters (tests/fixtures/make_fixtures.py).
    snc::StateDict pytorch = snc::io::read_safetensors(snc::testing::fixture("bnlenet_step_after.safetensors")).tensors;
    std::map<std::string, snc::StateDict> trained;
    std::map<std::string, double> loss, accuracy;
    for (std::string device : {"cpu", "opencl"}) {
        CAPTURE(device);
        std::string checkpoint = scratch("step_" + device + ".safetensors");
        Run result = run(device_environment(device) + trainer + " --device " + device +
                         " --steps 1 --no-shuffle --lr 0.1 --momentum 0.9 --weight-decay 5e-4" +
                         " --population-stats 0 --init " + snc::testing::fixture("bnlenet_step_initial.safetensors") +
                         " --save " + checkpoint);
        REQUIRE_MESSAGE(result.status == 0, result.output);
        CHECK(result.output.find(": on " + device) != std::string::npos);
        trained[device] = snc::io::read_safetensors(checkpoint).tensors;
        std::string line = last_line_with(result.output, "epoch 1/1: train loss ");
        REQUIRE_MESSAGE(!line.empty(), result.output);
        loss[device] = std::stod(line.substr(std::string("epoch 1/1: train loss ").size()));
        accuracy[device] = std::stod(last_line_with(result.output, "test accuracy: ").substr(15));
        for (const auto& [name, want] : pytorch) {
            CAPTURE(name);
            REQUIRE(trained[device].count(name) == 1);
            std::string report;
            CHECK_MESSAGE(snc::testing::agree(trained[device].at(name), want, 1e-4, report), report);
        }
    }
    snc::Tensor pytorch_loss = snc::io::read_npy(snc::testing::fixture("bnlenet_step_loss.npy"));
    CHECK(std::abs(loss["cpu"] - pytorch_loss.data[0]) <= 1e-4);  // printed to 4 digits
    CHECK(std::abs(loss["opencl"] - loss["cpu"]) <= 1e-4);
    CHECK(std::abs(accuracy["opencl"] - accuracy["cpu"]) <= 2e-4);  // the 10,000 test images through the inference library
    for (const auto& [name, weights] : trained["cpu"]) {
        CAPTURE(name);
        std::string report;
        CHECK_MESSAGE(snc::testing::agree(trained["opencl"].at(name), weights, 1e-4, report), report);
    }
}
