// One command line for every trainer (snc-train-bnlenet, snc-train-lenet, snc-train-d2l-resnet18,
// snc-train-fashion-cnn), each built from its network type:
//   --data DIR            Fashion-MNIST's IDX files (default /usr/share/datasets/fashion-mnist)
//   --epochs E            epochs (default 10)         --steps S        stop after S optimizer steps
//   --lr LR               learning rate (default 0.1) --momentum M     (default 0)
//   --weight-decay WD     (default 0)                 --seed N         initialization and shuffling (0)
//   --no-shuffle          batches in file order       --threads T      worker threads
//   --init W.safetensors  start from these weights (PyTorch's names, as the inference compiler's)
//   --save W.safetensors  the trained weights, written to a temporary file and renamed
//   --log metrics.csv     one row per epoch           --plot curves.png  loss and accuracies, by gnuplot
//   --schedule S          constant (default) or cosine: lr * (1 + cos(pi * step / steps)) / 2
//   --augment             random left-right flips and shifts of up to 2 pixels
//   --population-stats B  before each evaluation, set every BatchNorm's statistics to their mean over B
//                         training batches (default 100; 0 keeps PyTorch's running averages)
// Exit codes: 0 done; 2 an option or an input file refused (one line names it); 1 a failure while
// running (the loss diverged, a log could not be written: the weights are still saved).
// The batch size is the network's, fixed when it was compiled. The last incomplete batch of an
// epoch is dropped, as d2l does. Pixels are scaled to [0, 1] and, for networks that read more than
// 28x28, resized bilinearly.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <HalideBuffer.h>
#include <HalideRuntime.h>

#include <snc/data.hpp>
#include <snc/io/file.hpp>
#include <snc/io/safetensors.hpp>
#include <snc/runtime/allocator.hpp>
#include <snc/runtime/aot_training.hpp>
#include <snc/runtime/devices.hpp>
#include <snc/runtime/population.hpp>
#include <snc/runtime/thread_pool.hpp>
#include <snc/runtime/training_step.hpp>

#include <snc/cli.hpp>

#include SNC_NETWORK_HEADER
#include SNC_STEP_HEADER
#include SNC_INFERENCE_HEADER
#include SNC_INFERENCE_PACKING_HEADER

#define SNC_PASTE2(a, b) a##b
#define SNC_PASTE(a, b) SNC_PASTE2(a, b)


