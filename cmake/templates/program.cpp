// The program `snc compile` builds around one model (the library "model", its C header model.h):
//   PROGRAM [--input X.npy] [--output Y.npy] [--layout nchw|nhwc] [--bench N] [--threads T]
//           [--device auto|cpu|cuda|opencl]
// reads the input (the model's own layout by default: NCHW for a PyTorch export), runs the model,
// writes the output as .npy (atomically) or prints each sample's top classes; --bench N times N
// runs after one untimed run. Exit codes: 0 done; 1 the run failed; 2 an option or a file refused.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include <HalideBuffer.h>

#include <snc/io/npy.hpp>

#include "model.h"

#ifndef SNC_PROGRAM_LAYOUT
#define SNC_PROGRAM_LAYOUT "nchw"
#endif
#ifndef SNC_PROGRAM_SOURCE
#define SNC_PROGRAM_SOURCE "the model"
#endif

namespace {

const char* program = "program";

[[noreturn]] void refuse(const std::string& message) {
    std::fprintf(stderr, "%s: %s\n", program, message.c_str());
    std::exit(2);
}

struct Options {
    std::string input, output, layout = SNC_PROGRAM_LAYOUT, device = "auto";
    int bench = 0, threads = 0;
};

int whole_number(const std::string& option, const char* text, int low, int high) {
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (!*text || *end || value < low || value > high)
        refuse(option + " takes a whole number from " + std::to_string(low) + " to " + std::to_string(high) + ", not '" + text + "'");
    return int(value);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string option = argv[i];
        if (option == "--help" || option == "-h") {
            std::printf("%s: %s compiled by snc\n"
                        "usage: %s [--input X.npy] [--output Y.npy] [--layout nchw|nhwc] [--bench N] [--threads T] [--device auto|cpu|cuda|opencl]\n"
                        "  --input    the input, float32 .npy (default: random values in [0, 1))\n"
                        "  --output   where to write the output, float32 .npy (default: print each sample's top classes)\n"
                        "  --layout   the input's layout, nchw (PyTorch's; the default) or nhwc (snc's)\n"
                        "  --bench    time N runs after one untimed run\n"
                        "  --threads  threads (default: every core)\n"
                        "  --device   where to run (default auto: a usable GPU the program was compiled for, else the CPU)\n",
                        program, SNC_PROGRAM_SOURCE, program);
            std::exit(0);
        }
        if (i + 1 >= argc) refuse(option + (option.rfind("--", 0) == 0 ? " needs a value" : ": not an option (see --help)"));
        const char* value = argv[++i];
        if (option == "--input") o.input = value;
        else if (option == "--output") o.output = value;
        else if (option == "--layout") o.layout = value;
        else if (option == "--device") o.device = value;
        else if (option == "--bench") o.bench = whole_number(option, value, 1, 1000000);
        else if (option == "--threads") o.threads = whole_number(option, value, 1, 1024);
        else refuse(option + ": not an option (see --help)");
    }
    if (o.layout != "nchw" && o.layout != "nhwc") refuse("--layout is nchw or nhwc, not '" + o.layout + "'");
    return o;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string text = "(";
    for (std::size_t k = 0; k < shape.size(); ++k) text += (k ? ", " : "") + std::to_string(shape[k]);
    return text + ")";
}

std::vector<std::int64_t> model_shape(const int64_t* dims, int rank) { return std::vector<std::int64_t>(dims, dims + rank); }

// An NHWC output as NCHW (rank 2 is the same in both); the input goes to model_from_nchw as it is.
std::vector<float> to_nchw(const std::vector<float>& nhwc, const std::vector<std::int64_t>& s) {
    const std::int64_t n = s[0], h = s[1], w = s[2], c = s[3];
    std::vector<float> out(nhwc.size());
    for (std::int64_t b = 0; b < n; ++b)
        for (std::int64_t k = 0; k < c; ++k)
            for (std::int64_t y = 0; y < h; ++y)
                for (std::int64_t x = 0; x < w; ++x) out[std::size_t(((b * c + k) * h + y) * w + x)] = nhwc[std::size_t(((b * h + y) * w + x) * c + k)];
    return out;
}
std::vector<std::int64_t> nchw_of(const std::vector<std::int64_t>& s) { return s.size() == 4 ? std::vector<std::int64_t>{s[0], s[3], s[1], s[2]} : s; }

std::vector<int> halide_extents(const std::vector<std::int64_t>& shape) { return std::vector<int>(shape.rbegin(), shape.rend()); }

}  // namespace

