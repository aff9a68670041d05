// One command line for every compiled classifier (snc-resnet18, snc-bnlenet, snc-d2l-resnet18):
//   --input X.npy      float32 (N, H, W, C) with any N; the compiled batch runs as often as needed
//   --output Y.npy     the logits, (N, classes)
//   --weights W.safetensors   a PyTorch state_dict to use instead of the embedded weights
//   --init-weights SEED       freshly initialized weights instead (for timing where no trained
//                             weights are at hand: the GPU benchmark's programs embed none)
//   --bench R          the median latency of R runs of one compiled batch, in ms (on the first
//                      batch of --input when given, else on random pixels)
//   --idx DIR          (Fashion-MNIST models) classify the test set and print the accuracy;
//                      DIR defaults to /usr/share/datasets/fashion-mnist
//   --threads T        worker threads (default: Halide's, all cores)
//   --device D         auto (default: a usable GPU, else the CPU), cpu, cuda, opencl; a device that
//                      cannot be used is refused (exit 2) with the reason, never fallen back from
// Exit codes: 0 done; 2 an option or an input file refused (one line names it); 1 a failure while
// running. NaN and infinity in the input go through as in PyTorch (a NaN in, NaNs out).
// Built once per model: SNC_MODEL names the model library's entry point (see snc_add_model).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <HalideBuffer.h>
#include <HalideRuntime.h>

#include <snc/data.hpp>
#include <snc/io/npy.hpp>
#include <snc/runtime/allocator.hpp>
#include <snc/runtime/devices.hpp>
#include <snc/runtime/huge_pages.hpp>
#include <snc/runtime/thread_pool.hpp>

#include <snc/cli.hpp>

#include SNC_MODEL_HEADER

#define SNC_PASTE2(a, b) a##b
#define SNC_PASTE(a, b) SNC_PASTE2(a, b)
#define SNC_CALL(suffix) SNC_PASTE(SNC_MODEL, suffix)
#define SNC_STRINGIZE2(a) #a
#define SNC_STRINGIZE(a) SNC_STRINGIZE2(a)

namespace {

struct Options {
    std::optional<std::string> input, output, weights, idx;
    std::optional<std::uint64_t> init_seed;
    int bench = 0;
    int threads = 0;
    std::string device = "auto";
};

// Returns the options, or exits: 0 after --help, 2 with one line after a mistake.
Options parse(int argc, char** argv) {
    Options o;
    std::string input, output, weights, idx;
    CLI::App app{"Runs the compiled network " SNC_STRINGIZE(SNC_MODEL) " on NHWC float32 images.", argv[0]};
    app.add_option("--input", input, "float32 .npy of (N, H, W, C), any N")->check(snc::cli::input_file);
    app.add_option("--output", output, "the logits as .npy (N, classes)")->check(snc::cli::output_file);
    app.add_option("--weights", weights, "a PyTorch state_dict as safetensors, instead of the embedded weights")
        ->check(snc::cli::input_file);
    std::uint64_t init_seed = 0;
    CLI::Option* init_option =
        app.add_option("--init-weights", init_seed, "freshly initialized weights from this seed (PyTorch's initialization)")
            ->check(snc::cli::whole_number(0, 1000000000000));
    init_option->excludes("--weights");
    app.add_option("--bench", o.bench, "time R runs of one compiled batch, print the median")->check(snc::cli::whole_number(1, 1000000));
    app.add_option("--threads", o.threads, "worker threads (default: all cores)")->check(snc::cli::whole_number(1, 1024));
    app.add_option("--device", o.device, "where to run: auto (a GPU when one is usable, else the CPU), cpu, cuda, opencl")
        ->check(CLI::IsMember({"auto", "cpu", "cuda", "opencl"}))
        ->capture_default_str();
    CLI::Option* idx_option = nullptr;
    if (SNC_FASHION_MNIST)
        idx_option = app.add_option("--idx", idx, "classify Fashion-MNIST's test set in DIR and print the accuracy")
                         ->expected(0, 1)
                         ->check(snc::cli::input_directory);
    if (int code = snc::cli::parse(app, argc, argv); code >= 0) std::exit(code);
    auto given = [&](const char* name) { return app.count(name) > 0; };
    if (given("--input")) o.input = input;
    if (given("--output")) o.output = output;
    if (given("--weights")) o.weights = weights;
    if (init_option->count()) o.init_seed = init_seed;
    if (idx_option && idx_option->count()) o.idx = idx.empty() ? "/usr/share/datasets/fashion-mnist" : idx;
    auto refuse = [&](const std::string& why) {
        std::cerr << argv[0] << ": " << why << "\n";
        std::exit(2);
    };
    if (!o.input && !o.bench && !o.idx) {
        if (SNC_FASHION_MNIST) o.idx = "/usr/share/datasets/fashion-mnist";
        else refuse("nothing to do: give --input, --bench or both (see --help)");
    }
    if (o.output && !o.input) refuse("--output needs --input");
    return o;
}

std::vector<int> halide_extents(const int64_t* shape, int rank) {
    std::vector<int> extents;
    for (int d = rank - 1; d >= 0; --d) extents.push_back(int(shape[d]));
    return extents;
}

std::string shape_text(const int64_t* shape, int rank, bool any_batch) {
    std::string text = "(";
    for (int d = 0; d < rank; ++d) text += (d ? ", " : "") + (d == 0 && any_batch ? std::string("N") : std::to_string(shape[d]));
    return text + ")";
}

// The compiled network with its weights: embedded, packed from --weights, or initialized.
class Model {
public:
    Model(const std::optional<std::string>& weights_file, std::optional<std::uint64_t> init_seed) {
        if (!weights_file && !init_seed) {
#if SNC_EMBEDDED_WEIGHTS
            return;
#else
            throw snc::Error("this program has no embedded weights: give --weights W.safetensors (or --init-weights SEED)");
#endif
        }
        packed_ = snc::runtime::HugePageFloats(std::size_t(SNC_CALL(_packed_weight_count)()));
        if (packed_.empty())
            throw snc::Error("cannot allocate " + std::to_string(SNC_CALL(_packed_weight_count)() * 4 >> 20) + " MB for the packed weights");
        char error[4096];
        if (weights_file ? SNC_CALL(_pack_weights)(weights_file->c_str(), packed_.data(), int64_t(packed_.size()), error, sizeof error)
                         : SNC_CALL(_pack_initial_weights)(*init_seed, packed_.data(), int64_t(packed_.size()), error, sizeof error))
            throw snc::Error(error);
    }