namespace {

using Network = SNC_NETWORK;
static_assert(Network::input_shape.rank == 4 && Network::input_shape.dims[3] == 1,
              "the trainers read Fashion-MNIST: the network must take (N, H, W, 1) images");
static_assert(Network::output_shape.rank == 2 && Network::output_shape.dims[1] == 10,
              "the trainers read Fashion-MNIST: the network must end in 10 logits");

constexpr std::int64_t batch = Network::input_shape.dims[0];
constexpr std::int64_t height = Network::input_shape.dims[1], width = Network::input_shape.dims[2];

struct Options {
    std::string data = "/usr/share/datasets/fashion-mnist";
    int epochs = 10;
    std::int64_t steps = -1;
    float lr = 0.1f, momentum = 0.0f, weight_decay = 0.0f;
    std::uint64_t seed = 0;
    bool no_shuffle = false;
    bool cosine = false;
    bool augment = false;
    int threads = 0;
    std::int64_t population_batches = 100;
    std::optional<std::string> init, save, log, plot;
    std::string device = "auto";
};

// Returns the options, or exits: 0 after --help, 2 with one line after a mistake.
Options parse(int argc, char** argv) {
    Options o;
    std::string schedule = "constant", init, save, log, plot;
    CLI::App app{"Trains the network on Fashion-MNIST with the compiled training step.", argv[0]};
    app.add_option("--data", o.data, "Fashion-MNIST's IDX files")->check(snc::cli::input_directory)->capture_default_str();
    app.add_option("--epochs", o.epochs, "epochs")->check(snc::cli::whole_number(1, 100000))->capture_default_str();
    app.add_option("--steps", o.steps, "stop after this many optimizer steps")->check(snc::cli::whole_number(1, 1000000000000));
    app.add_option("--lr", o.lr, "learning rate")->check(snc::cli::real_number(0, 100, true))->capture_default_str();
    app.add_option("--momentum", o.momentum, "SGD momentum, below 1")->check(snc::cli::real_number(0, 0.9999))->capture_default_str();
    app.add_option("--weight-decay", o.weight_decay, "L2 weight decay")->check(snc::cli::real_number(0, 1))->capture_default_str();
    app.add_option("--seed", o.seed, "initialization, shuffling, augmentation and dropout")
        ->check(snc::cli::whole_number(0, std::int64_t(1) << 62))
        ->capture_default_str();
    app.add_flag("--no-shuffle", o.no_shuffle, "batches in file order");
    app.add_option("--threads", o.threads, "worker threads (default: all cores)")->check(snc::cli::whole_number(1, 1024));
    app.add_option("--init", init, "start from these weights (PyTorch's names)")->check(snc::cli::input_file);
    app.add_option("--save", save, "the trained weights, as safetensors")->check(snc::cli::output_file);
    app.add_option("--log", log, "one CSV row per epoch")->check(snc::cli::output_file);
    app.add_option("--plot", plot, "loss and accuracies by gnuplot, PNG")->check(snc::cli::output_file);
    app.add_option("--schedule", schedule, "constant, or cosine: lr (1 + cos(pi step / steps)) / 2")
        ->check(CLI::IsMember({"constant", "cosine"}))
        ->capture_default_str();
    app.add_flag("--augment", o.augment, "random left-right flips and shifts of up to 2 pixels");
    app.add_option("--population-stats", o.population_batches,
                   "before each evaluation, set every BatchNorm's statistics to their mean over B training batches (0: keep "
                   "PyTorch's running averages)")
        ->check(snc::cli::whole_number(0, 1000000))
        ->capture_default_str();
    app.add_option("--device", o.device, "where to train: auto (a GPU when one is usable, else the CPU), cpu, cuda, opencl")
        ->check(CLI::IsMember({"auto", "cpu", "cuda", "opencl"}))
        ->capture_default_str();
    if (int code = snc::cli::parse(app, argc, argv); code >= 0) std::exit(code);
    o.cosine = schedule == "cosine";
    if (app.count("--init")) o.init = init;
    if (app.count("--save")) o.save = save;
    if (app.count("--log")) o.log = log;
    if (app.count("--plot")) o.plot = plot;
    return o;
}

std::vector<int> extents_of(const snc::Shape& shape) {
    std::vector<int> e;
    for (int d = shape.rank - 1; d >= 0; --d) e.push_back(int(shape.dims[d]));
    return e;
}

struct EpochRecord {
    int epoch;
    double train_loss, train_accuracy, test_accuracy, seconds;
};

// Test accuracy with the inference pipeline: batch norm folded with the running statistics.
double test_accuracy(const snc::Plan& plan, const snc::StateDict& weights, const snc::io::LabeledImages& test) {
    std::vector<float> packed = snc::pack_inference_weights(plan, weights, "the trained weights");
    Halide::Runtime::Buffer<float> w(packed.data(), int(packed.size()));
    Halide::Runtime::Buffer<float> out(extents_of(Network::output_shape));
    snc::Tensor images({batch, height, width, 1});
    Halide::Runtime::Buffer<float> in(images.data.data(), extents_of(Network::input_shape));
    std::vector<std::int64_t> order(std::size_t(test.count));
    std::iota(order.begin(), order.end(), 0);
    std::int64_t correct = 0;
    for (std::int64_t first = 0; first < test.count; first += batch) {
        std::int64_t rows = std::min(batch, test.count - first);
        snc::fill_batch(test, order.data() + first, rows, images);
        if (SNC_PASTE(SNC_INFERENCE, _with_weights)(in, w, out) != 0) throw snc::Error("the inference pipeline failed");
        for (std::int64_t r = 0; r < rows; ++r) {
            const float* logits = out.data() + r * 10;
            correct += std::max_element(logits, logits + 10) - logits == test.labels[std::size_t(first + r)];
        }
    }
    return double(correct) / double(test.count);
}

void write_log(const std::string& path, const std::vector<EpochRecord>& records) {
    snc::io::write_file_atomically(path, [&](std::ostream& out) {
        out << "epoch,train_loss,train_accuracy,test_accuracy,seconds\n";
        char line[160];
        for (const EpochRecord& r : records) {
            std::snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.3f\n", r.epoch, r.train_loss, r.train_accuracy,
                          r.test_accuracy, r.seconds);
            out << line;
        }
    });
}

