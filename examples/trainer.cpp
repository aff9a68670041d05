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
#include <snc/runtime/allocator.hpp>
#include <snc/io/file.hpp>
#include <snc/io/safetensors.hpp>
#include <snc/train_step.hpp>

#include SNC_NETWORK_HEADER
#include SNC_STEP_HEADER
#include SNC_INFERENCE_HEADER

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
    bool shuffle = true;
    bool cosine = false;
    bool augment = false;
    int threads = 0;
    std::int64_t population_batches = 100;
    std::optional<std::string> init, save, log, plot;
};

[[noreturn]] void usage(const char* program, const std::string& problem) {
    if (!problem.empty()) std::cerr << program << ": " << problem << "\n";
    std::cerr << "usage: " << program
              << " [--data DIR] [--epochs E] [--steps S] [--lr LR] [--momentum M] [--weight-decay WD] [--seed N]\n"
                 "       [--no-shuffle] [--init W.safetensors] [--save W.safetensors] [--log metrics.csv]\n"
                 "       [--plot curves.png] [--schedule constant|cosine] [--augment] [--population-stats B] [--threads T]\n";
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string flag = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(argv[0], flag + " needs a value");
            return argv[++i];
        };
        auto number = [&](double low) {
            std::string text = value();
            try {
                std::size_t used = 0;
                double v = std::stod(text, &used);
                if (used == text.size() && v >= low && std::isfinite(v)) return v;
            } catch (...) {
            }
            usage(argv[0], flag + " needs a number of at least " + std::to_string(low) + ", got '" + text + "'");
        };
        if (flag == "--data") o.data = value();
        else if (flag == "--epochs") o.epochs = int(number(1));
        else if (flag == "--steps") o.steps = std::int64_t(number(1));
        else if (flag == "--lr") o.lr = float(number(0));
        else if (flag == "--momentum") o.momentum = float(number(0));
        else if (flag == "--weight-decay") o.weight_decay = float(number(0));
        else if (flag == "--seed") o.seed = std::uint64_t(number(0));
        else if (flag == "--threads") o.threads = int(number(1));
        else if (flag == "--no-shuffle") o.shuffle = false;
        else if (flag == "--augment") o.augment = true;
        else if (flag == "--schedule") {
            std::string schedule = value();
            if (schedule != "constant" && schedule != "cosine") usage(argv[0], "--schedule is constant or cosine");
            o.cosine = schedule == "cosine";
        }
        else if (flag == "--population-stats") o.population_batches = std::int64_t(number(0));
        else if (flag == "--init") o.init = value();
        else if (flag == "--save") o.save = value();
        else if (flag == "--log") o.log = value();
        else if (flag == "--plot") o.plot = value();
        else if (flag == "--help" || flag == "-h") usage(argv[0], "");
        else usage(argv[0], "unknown option " + flag);
    }
    if (o.momentum >= 1.0f) usage(argv[0], "--momentum must be below 1");
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

// TrainingStep's engine on the functions the training compiler built for this network.
class CompiledSegments {
public:
    CompiledSegments(const snc::TrainingLayout& layout, const std::vector<snc::Segment>& segments)
        : layout_(layout), segments_(segments), functions_(SNC_TRAINING::functions()) {
        if (int(segments.size()) != SNC_TRAINING::segment_count)
            throw snc::Error("the compiled training step has " + std::to_string(SNC_TRAINING::segment_count) +
                             " segments, the network " + std::to_string(segments.size()) + ": rebuild the trainer");
    }

    void forward(int s, const float* input, const float* parameters, float* output) {
        auto in = buffer(input, segments_[std::size_t(s)].input());
        auto p = flat(parameters, {0, layout_.parameter_floats});
        auto out = buffer(output, segments_[std::size_t(s)].output());
        void* arguments[] = {in.raw_buffer(), p.raw_buffer(), out.raw_buffer()};
        check(functions_.forward[s](arguments), "forward", s);
    }