    void run(Halide::Runtime::Buffer<float>& input, Halide::Runtime::Buffer<float>& output) {
        int result = 0;
        if (packed_.empty()) {
#if SNC_EMBEDDED_WEIGHTS
            result = SNC_MODEL(input, output);
#endif
        } else {
            Halide::Runtime::Buffer<float> weights(packed_.data(), int(packed_.size()));
            result = SNC_CALL(_with_weights)(input, weights, output);
        }
        if (result != 0) {
            const int device = SNC_CALL(_device)();
            std::string failure = "the compiled network failed on " + std::string(snc::runtime::device_name(device)) +
                                  " (snc status " + std::to_string(result) + "): " + SNC_CALL(_last_error)();
            // A device builds its kernels on the first call: failing there, it cannot be used (exit 2).
            if (device != SNC_DEVICE_CPU && !ran_)
                throw snc::Error(std::string(snc::runtime::device_label(device)) + " cannot be used: " + failure);
            throw std::runtime_error(failure);
        }
        ran_ = true;
    }

private:
    snc::runtime::HugePageFloats packed_;
    bool ran_ = false;
};

// Runs the compiled batch over all N rows of `inputs`, the last batch padded with zeros.
snc::Tensor classify_all(Model& model, const snc::Tensor& inputs) {
    const int64_t batch = SNC_CALL(_input_shape)[0];
    const int64_t in_row = SNC_CALL(_input_shape)[1] * (SNC_CALL(_input_rank) == 4 ? SNC_CALL(_input_shape)[2] * SNC_CALL(_input_shape)[3] : 1);
    const int64_t out_row = SNC_CALL(_output_shape)[1];
    const int64_t n = inputs.shape[0];
    Halide::Runtime::Buffer<float> in(halide_extents(SNC_CALL(_input_shape), SNC_CALL(_input_rank)));
    Halide::Runtime::Buffer<float> out(halide_extents(SNC_CALL(_output_shape), SNC_CALL(_output_rank)));
    snc::Tensor logits({n, out_row});
    for (int64_t first = 0; first < n; first += batch) {
        int64_t rows = std::min(batch, n - first);
        std::fill(in.data(), in.data() + in.number_of_elements(), 0.0f);
        std::copy_n(inputs.data.data() + first * in_row, rows * in_row, in.data());
        model.run(in, out);
        std::copy_n(out.data(), rows * out_row, logits.data.data() + first * out_row);
    }
    return logits;
}

snc::Tensor read_input(const std::string& path, const char* program) {
    snc::Tensor tensor = snc::io::read_npy(path);
    const int rank = SNC_CALL(_input_rank);
    bool fits = int(tensor.shape.size()) == rank && tensor.shape[0] >= 1;
    for (int d = 1; fits && d < rank; ++d) fits = tensor.shape[std::size_t(d)] == SNC_CALL(_input_shape)[d];
    if (!fits)
        throw snc::Error(path + ": has shape " + snc::dims_text(tensor.shape) + " but " + program + " takes float32 " +
                         shape_text(SNC_CALL(_input_shape), rank, true) + (rank == 4 ? " in NHWC order" : ""));
    return tensor;
}

void benchmark(Model& model, int runs, const snc::Tensor* inputs) {
    Halide::Runtime::Buffer<float> in(halide_extents(SNC_CALL(_input_shape), SNC_CALL(_input_rank)));
    Halide::Runtime::Buffer<float> out(halide_extents(SNC_CALL(_output_shape), SNC_CALL(_output_rank)));
    std::mt19937 random(1);
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    std::generate(in.data(), in.data() + in.number_of_elements(), [&] { return uniform(random); });
    if (inputs)
        std::copy_n(inputs->data.data(), std::min<std::size_t>(inputs->data.size(), std::size_t(in.number_of_elements())), in.data());
    model.run(in, out);  // warm-up: first-touch of buffers, thread pool start
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        auto start = std::chrono::steady_clock::now();
        model.run(in, out);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    double median = ms[ms.size() / 2];
    std::cout << "median latency: " << median << " ms per batch of " << SNC_CALL(_input_shape)[0] << " (" << runs
              << " runs, min " << ms.front() << " ms, " << 2e-6 * double(SNC_CALL(_multiply_adds)()) / median
              << " GFLOP/s)\n";
}

#if SNC_FASHION_MNIST
void evaluate_fashion_mnist(Model& model, const std::string& dir) {
    snc::io::LabeledImages test = snc::io::read_fashion_mnist(dir, "t10k");
    const int64_t h = SNC_CALL(_input_shape)[1], w = SNC_CALL(_input_shape)[2];
    snc::Tensor images({test.count, h, w, 1});
    std::vector<int64_t> order(std::size_t(test.count));
    std::iota(order.begin(), order.end(), 0);
    snc::fill_batch(test, order.data(), test.count, images);
    snc::Tensor logits = classify_all(model, images);
    const int64_t classes = logits.shape[1];
    int64_t correct = 0;
    for (int64_t i = 0; i < test.count; ++i) {
        const float* row = logits.data.data() + i * classes;
        correct += std::max_element(row, row + classes) - row == test.labels[std::size_t(i)];
    }
    std::printf("test accuracy: %.4f (%lld of %lld Fashion-MNIST test images)\n", double(correct) / double(test.count),
                static_cast<long long>(correct), static_cast<long long>(test.count));
}
#endif

}  // namespace

