// One command line for every trainer (snc-train-bnlenet, snc-train-lenet, snc-train-d2l-resnet18,
// snc-train-fashion-cnn), each built from its network type:
//   --data DIR            Fashion-MNIST's IDX files (default /usr/share/datasets/fashion-mnist)
//   --epochs E            epochs (default 10)         --steps S        stop after S optimizer steps
//   --lr LR               learning rate (default 0.1) --momentum M     (default 0)
//   --weight-decay WD     (default 0)                 --seed N         initialization and shuffling (0)
//   --no-shuffle          batches in file order       --threads T      worker threads (under mpirun:
//                                                                      the cores over the processes there)
//   --init W.safetensors  start from these weights (PyTorch's names, as the inference compiler's)
//   --save W.safetensors  the trained weights, written to a temporary file and renamed
//   --log metrics.csv     one row per epoch           --plot curves.png  loss and accuracies, by gnuplot
//   --schedule S          constant (default) or cosine: lr * (1 + cos(pi * step / steps)) / 2
//   --augment             random left-right flips and shifts of up to 2 pixels
//   --population-stats B  before each evaluation, set every BatchNorm's statistics to their mean over B
//                         training batches (default 100; 0 keeps PyTorch's running averages)
//   --sync-bn             under `mpirun -n K`: batch statistics over the whole batch (PyTorch's
//                         SyncBatchNorm); by default each process normalizes with its own share
// Under `mpirun -n K` (a trainer built with MPI) the K processes train data-parallel: the batch
// stays the network's, each process takes K-th of every batch (rows [r B/K, (r+1) B/K) of the
// batches one process would draw), the gradients are summed across processes each step. K must
// divide the batch, and the step of B/K images must have been compiled (the trainers build K =
// 1, 2, 4). Rank 0 alone prints, logs and saves; the test set is split among the processes.
// Exit codes: 0 done; 2 an option or an input file refused (one line names it); 1 a failure while
// running (the loss diverged, a log could not be written: the weights are still saved).
// The batch size is the network's, fixed when it was compiled. The last incomplete batch of an
// epoch is dropped, as d2l does. Pixels are scaled to [0, 1] and, for networks that read more than
// 28x28, resized bilinearly.
#include <fcntl.h>
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
#include <thread>
#include <vector>

#include <HalideBuffer.h>
#include <HalideRuntime.h>

#include <snc/data.hpp>
#include <snc/io/file.hpp>
#include <snc/io/safetensors.hpp>
#include <snc/runtime/allocator.hpp>
#include <snc/runtime/aot_training.hpp>
#include <snc/runtime/collective.hpp>
#include <snc/runtime/devices.hpp>
#include <snc/runtime/population.hpp>
#include <snc/runtime/thread_pool.hpp>
#include <snc/runtime/training_step.hpp>

#include <snc/cli.hpp>

#include SNC_NETWORK_HEADER
#include SNC_STEP_HEADER
#include SNC_INFERENCE_HEADER
#include SNC_INFERENCE_PACKING_HEADER

// The steps of each process's share of the batch, for data-parallel training: a header that
// defines SNC_LOCAL_STEPS(X) as X(local batch, namespace of the step) for each (examples/CMakeLists.txt).
#ifdef SNC_HAVE_MPI
#include <snc/runtime/mpi.hpp>
#include SNC_LOCAL_STEPS_HEADER
#else
#define SNC_LOCAL_STEPS(X)
#endif

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
    bool sync_bn = false;
};

// What the launcher (Open MPI's mpirun, or MPICH's) told this process, read before MPI starts: its
// rank and the number of processes; size 0 where no launcher started it.
struct Launch {
    int rank = 0, size = 0;
};
Launch launched() {
    auto number = [](const char* open_mpi, const char* mpich) -> const char* {
        const char* value = std::getenv(open_mpi);
        return value ? value : std::getenv(mpich);
    };
    Launch launch;
    if (const char* size = number("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")) launch.size = std::max(1, std::atoi(size));
    if (const char* rank = number("OMPI_COMM_WORLD_RANK", "PMI_RANK")) launch.rank = std::atoi(rank);
    return launch;
}