// Draws the curves like the course's figures, with gnuplot (Debian's gnuplot-nox).
void plot(const std::string& path, const std::vector<EpochRecord>& records, const std::string& title) {
    std::filesystem::path data = std::filesystem::temp_directory_path() / ("snc-plot-" + std::to_string(::getpid()) + ".dat");
    std::filesystem::path image = path + ".tmp-" + std::to_string(::getpid()) + ".png";
    {
        std::ofstream out(data);
        for (const EpochRecord& r : records)
            out << r.epoch << " " << r.train_loss << " " << r.train_accuracy << " " << r.test_accuracy << "\n";
    }
    std::ostringstream script;
    script << "set terminal pngcairo size 900,540 font ',11'\nset output '" << image.string() << "'\n"
           << "set title '" << title << "'\nset xlabel 'epoch'\nset grid\nset key outside right\n"
           << "set yrange [0:*]\nset xtics 1\n"
           // The x range is fixed from epoch 0 so that the first epoch's plot (a single point) is drawn
           // without gnuplot's "empty x range" warning.
           << "set xrange [0:" << (records.empty() ? 1 : records.back().epoch) << "]\n"
           << "plot '" << data.string() << "' using 1:2 with linespoints lw 2 title 'train loss', "
           << "'' using 1:3 with linespoints lw 2 dt 2 title 'train acc', "
           << "'' using 1:4 with linespoints lw 2 dt 3 title 'test acc'\n";
    FILE* gnuplot = ::popen("gnuplot 2>&1", "w");
    if (!gnuplot) throw snc::Error("--plot needs gnuplot (Debian's gnuplot-nox)");
    std::string text = script.str();
    std::fwrite(text.data(), 1, text.size(), gnuplot);
    int status = ::pclose(gnuplot);
    std::filesystem::remove(data);
    if (status != 0 || !std::filesystem::exists(image)) {
        std::filesystem::remove(image);
        throw snc::Error(path + ": gnuplot could not draw the curves (is Debian's gnuplot-nox installed?)");
    }
    std::filesystem::rename(image, path);
}

// The trainer's functions for `--device`, and the inference library's device set alike; a device
// that cannot be used ends the program: exit 2 and one line saying why.
const snc::SegmentFunctions& compiled_for(const std::string& name, const char* program) {
    const snc_device wanted = *snc::runtime::parse_device(name);
    auto usable = [](int device) -> std::string {
        const snc::SegmentFunctions* functions = SNC_TRAINING::functions(device);
        const char* label = snc::runtime::device_label(device);
        if (!functions) return std::string(label) + " cannot be used: this trainer was not compiled for it";
        if (std::string problem = snc::runtime::device_problem(functions->device_interface()); !problem.empty())
            return std::string(label) + " cannot be used: " + problem;
        return "";
    };
    int device = wanted;
    if (wanted == SNC_DEVICE_AUTO) {
        device = SNC_DEVICE_CPU;
        if (usable(SNC_DEVICE_CUDA).empty()) device = SNC_DEVICE_CUDA;
        else if (snc::runtime::opencl_has_gpu() && usable(SNC_DEVICE_OPENCL).empty()) device = SNC_DEVICE_OPENCL;
    } else if (wanted != SNC_DEVICE_CPU) {
        if (std::string problem = usable(wanted); !problem.empty()) {
            std::fprintf(stderr, "%s: --device %s: %s\n", program, name.c_str(), problem.c_str());
            std::exit(2);
        }
    }
    char why[4096];
    if (SNC_PASTE(SNC_INFERENCE, _set_device)(device, why, sizeof why) != 0) {
        std::fprintf(stderr, "%s: --device %s: %s\n", program, name.c_str(), why);
        std::exit(2);
    }
    return *SNC_TRAINING::functions(device);
}

// Each step's random stream (dropout), from the run's seed: the same run draws the same masks.
std::uint32_t step_seed(std::uint64_t seed, std::int64_t step) {
    std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + std::uint64_t(step) + 1;  // splitmix64's finalizer
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return std::uint32_t(z ^ (z >> 31));
}