int main(int argc, char** argv) {
    Options options = parse(argc, argv);
    if (options.threads) halide_set_num_threads(options.threads);
    snc::runtime::cache_pipeline_allocations();
    snc::runtime::run_parallel_loops_in_bands(options.threads);  // each thread the same band of every stage
    char why[4096];
    if (SNC_CALL(_set_device)(*snc::runtime::parse_device(options.device), why, sizeof why) != 0) {
        std::cerr << argv[0] << ": --device " << options.device << ": " << why << "\n";
        return 2;
    }
    std::cerr << argv[0] << ": on " << snc::runtime::device_name(SNC_CALL(_device)()) << "\n";
    try {
        Model model(options.weights, options.init_seed);
        snc::Tensor inputs;
        if (options.input) {
            inputs = read_input(*options.input, argv[0]);
            snc::Tensor logits = classify_all(model, inputs);
            if (options.output) {
                snc::io::write_npy(*options.output, logits);
            } else if (!options.bench) {
                const int64_t classes = logits.shape[1];
                for (int64_t i = 0; i < logits.shape[0]; ++i) {
                    const float* row = logits.data.data() + i * classes;
                    std::cout << "image " << i << ": class " << (std::max_element(row, row + classes) - row) << "\n";
                }
            }
        }
#if SNC_FASHION_MNIST
        if (options.idx) evaluate_fashion_mnist(model, *options.idx);
#endif
        if (options.bench) benchmark(model, options.bench, options.input ? &inputs : nullptr);
    } catch (const snc::Error& e) {  // a file refused
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 2;
    } catch (const std::bad_alloc&) {
        std::cerr << argv[0] << ": out of memory\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}