// Reads the options into `o`; returns -1, or the exit code: 0 after --help, 2 after a mistake (with
// one line on stderr).
int parse(int argc, char** argv, Options& o) {
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
    app.add_flag("--sync-bn", o.sync_bn, "under mpirun: batch statistics over the whole batch, not each process's share");
    if (const int code = snc::cli::parse(app, argc, argv); code >= 0) return code;
    o.cosine = schedule == "cosine";
    if (app.count("--init")) o.init = init;
    if (app.count("--save")) o.save = save;
    if (app.count("--log")) o.log = log;
    if (app.count("--plot")) o.plot = plot;
    return -1;
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

// The processes of a data-parallel job (one, without mpirun or without MPI).
class Job {
public:
    Job(Launch launch, int* argc, char*** argv) {
#ifdef SNC_HAVE_MPI
        if (launch.size > 1) {
            mpi_.emplace(argc, argv);
            rank_ = mpi_->rank(), size_ = mpi_->size();
        }
#else
        (void)launch, (void)argc, (void)argv;
#endif
    }
    int rank() const { return rank_; }
    int size() const { return size_; }
    bool leader() const { return rank_ == 0; }
    // The collective and the gradient exchange of runtime/; null for one process.
    snc::runtime::Collective* collective() {
#ifdef SNC_HAVE_MPI
        if (mpi_) return &*mpi_;
#endif
        return nullptr;
    }
    snc::GradientExchange<float>* exchange() {
#ifdef SNC_HAVE_MPI
        if (mpi_) return &*mpi_;
#endif
        return nullptr;
    }
    void sum(double* values, std::size_t count) {
        if (snc::runtime::Collective* c = collective()) c->sum(values, count);
    }
    void broadcast(std::vector<float>& values) {
        if (snc::runtime::Collective* c = collective()) c->broadcast(values.data(), values.size());
    }
    bool same_everywhere(std::uint64_t value) {
#ifdef SNC_HAVE_MPI
        if (mpi_) return mpi_->same_everywhere(value);
#endif
        (void)value;
        return true;
    }
    // After a phase that every process runs: the lowest rank that failed (-1: none), and the
    // highest exit code.
    std::pair<int, int> agree(int code) {
#ifdef SNC_HAVE_MPI
        if (mpi_) return mpi_->agree(code);
#endif
        return {code ? 0 : -1, code};
    }
    // A failure this process alone saw: it ends every process of the job.
    [[noreturn]] void abort(int code) {
#ifdef SNC_HAVE_MPI
        if (mpi_ && size_ > 1) mpi_->abort(code);
#endif
        std::exit(code);
    }

private:
    int rank_ = 0, size_ = 1;
#ifdef SNC_HAVE_MPI
    std::optional<snc::runtime::MpiJob> mpi_;
#endif
};

// FNV-1a: the checksums that tell whether the processes of a job started alike and ended alike.
std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t hash = 0xcbf29ce484222325ull) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t k = 0; k < size; ++k) hash = (hash ^ bytes[k]) * 0x100000001b3ull;
    return hash;
}