int main(int argc, char** argv) {
    program = argv[0];
    const Options options = parse(argc, argv);
    const std::vector<std::int64_t> in_shape = model_shape(model_input_shape, model_input_rank);
    const std::vector<std::int64_t> out_shape = model_shape(model_output_shape, model_output_rank);
    const bool nchw = options.layout == "nchw" && in_shape.size() == 4;

    std::vector<float> input;
    if (!options.input.empty()) {
        try {
            snc::Tensor file = snc::io::read_npy(options.input);
            const std::vector<std::int64_t> wanted = nchw ? nchw_of(in_shape) : in_shape;
            if (file.shape != wanted)
                refuse(options.input + ": its shape is " + shape_text(file.shape) + "; the model takes " + shape_text(wanted) + " (" +
                       (in_shape.size() == 4 ? options.layout : std::string("N, F")) + ")" +
                       (in_shape.size() == 4 && file.shape == (nchw ? in_shape : nchw_of(in_shape)) ? ": give --layout " + std::string(nchw ? "nhwc" : "nchw") : ""));
            input = std::move(file.data);
        } catch (const std::exception& e) {
            refuse(e.what());
        }
    } else {
        std::mt19937 random(1);
        std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
        std::size_t count = 1;
        for (std::int64_t d : in_shape) count *= std::size_t(d);
        input.resize(count);
        for (float& v : input) v = uniform(random);
    }

    if (model_set_threads(options.threads) != SNC_OK) refuse(model_last_error());
    if (options.device != "auto") {
        const int device = options.device == "cpu" ? SNC_DEVICE_CPU : options.device == "cuda" ? SNC_DEVICE_CUDA
                         : options.device == "opencl" ? SNC_DEVICE_OPENCL : -1;
        if (device < 0) refuse("--device is auto, cpu, cuda or opencl, not '" + options.device + "'");
        char error[512];
        if (model_set_device(device, error, sizeof error)) refuse(error);
    }

    std::size_t out_count = 1;
    for (std::int64_t d : out_shape) out_count *= std::size_t(d);
    std::vector<float> output(out_count);
    // The input as it came: NCHW through the library's NCHW entry, NHWC through its own.
    Halide::Runtime::Buffer<float> in(input.data(), halide_extents(nchw ? nchw_of(in_shape) : in_shape));
    Halide::Runtime::Buffer<float> out(output.data(), halide_extents(out_shape));
    auto run = [&] { return nchw ? model_from_nchw(in, out) : model(in, out); };
    if (run()) {
        std::fprintf(stderr, "%s: %s\n", program, model_last_error());
        return 1;
    }
    if (options.bench) {
        std::vector<double> times;
        for (int k = 0; k < options.bench; ++k) {
            const auto start = std::chrono::steady_clock::now();
            if (run()) {
                std::fprintf(stderr, "%s: %s\n", program, model_last_error());
                return 1;
            }
            times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        }
        std::sort(times.begin(), times.end());
        const double median = times[times.size() / 2];
        std::printf("%s: median %.3f ms, fastest %.3f ms over %d runs (batch %lld, %s), %.1f GFLOP/s effective, %.1f GB/s effective\n",
                    program, median, times.front(), options.bench, (long long)in_shape[0],
                    options.threads ? (std::to_string(options.threads) + " threads").c_str() : "every core",
                    2e-6 * double(model_multiply_adds()) / median, 1e-6 * double(model_traffic_bytes()) / median);
    }
    if (!options.output.empty()) {
        snc::Tensor result(nchw && out_shape.size() == 4 ? nchw_of(out_shape) : out_shape);
        result.data = nchw && out_shape.size() == 4 ? to_nchw(output, out_shape) : output;
        try {
            snc::io::write_npy(options.output, result);
        } catch (const std::exception& e) {
            refuse(e.what());
        }
    } else if (!options.bench) {
        const std::int64_t per_sample = std::int64_t(out_count) / out_shape[0];
        for (std::int64_t b = 0; b < out_shape[0]; ++b) {
            std::vector<std::int64_t> order(static_cast<std::size_t>(per_sample));
            for (std::int64_t k = 0; k < per_sample; ++k) order[std::size_t(k)] = k;
            const float* row = output.data() + b * per_sample;
            const std::size_t top = std::min<std::size_t>(5, order.size());
            std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(top), order.end(), [&](auto a, auto c) { return row[a] > row[c]; });
            std::printf("sample %lld:", (long long)b);
            for (std::size_t k = 0; k < top; ++k) std::printf(" %lld (%.4g)", (long long)order[k], row[order[k]]);
            std::printf("\n");
        }
    }
    return 0;
}