    void backward(int s, const snc::SegmentBuffers<float>& b) {
        const snc::Segment& segment = segments_[std::size_t(s)];
        auto in = buffer(b.input, segment.input());
        auto p = flat(b.parameters, {0, layout_.parameter_floats});
        Halide::Runtime::Buffer<std::int32_t> labels(const_cast<std::int32_t*>(b.labels), int(batch));
        auto gradient = buffer(b.output_gradient, segment.output());
        auto input_gradient = buffer(b.input_gradient, segment.input());
        float scratch[2] = {0, 0};
        auto parameter_gradients = flat(b.parameter_gradients, snc::range_of(layout_.parameters, segment), scratch);
        auto statistics = flat(b.batch_statistics, snc::range_of(layout_.statistics, segment), scratch + 1);
        Halide::Runtime::Buffer<float> loss(b.loss_stats, 2);
        std::vector<void*> arguments{in.raw_buffer()};
        if (b.labels) arguments.push_back(labels.raw_buffer());
        arguments.push_back(p.raw_buffer());
        if (b.output_gradient) arguments.push_back(gradient.raw_buffer());
        if (b.input_gradient) arguments.push_back(input_gradient.raw_buffer());
        arguments.push_back(parameter_gradients.raw_buffer());
        arguments.push_back(statistics.raw_buffer());
        if (b.loss_stats) arguments.push_back(loss.raw_buffer());
        check(functions_.backward[s](arguments.data()), "backward", s);
    }

private:
    Halide::Runtime::Buffer<float> buffer(const float* data, int value) const {
        if (!data) return {};
        return Halide::Runtime::Buffer<float>(const_cast<float*>(data), extents_of(layout_.graph.shape_of(value)));
    }
    // A range of a flat buffer, its coordinates the flat indices; an empty one, one scratch float.
    static Halide::Runtime::Buffer<float> flat(const float* base, snc::FloatRange range, float* scratch = nullptr) {
        if (range.size() == 0) return Halide::Runtime::Buffer<float>(scratch, 1);
        Halide::Runtime::Buffer<float> b(const_cast<float*>(base) + range.begin, int(range.size()));
        b.set_min(int(range.begin));
        return b;
    }
    static void check(int result, const char* pass, int s) {
        if (result != 0)
            throw snc::Error(std::string("the training step's ") + pass + " pass of segment " + std::to_string(s) +
                             " failed with Halide error " + std::to_string(result));
    }

    const snc::TrainingLayout& layout_;
    const std::vector<snc::Segment>& segments_;
    const SNC_TRAINING::Functions& functions_;
};