// Test accuracy with the inference pipeline: batch norm folded with the running statistics. In a
// data-parallel job each process takes every K-th batch of the test set and the counts are summed.
double test_accuracy(const snc::Plan& plan, const snc::StateDict& weights, const snc::io::LabeledImages& test, Job& job) {
    std::vector<float> packed = snc::pack_inference_weights(plan, weights, "the trained weights");
    Halide::Runtime::Buffer<float> w(packed.data(), int(packed.size()));
    Halide::Runtime::Buffer<float> out(extents_of(Network::output_shape));
    snc::Tensor images({batch, height, width, 1});
    Halide::Runtime::Buffer<float> in(images.data.data(), extents_of(Network::input_shape));
    std::vector<std::int64_t> order(std::size_t(test.count));
    std::iota(order.begin(), order.end(), 0);
    double correct = 0;
    for (std::int64_t first = job.rank() * batch; first < test.count; first += job.size() * batch) {
        std::int64_t rows = std::min(batch, test.count - first);
        snc::fill_batch(test, order.data() + first, rows, images);
        if (SNC_PASTE(SNC_INFERENCE, _with_weights)(in, w, out) != 0) throw snc::Error("the inference pipeline failed");
        for (std::int64_t r = 0; r < rows; ++r) {
            const float* logits = out.data() + r * 10;
            correct += std::max_element(logits, logits + 10) - logits == test.labels[std::size_t(first + r)];
        }
    }
    job.sum(&correct, 1);
    return correct / double(test.count);
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
// A device that cannot be used is refused (snc::Error: exit 2, one line saying why). With the
// batch norm synchronized, `auto` is the CPU: the GPU steps keep their sums on the device.
template <class Step>
const snc::SegmentFunctions& compiled_for(const std::string& name, bool cpu_only) {
    const snc_device wanted = *snc::runtime::parse_device(name);
    auto usable = [](int device) -> std::string {
        const snc::SegmentFunctions* functions = Step::functions(device);
        const char* label = snc::runtime::device_label(device);
        if (!functions) return std::string(label) + " cannot be used: this trainer was not compiled for it";
        if (std::string problem = snc::runtime::device_problem(functions->device_interface()); !problem.empty())
            return std::string(label) + " cannot be used: " + problem;
        return "";
    };
    int device = wanted;
    if (wanted == SNC_DEVICE_AUTO) {
        device = SNC_DEVICE_CPU;
        if (!cpu_only && usable(SNC_DEVICE_CUDA).empty()) device = SNC_DEVICE_CUDA;
        else if (!cpu_only && snc::runtime::opencl_has_gpu() && usable(SNC_DEVICE_OPENCL).empty()) device = SNC_DEVICE_OPENCL;
    } else if (wanted != SNC_DEVICE_CPU) {
        if (cpu_only)
            throw snc::Error("--device " + name + ": --sync-bn runs on the CPU only (a GPU step keeps its batch-norm sums on the device)");
        if (std::string problem = usable(wanted); !problem.empty()) throw snc::Error("--device " + name + ": " + problem);
    }
    char why[4096];
    if (SNC_PASTE(SNC_INFERENCE, _set_device)(device, why, sizeof why) != 0) throw snc::Error("--device " + name + ": " + why);
    return *Step::functions(device);
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

// The step of `LocalBatch` images: the network's own, or one of SNC_LOCAL_STEPS.
template <std::int64_t LocalBatch>
struct LocalStep;
template <>
struct LocalStep<batch> {
    static const snc::SegmentFunctions* functions(int device) { return SNC_TRAINING::functions(device); }
    static constexpr snc::Packing packing = SNC_TRAINING::packing;
};
#define SNC_DEFINE_LOCAL_STEP(B, NAMESPACE)                                                                     \
    template <>                                                                                                 \
    struct LocalStep<B> {                                                                                       \
        static const snc::SegmentFunctions* functions(int device) { return NAMESPACE::functions(device); }     \
        static constexpr snc::Packing packing = NAMESPACE::packing;                                            \
    };
SNC_LOCAL_STEPS(SNC_DEFINE_LOCAL_STEP)
#undef SNC_DEFINE_LOCAL_STEP

// The local batches compiled, the network's own first.
std::vector<std::int64_t> compiled_local_batches() {
    std::vector<std::int64_t> batches{batch};
#define SNC_LIST_LOCAL_STEP(B, NAMESPACE) batches.push_back(B);
    SNC_LOCAL_STEPS(SNC_LIST_LOCAL_STEP)
#undef SNC_LIST_LOCAL_STEP
    return batches;
}

// A failure seen by every process alike (the loss diverged: every process has the same mean loss):
// rank 0 says it, and every process ends with `code`, no abort needed.
struct FailureEverywhere : std::runtime_error {
    int code;
    FailureEverywhere(const std::string& what, int code) : std::runtime_error(what), code(code) {}
};

// Trains with the step of LocalBatch images per process (the network's batch when alone).
template <std::int64_t LocalBatch>
int train(Options& options, Job& job, const char* program) {
    using LocalNetwork = snc::with_batch<Network, LocalBatch>;
    const int processes = job.size();
    const bool talk = job.leader();  // the progress, the results, the logs: rank 0's
    std::string output_failure;      // the first --log or --plot that could not be written

    // Start: every process reads the same files and builds the same state. A failure on any of them
    // ends every one with one line, from the lowest rank that failed.
    std::optional<snc::Graph> graph, local_graph;
    std::optional<snc::TrainingLayout> layout;
    std::optional<snc::Plan> plan;
    snc::io::LabeledImages train_images, test;
    snc::TrainingState state;
    std::optional<snc::TrainingStep<float>> step_runner;
    std::optional<snc::AotSegments> engine;
    std::uint64_t start_checksum = 0;
    int code = 0;
    std::string failure;
    try {
        if (options.plot && talk && std::system("command -v gnuplot >/dev/null 2>&1") != 0)
            throw snc::Error("--plot needs gnuplot (Debian's gnuplot-nox), which is not installed");
        graph = snc::build_graph<Network>();
        local_graph = snc::build_graph<LocalNetwork>();
        layout = snc::training_layout(*local_graph, LocalStep<LocalBatch>::packing);
        plan = snc::plan_inference(*graph, SNC_PASTE(SNC_INFERENCE, _packing));
        train_images = snc::io::read_fashion_mnist(options.data, "train");
        test = snc::io::read_fashion_mnist(options.data, "t10k");
        if (train_images.count < batch)
            throw snc::Error(options.data + ": the training split holds " + std::to_string(train_images.count) +
                             " images, fewer than one batch of " + std::to_string(batch));
        // What the processes must agree on: every option that shapes the run, and the --init file.
        std::ostringstream agreed;
        agreed << options.seed << ' ' << options.epochs << ' ' << options.steps << ' ' << options.lr << ' ' << options.momentum << ' '
               << options.weight_decay << ' ' << options.no_shuffle << options.cosine << options.augment << options.sync_bn << ' '
               << options.population_batches << ' ' << options.data;
        start_checksum = fnv1a(agreed.str().data(), agreed.str().size());
        if (options.init) {
            const std::vector<char> bytes = snc::io::read_file(*options.init);
            start_checksum = fnv1a(bytes.data(), bytes.size(), start_checksum);
            snc::io::SafetensorsContents init = snc::io::read_safetensors(*options.init);
            state = snc::pack_training_state(*layout, init.tensors, *options.init, init.ignored);
        } else {  // d2l's init_cnn: Xavier-uniform weights, zero biases
            state = snc::pack_training_state(*layout, snc::initial_state_dict(*graph, options.seed, snc::Init::xavier), "init");
        }
        step_runner.emplace(*layout, snc::training_segments(*local_graph));
        step_runner->set_parameters(state.parameters);
        step_runner->set_statistics(state.statistics);
        engine.emplace(*layout, step_runner->segments(), compiled_for<LocalStep<LocalBatch>>(options.device, options.sync_bn));
    } catch (const snc::Error& e) {  // a file or an option refused
        code = 2, failure = e.what();
    } catch (const std::bad_alloc&) {
        code = 1, failure = "out of memory";
    } catch (const std::exception& e) {
        code = 1, failure = e.what();
    }
    if (auto [first, worst] = job.agree(code); first >= 0) {
        if (job.rank() == first) std::cerr << program << ": " << failure << "\n";
        return worst;
    }
    if (!job.same_everywhere(start_checksum)) {
        if (talk)
            std::cerr << program << ": the " << processes << " processes were started with different options or --init files "
                      << "(--seed, --init and the training options must be the same on every rank)\n";
        return 2;
    }

    try {
        if (talk) std::fprintf(stderr, "%s: on %s (%s)\n", program, snc::runtime::device_name(SNC_PASTE(SNC_INFERENCE, _device)()),
                               engine->target());
        if (processes > 1) {
            step_runner->set_exchange(job.exchange());
            if (options.sync_bn) {
                snc::runtime::synchronize_batch_norm(job.collective());
                // The running variance's unbiasing, for K times the values the step was compiled for.
                std::vector<float> factors(std::size_t(layout->statistic_floats), 1.0f);
                for (const snc::TrainingTensor& tensor : layout->statistics) {
                    const snc::Op& op = layout->graph.ops[std::size_t(tensor.op)];
                    if (op.tensors.items[tensor.slot].role != snc::TensorRole::running_var) continue;
                    const double m = double(snc::batch_norm_count(op.in)), whole = m * processes;
                    const double factor = (whole / (whole - 1)) / (m > 1 ? m / (m - 1) : 1.0);
                    for (std::int64_t c = 0; c < tensor.elements; ++c) factors[std::size_t(tensor.offset + c)] = float(factor);
                }
                step_runner->set_batch_variance_factors(std::move(factors));
            }
        }

        const std::int64_t steps_per_epoch = train_images.count / batch;
        const std::int64_t total_steps = options.steps > 0 ? std::min<std::int64_t>(options.steps, steps_per_epoch * options.epochs)
                                                           : steps_per_epoch * options.epochs;
        const int epochs = int((total_steps + steps_per_epoch - 1) / steps_per_epoch);
        if (talk) {
            std::printf("%s: %s, batch %lld, %lld steps per epoch, lr %g%s, momentum %g, weight decay %g%s\n", program,
                        snc::type_name<Network>.chars, static_cast<long long>(batch),
                        static_cast<long long>(steps_per_epoch), options.lr, options.cosine ? " (cosine)" : "",
                        options.momentum, options.weight_decay, options.augment ? ", augmented" : "");
            if (processes > 1)
                std::printf("%s: data-parallel over %d processes, %lld images each a step, batch norm %s\n", program, processes,
                            static_cast<long long>(LocalBatch),
                            options.sync_bn ? "synchronized (statistics of the whole batch)" : "per process (its own share)");
        }

        // Every process draws the whole batch as one process would (the same shuffle, the same
        // augmentation draws) and trains on its rows.
        snc::Tensor images({batch, height, width, 1});
        std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
        const std::int64_t first_row = job.rank() * LocalBatch;
        const float* my_images = images.data.data() + first_row * height * width;
        const std::int32_t* my_labels = labels.data() + first_row;
        std::vector<std::int64_t> order(std::size_t(train_images.count));
        std::iota(order.begin(), order.end(), 0);
        std::mt19937_64 random(options.seed);
        const bool interactive = talk && ::isatty(STDOUT_FILENO);
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
                snc::fill_batch(train_images, order.data() + b * batch, batch, images, options.augment ? &augmentation : nullptr);
                const float lr = options.cosine ? float(0.5 * options.lr * (1 + std::cos(M_PI * double(step) / double(total_steps))))
                                                : options.lr;
                for (std::int64_t k = 0; k < batch; ++k)
                    labels[std::size_t(k)] = train_images.labels[std::size_t(order[std::size_t(b * batch + k)])];
                snc::TrainingStep<float>::Result result =
                    step_runner->run(*engine, my_images, my_labels,
                                     {.learning_rate = lr, .momentum = options.momentum, .weight_decay = options.weight_decay},
                                     step_seed(options.seed, step));
                double loss_and_correct[2] = {double(result.loss) / processes, double(result.correct)};
                job.sum(loss_and_correct, 2);
                if (!std::isfinite(loss_and_correct[0]))
                    throw FailureEverywhere("the loss diverged (" + std::to_string(loss_and_correct[0]) + ") at step " +
                                                std::to_string(step + 1) + "; try a smaller --lr",
                                            1);
                loss_sum += loss_and_correct[0];
                correct += loss_and_correct[1];
                auto now = std::chrono::steady_clock::now();
                if (step == 0) first_step_seconds = std::chrono::duration<double>(now - start).count();
                double since = std::chrono::duration<double>(now - last_report).count();
                if (talk && ((interactive && since > 0.2) || since > 15.0 || b + 1 == steps)) {
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
            // The running statistics are rank 0's (DDP broadcasts its buffers); with the batch norm
            // synchronized they are the same on every process already.
            if (processes > 1 && !layout->statistics.empty()) {
                std::vector<float> statistics = step_runner->statistics();
                job.broadcast(statistics);
                step_runner->set_statistics(statistics);
            }
            if (options.population_batches && !layout->statistics.empty())
                snc::population_statistics(
                    *step_runner, *engine, std::min(options.population_batches, steps_per_epoch),
                    [&](std::int64_t b) {
                        snc::fill_batch(train_images, order.data() + b * batch, batch, images);
                        return my_images;
                    },
                    job.collective());
            state = {step_runner->parameters(), step_runner->statistics()};
            last_accuracy = test_accuracy(*plan, snc::unpack_training_state(*layout, state), test, job);
            EpochRecord record{epoch, loss_sum / double(steps), correct / double(steps * batch), last_accuracy, seconds};
            records.push_back(record);
            if (!talk) continue;
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
        // Every process must hold the same parameters and statistics: the sums of the exchange are
        // the same everywhere, and this says so (or fails) rather than assume it.
        if (processes > 1) {
            const std::uint64_t replicas = fnv1a(state.statistics.data(), state.statistics.size() * sizeof(float),
                                                 fnv1a(state.parameters.data(), state.parameters.size() * sizeof(float)));
            if (!job.same_everywhere(replicas))
                throw FailureEverywhere("the processes ended with different parameters: their sums disagreed", 1);
            if (talk)
                std::printf("%s: parameters and statistics identical on the %d processes (checksum %016llx)\n", program, processes,
                            static_cast<unsigned long long>(replicas));
        }
        if (talk) {
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
            std::fflush(stdout);
            if (options.save) snc::io::write_safetensors(*options.save, snc::unpack_training_state(*layout, state));
            if (!output_failure.empty()) throw std::runtime_error(output_failure);
        }
    } catch (const FailureEverywhere& e) {
        if (talk) std::cerr << program << ": " << e.what() << "\n";
        return e.code;
    } catch (const std::exception& e) {
        const bool refused = dynamic_cast<const snc::Error*>(&e) != nullptr;
        const bool memory = dynamic_cast<const std::bad_alloc*>(&e) != nullptr;
        std::cerr << program << ": " << (processes > 1 ? "rank " + std::to_string(job.rank()) + ": " : std::string())
                  << (memory ? "out of memory" : e.what()) << "\n";
        // Only this process saw it: it ends every process of the job (mpirun reports the abort).
        if (processes > 1) job.abort(refused ? 2 : 1);
        return refused ? 2 : 1;
    }
    return 0;
}

// The local batch of `processes` processes, dispatched to its compiled step.
template <std::int64_t... Batches>
int train_locally(std::int64_t local_batch, Options& options, Job& job, const char* program) {
    int code = -1;
    ((local_batch == Batches && code < 0 ? (code = train<Batches>(options, job, program)) : 0), ...);
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    const char* program = argv[0];
    Options options;
    // Under mpirun, what reading the options says is kept until the processes have compared notes:
    // a mistake every process makes is said once, by rank 0; one that a single process makes, by it.
    std::ostringstream said;
    std::streambuf* out = std::cout.rdbuf();
    std::streambuf* err = std::cerr.rdbuf();
    const Launch launch = launched();
    if (launch.size > 1) std::cout.rdbuf(said.rdbuf()), std::cerr.rdbuf(said.rdbuf());
    const int parsed = parse(argc, argv, options);
    std::cout.rdbuf(out), std::cerr.rdbuf(err);
    if (launch.size <= 1 && parsed >= 0) return parsed;  // --help (0) or a mistake (2), said already
#ifndef SNC_HAVE_MPI
    if (launch.size > 1) {
        if (launch.rank == 0)
            std::cerr << program << ": started as " << launch.size << " processes by mpirun, but this trainer was built "
                      << "without MPI (Debian's libopenmpi-dev): each would train alone\n";
        return 2;
    }
    if (options.sync_bn) {
        std::cerr << program << ": --sync-bn needs a trainer built with MPI (Debian's libopenmpi-dev), and this one was not\n";
        return 2;
    }
#endif
    Job job(launch, &argc, &argv);
    if (launch.size > 1) {
        // Every process stops if one read --help (0) or a mistake (2): the lowest of them says what
        // it read (--help then goes to stderr). Codes pass as code + 1, so that 0 means "went on".
        if (auto [first, worst] = job.agree(parsed >= 0 ? parsed + 1 : 0); first >= 0) {
            if (job.rank() == first) std::cerr << said.str();
            return worst - 1;
        }
    }
    if (options.sync_bn && launch.size == 0) {
        std::cerr << program << ": --sync-bn synchronizes the processes of `mpirun -n K`; a process started alone has the "
                  << "whole batch already\n";
        return 2;
    }
    if (!options.threads && job.size() > 1) {
        // The processes on one machine share its cores: 2 processes of 2 threads on 2 cores ran
        // the course's ResNet-18 slower than 2 of 1 thread.
        const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
        const int here = std::max(1, local ? std::atoi(local) : 1);
        options.threads = std::max(1, int(std::thread::hardware_concurrency()) / here);
    }
    if (options.threads) halide_set_num_threads(options.threads);
    snc::runtime::cache_pipeline_allocations();
    snc::runtime::run_parallel_loops_in_bands(options.threads);  // each thread the same band of every stage

    // K processes share each batch: K must divide it, and the step of B/K images must be compiled.
    const std::vector<std::int64_t> compiled = compiled_local_batches();
    if (batch % job.size() != 0 ||
        std::find(compiled.begin(), compiled.end(), batch / job.size()) == compiled.end()) {
        if (job.leader()) {
            std::string offered;
            for (std::int64_t local : compiled)
                offered += (offered.empty() ? "" : ", ") + std::to_string(batch / local) + " (" + std::to_string(local) + " images each)";
            std::cerr << program << ": " << job.size() << " processes cannot share batches of " << batch << ": "
                      << (batch % job.size() ? "the number does not divide the batch" : "this trainer has no compiled step of " +
                                                                                           std::to_string(batch / job.size()) + " images")
                      << "; it was compiled for " << offered << " processes\n";
        }
        return 2;
    }
#define SNC_LOCAL_BATCH_OF(B, NAMESPACE) , B
    return train_locally<batch SNC_LOCAL_STEPS(SNC_LOCAL_BATCH_OF)>(batch / job.size(), options, job, program);
#undef SNC_LOCAL_BATCH_OF
}