std::string progress_bar(std::int64_t done, std::int64_t total) {
    const int width = 30;
    int filled = int(double(done) / double(std::max<std::int64_t>(total, 1)) * width);
    return "[" + std::string(std::size_t(filled), '#') + std::string(std::size_t(width - filled), '.') + "]";
}

}  // namespace

int main(int argc, char** argv) {
    Options options = parse(argc, argv);
    if (options.threads) halide_set_num_threads(options.threads);
    snc::runtime::cache_pipeline_allocations();
    snc::runtime::run_parallel_loops_in_bands(options.threads);  // each thread the same band of every stage
    const char* program = argv[0];
    std::string output_failure;  // the first --log or --plot that could not be written
    try {
        if (options.plot && std::system("command -v gnuplot >/dev/null 2>&1") != 0)
            throw snc::Error("--plot needs gnuplot (Debian's gnuplot-nox), which is not installed");
        const snc::Graph graph = snc::build_graph<Network>();
        const snc::TrainingLayout layout = snc::training_layout(graph, SNC_TRAINING::packing);
        const snc::Plan plan = snc::plan_inference(graph, SNC_PASTE(SNC_INFERENCE, _packing));
        snc::io::LabeledImages train = snc::io::read_fashion_mnist(options.data, "train");
        snc::io::LabeledImages test = snc::io::read_fashion_mnist(options.data, "t10k");
        if (train.count < batch)
            throw snc::Error(options.data + ": the training split holds " + std::to_string(train.count) +
                             " images, fewer than one batch of " + std::to_string(batch));

        snc::TrainingState state;
        if (options.init) {
            snc::io::SafetensorsContents init = snc::io::read_safetensors(*options.init);
            state = snc::pack_training_state(layout, init.tensors, *options.init, init.ignored);
        } else {  // d2l's init_cnn: Xavier-uniform weights, zero biases
            state = snc::pack_training_state(layout, snc::initial_state_dict(graph, options.seed, snc::Init::xavier), "init");
        }
        snc::TrainingStep<float> step_runner(layout, snc::training_segments(graph));
        step_runner.set_parameters(state.parameters);
        step_runner.set_statistics(state.statistics);
        snc::AotSegments engine(layout, step_runner.segments(), compiled_for(options.device, argv[0]));
        std::fprintf(stderr, "%s: on %s (%s)\n", program, snc::runtime::device_name(SNC_PASTE(SNC_INFERENCE, _device)()),
                     engine.target());

        const std::int64_t steps_per_epoch = train.count / batch;
        const std::int64_t total_steps = options.steps > 0 ? std::min<std::int64_t>(options.steps, steps_per_epoch * options.epochs)
                                                           : steps_per_epoch * options.epochs;
        const int epochs = int((total_steps + steps_per_epoch - 1) / steps_per_epoch);
        std::printf("%s: %s, batch %lld, %lld steps per epoch, lr %g%s, momentum %g, weight decay %g%s\n", program,
                    snc::type_name<Network>.chars, static_cast<long long>(batch),
                    static_cast<long long>(steps_per_epoch), options.lr, options.cosine ? " (cosine)" : "",
                    options.momentum, options.weight_decay, options.augment ? ", augmented" : "");

        snc::Tensor images({batch, height, width, 1});
        std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
        std::vector<std::int64_t> order(std::size_t(train.count));
        std::iota(order.begin(), order.end(), 0);
        std::mt19937_64 random(options.seed);
        const bool interactive = ::isatty(STDOUT_FILENO);
        std::vector<EpochRecord> records;
        std::int64_t step = 0;
        double last_accuracy = 0.0, training_seconds = 0.0;
        double first_step_seconds = 0.0;  // first touch of the step's memory: page faults, not steady work

        for (int epoch = 1; epoch <= epochs; ++epoch) {
            if (!options.no_shuffle) std::shuffle(order.begin(), order.end(), random);
            const std::int64_t steps = std::min(steps_per_epoch, total_steps - step);
            double loss_sum = 0.0, correct = 0.0;
            auto start = std::chrono::steady_clock::now();
            auto last_report = start;
            for (std::int64_t b = 0; b < steps; ++b, ++step) {
                snc::Augmentation augmentation{&random};
                snc::fill_batch(train, order.data() + b * batch, batch, images, options.augment ? &augmentation : nullptr);
                const float lr = options.cosine ? float(0.5 * options.lr * (1 + std::cos(M_PI * double(step) / double(total_steps))))
                                                : options.lr;
                for (std::int64_t k = 0; k < batch; ++k) labels[std::size_t(k)] = train.labels[std::size_t(order[std::size_t(b * batch + k)])];
                snc::TrainingStep<float>::Result result =
                    step_runner.run(engine, images.data.data(), labels.data(),
                                    {.learning_rate = lr, .momentum = options.momentum, .weight_decay = options.weight_decay},
                                    step_seed(options.seed, step));
                if (!std::isfinite(result.loss))
                    throw std::runtime_error("the loss diverged (" + std::to_string(result.loss) + ") at step " +
                                             std::to_string(step + 1) + "; try a smaller --lr");
                loss_sum += result.loss;
                correct += result.correct;
                auto now = std::chrono::steady_clock::now();
                if (step == 0) first_step_seconds = std::chrono::duration<double>(now - start).count();
                double since = std::chrono::duration<double>(now - last_report).count();
                if ((interactive && since > 0.2) || since > 15.0 || b + 1 == steps) {
                    double elapsed = std::chrono::duration<double>(now - start).count();
                    std::printf("%sepoch %d/%d %s %lld/%lld  %.0f img/s  loss %.4f%s", interactive ? "\r" : "", epoch, epochs,
                                progress_bar(b + 1, steps).c_str(), static_cast<long long>(b + 1),
                                static_cast<long long>(steps), double((b + 1) * batch) / elapsed, loss_sum / double(b + 1),
                                interactive ? "" : "\n");
                    std::fflush(stdout);
                    last_report = now;
                }
            }
            if (interactive) std::printf("\n");
            double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            training_seconds += seconds;
            if (options.population_batches && !layout.statistics.empty())
                snc::population_statistics(step_runner, engine, std::min(options.population_batches, steps_per_epoch),
                                           [&](std::int64_t b) {
                                               snc::fill_batch(train, order.data() + b * batch, batch, images);
                                               return images.data.data();
                                           });
            state = {step_runner.parameters(), step_runner.statistics()};
            last_accuracy = test_accuracy(plan, snc::unpack_training_state(layout, state), test);
            EpochRecord record{epoch, loss_sum / double(steps), correct / double(steps * batch), last_accuracy, seconds};
            records.push_back(record);
            std::printf("epoch %d/%d: train loss %.4f, train accuracy %.4f, test accuracy %.4f, %.1f s\n", epoch, epochs,
                        record.train_loss, record.train_accuracy, record.test_accuracy, seconds);
            std::fflush(stdout);
            // A log or a plot that cannot be written stops being written; training goes on, and the
            // weights are saved before the failure is reported.
            auto keep_writing = [&](std::optional<std::string>& path, auto&& write) {
                if (!path) return;
                try {
                    write(*path);
                } catch (const std::exception& e) {
                    if (output_failure.empty()) output_failure = e.what();
                    path.reset();
                }
            };
            keep_writing(options.log, [&](const std::string& path) { write_log(path, records); });
            keep_writing(options.plot, [&](const std::string& path) { plot(path, records, snc::type_name<Network>.chars); });
        }
        std::printf("test accuracy: %.4f\n", last_accuracy);
        // A step costs about three forward passes (forward, input gradients, weight gradients).
        std::printf("training: %lld steps in %.2f s, %.1f ms per step, %.0f img/s, %.1f GFLOP/s", static_cast<long long>(step),
                    training_seconds, 1e3 * training_seconds / double(step), double(step * batch) / training_seconds,
                    6e-9 * double(snc::mac_count<Network>) * double(step) / training_seconds);
        // The steady rate apart, as PyTorch's benchmark times its steps after an untimed first one.
        if (step > 1)
            std::printf("; the first step %.1f ms, the rest %.1f ms a step", 1e3 * first_step_seconds,
                        1e3 * (training_seconds - first_step_seconds) / double(step - 1));
        std::printf("\n");
        if (options.save) snc::io::write_safetensors(*options.save, snc::unpack_training_state(layout, state));
        if (!output_failure.empty()) throw std::runtime_error(output_failure);
    } catch (const snc::Error& e) {  // a file or an option refused
        std::cerr << program << ": " << e.what() << "\n";
        return 2;
    } catch (const std::bad_alloc&) {
        std::cerr << program << ": out of memory\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}