// The course's population statistics: "in production, mean and variance are computed over the
// whole population {x}". The running averages that training keeps weigh the last ~10 batches
// (momentum 0.1) of a network that was still moving; this recomputes every BatchNorm's statistics
// as the mean over `batches` training batches of the batch means and unbiased variances (plus the
// variance of the batch means), with the final weights.
void population_statistics(snc::TrainingState& state, const snc::TrainingLayout& layout, snc::TrainingStep<float>& step,
                           CompiledSegments& engine, const snc::io::LabeledImages& train,
                           const std::vector<std::int64_t>& order, std::int64_t batches, snc::Tensor& images,
                           std::vector<std::int32_t>& labels) {
    const snc::Graph& graph = layout.graph;
    std::vector<float> velocity(state.parameters.size(), 0.0f);
    std::vector<double> mean_sum(state.statistics.size(), 0.0), mean_squares(state.statistics.size(), 0.0),
        variance_sum(state.statistics.size(), 0.0);
    for (std::int64_t b = 0; b < batches; ++b) {
        snc::fill_batch(train, order.data() + b * batch, batch, images);
        step.run(engine, images.data.data(), labels.data(), state.parameters, velocity, state.statistics, {}, false);
        const std::vector<float>& of_batch = step.batch_statistics();
        for (std::size_t k = 0; k < graph.ops.size(); ++k) {
            const snc::Op& op = graph.ops[k];
            if (op.spec.kind != snc::OpKind::batch_norm) continue;
            const double m = double(op.in.is_image() ? op.in.n() * op.in.h() * op.in.w() : op.in.n());
            const snc::TrainingTensor &means = layout.statistic(int(k), 2), &variances = layout.statistic(int(k), 3);
            for (std::int64_t c = 0; c < means.elements; ++c) {
                std::size_t mean_at = std::size_t(means.offset + c), var_at = std::size_t(variances.offset + c);
                mean_sum[mean_at] += of_batch[mean_at];
                mean_squares[mean_at] += double(of_batch[mean_at]) * of_batch[mean_at];
                variance_sum[var_at] += of_batch[var_at] * m / (m - 1);
            }
        }
    }
    for (std::size_t k = 0; k < graph.ops.size(); ++k) {
        const snc::Op& op = graph.ops[k];
        if (op.spec.kind != snc::OpKind::batch_norm) continue;
        const snc::TrainingTensor &means = layout.statistic(int(k), 2), &variances = layout.statistic(int(k), 3);
        for (std::int64_t c = 0; c < means.elements; ++c) {
            std::size_t mean_at = std::size_t(means.offset + c), var_at = std::size_t(variances.offset + c);
            double mean = mean_sum[mean_at] / double(batches);
            double spread = std::max(0.0, mean_squares[mean_at] / double(batches) - mean * mean);
            state.statistics[mean_at] = float(mean);
            state.statistics[var_at] = float(variance_sum[var_at] / double(batches) + spread);
        }
    }
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
    const char* program = argv[0];
    try {
        if (options.plot && std::system("command -v gnuplot >/dev/null 2>&1") != 0)
            throw snc::Error("--plot needs gnuplot (Debian's gnuplot-nox), which is not installed");
        const snc::Graph graph = snc::build_graph<Network>();
        const snc::TrainingLayout layout = snc::training_layout(graph);
        const snc::Plan plan = snc::plan_inference(graph);
        snc::io::LabeledImages train = snc::io::read_fashion_mnist(options.data, "train");
        snc::io::LabeledImages test = snc::io::read_fashion_mnist(options.data, "t10k");

        snc::TrainingState state;
        if (options.init) {
            snc::io::SafetensorsContents init = snc::io::read_safetensors(*options.init);
            state = snc::pack_training_state(layout, init.tensors, *options.init, init.ignored);
        } else {  // d2l's init_cnn: Xavier-uniform weights, zero biases
            state = snc::pack_training_state(layout, snc::initial_state_dict(graph, options.seed, snc::Init::xavier), "init");
        }
        std::vector<float> velocity(state.parameters.size(), 0.0f);
        snc::TrainingStep<float> step_runner(layout, snc::training_segments(graph));
        CompiledSegments engine(layout, step_runner.segments());

        const std::int64_t steps_per_epoch = train.count / batch;
        const std::int64_t total_steps = options.steps > 0 ? std::min<std::int64_t>(options.steps, steps_per_epoch * options.epochs)
                                                           : steps_per_epoch * options.epochs;
        const int epochs = int((total_steps + steps_per_epoch - 1) / steps_per_epoch);
        std::printf("%s: %s, batch %lld, %lld steps per epoch, lr %g%s, momentum %g, weight decay %g%s\n", program,
                    snc::detail::type_name<Network>.chars, static_cast<long long>(batch),
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
        double last_accuracy = 0.0;

        for (int epoch = 1; epoch <= epochs; ++epoch) {
            if (options.shuffle) std::shuffle(order.begin(), order.end(), random);
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
                    step_runner.run(engine, images.data.data(), labels.data(), state.parameters, velocity, state.statistics,
                                    {.learning_rate = lr, .momentum = options.momentum, .weight_decay = options.weight_decay});
                if (!std::isfinite(result.loss))
                    throw snc::Error("the loss diverged (" + std::to_string(result.loss) + ") at step " + std::to_string(step + 1) +
                                     "; try a smaller --lr");
                loss_sum += result.loss;
                correct += result.correct;
                auto now = std::chrono::steady_clock::now();
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
            if (options.population_batches && !layout.statistics.empty())
                population_statistics(state, layout, step_runner, engine, train, order,
                                      std::min(options.population_batches, steps_per_epoch), images, labels);
            last_accuracy = test_accuracy(plan, snc::unpack_training_state(layout, state), test);
            EpochRecord record{epoch, loss_sum / double(steps), correct / double(steps * batch), last_accuracy, seconds};
            records.push_back(record);
            std::printf("epoch %d/%d: train loss %.4f, train accuracy %.4f, test accuracy %.4f, %.1f s\n", epoch, epochs,
                        record.train_loss, record.train_accuracy, record.test_accuracy, seconds);
            std::fflush(stdout);
            if (options.log) write_log(*options.log, records);
            if (options.plot) plot(*options.plot, records, snc::detail::type_name<Network>.chars);
        }
        std::printf("test accuracy: %.4f\n", last_accuracy);
        if (options.save) snc::io::write_safetensors(*options.save, snc::unpack_training_state(layout, state));
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}
