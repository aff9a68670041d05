// Where a network's time goes, stage by stage: its inference pipeline, with the schedules the
// generators use, compiled by the JIT with Halide's profiler and run repeatedly. Halide's JIT
// reports (and resets) its samples after every run, one sample a millisecond, so the reports are
// summed here: a Func's time over many runs. The benchmark says how fast, this says where.
// With --train, the training step's segments instead (forward and backward, batch 128 for the
// course's networks), each Func of every segment summed the same way.
//   usage: profile_stages [--train] resnet18|d2l-resnet18|d2l-resnet18-b64|bnlenet|imported [runs] [threads]
// "imported": a network snc-import declared, built in with
//   cmake -DSNC_PROFILE_HEADER=<its header> -DSNC_PROFILE_NETWORK=<NS::Name> (bench/CMakeLists.txt)
// SNC_NO_PROFILE=1 times the pipeline without the profiler (its per-task cost inflates Funcs
// with many small tasks). SNC_PACKING=<n> packs inference weights as Packing(n) instead of the
// target's choice, to compare layouts; SNC_PROFILE_STMT=<file> writes the inference pipeline's
// lowered loop nest there (with --train, each segment's backward pass to <file>.<segment>).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <Halide.h>

#include <snc/halide/jit.hpp>
#include <snc/runtime/allocator.hpp>
#include <snc/runtime/huge_pages.hpp>
#include <snc/runtime/thread_pool.hpp>
#include <snc/nets/d2l.hpp>
#include <snc/nets/torchvision.hpp>
#ifdef SNC_PROFILE_HEADER
#include SNC_PROFILE_HEADER
#endif

namespace {
using namespace snc;

Graph graph_named(const std::string& name, bool training) {
    if (training && name == "d2l-resnet18") return build_graph<nets::d2l::ResNet18<128>>();
    if (name == "resnet18") return build_graph<nets::torchvision::ResNet18<1>>();
    if (name == "d2l-resnet18") return build_graph<nets::d2l::ResNet18<1>>();
    if (name == "d2l-resnet18-b64") return build_graph<nets::d2l::ResNet18<64>>();
    if (name == "bnlenet") return build_graph<nets::d2l::BNLeNet<128>>();
#ifdef SNC_PROFILE_NETWORK
    if (name == "imported") return build_graph<SNC_PROFILE_NETWORK>();
#endif
    std::fprintf(stderr, "profile_stages: unknown network '%s' (resnet18, d2l-resnet18, d2l-resnet18-b64, bnlenet)\n",
                 name.c_str());
    std::exit(2);
}
// Func name -> milliseconds, summed over the reports.
std::map<std::string, double> sampled_ms;

// One report line per Func: "  <name>: <ms>ms (<percent>%) ...". The pipeline's totals are skipped.
void add_report(Halide::JITUserContext*, const char* text) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("  ", 0) != 0) continue;
        const size_t colon = line.find(':');
        const size_t ms = line.find("ms", colon);
        if (colon == std::string::npos || ms == std::string::npos) continue;
        const std::string name = line.substr(2, colon - 2);
        if (name.rfind("halide_", 0) == 0) continue;
        sampled_ms[name] += std::atof(line.c_str() + colon + 1);
    }
}
void print_report(const char* name, double wall_ms, int runs) {
    std::vector<std::pair<double, std::string>> by_time;
    double sampled_total = 0;
    for (const auto& [func, ms] : sampled_ms) by_time.emplace_back(ms / runs, func), sampled_total += ms / runs;
    std::sort(by_time.rbegin(), by_time.rend());
    if (sampled_ms.empty()) {
        std::printf("%s: %.3f ms a run (JIT, no profiler), %d runs\n", name, wall_ms, runs);
        return;
    }
    std::printf("%s: %.3f ms a run (profiled build), %.3f ms sampled, %d runs\n", name, wall_ms, sampled_total, runs);
    for (const auto& [ms, func] : by_time) {
        if (ms < 0.005 || ms < 0.001 * sampled_total) continue;
        std::printf("%8.3f ms %5.1f %%  %s\n", ms, 100 * ms / sampled_total, func.c_str());
    }
}

int profile_training(const Graph& graph, const Halide::Target& target, int runs, const char* name) {
    halide::JitTraining<float> jit(graph, 20, target);
    TrainingState state = pack_training_state(jit.layout(), initial_state_dict(graph, 1), "initial weights");
    jit.step().set_parameters(state.parameters);
    jit.step().set_statistics(state.statistics);
    Tensor images(dims_of(graph.input));
    for (size_t i = 0; i < images.data.size(); ++i) images.data[i] = float(i % 97) / 97.0f - 0.5f;
    const int classes = int(graph.shape_of(graph.output).c());
    std::vector<std::int32_t> labels(std::size_t(graph.input.n()));
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = std::int32_t(i % std::size_t(classes));
    const Hyperparameters h{.learning_rate = 0.01f, .momentum = 0.9f, .weight_decay = 5e-4f};
    if (const char* stmt = std::getenv("SNC_PROFILE_STMT"))  // each segment's backward loop nest: <file>.<segment>
        for (int s = 0; s < int(jit.step().segments().size()); ++s) {
            halide::SegmentPipeline& p = jit.backward_pipeline(s);
            p.pipeline.compile_to_lowered_stmt(std::string(stmt) + "." + std::to_string(s), p.inputs, Halide::Text, target);
        }
    jit.step().run(jit, images.data.data(), labels.data(), h);  // compiles
    sampled_ms.clear();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < runs; ++i) jit.step().run(jit, images.data.data(), labels.data(), h);
    const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / runs;
    print_report(name, wall_ms, runs);
    return 0;
}
}  // namespace

int main(int argc, char** argv) {
    const bool training = argc > 1 && std::string(argv[1]) == "--train";
    if (training) --argc, ++argv;
    if (argc < 2) {
        std::fprintf(stderr, "usage: profile_stages [--train] resnet18|d2l-resnet18|d2l-resnet18-b64|bnlenet [runs] [threads]\n");
        return 2;
    }
    const int runs = argc > 2 ? std::atoi(argv[2]) : 50;
    if (argc > 3) setenv("HL_NUM_THREADS", argv[3], 1);  // read when the JIT runtime starts
    const Graph graph = graph_named(argv[1], training);
    Halide::Target target = Halide::get_jit_target_from_environment();
    if (!std::getenv("SNC_NO_PROFILE")) target = target.with_feature(Halide::Target::Profile);
    Halide::JITHandlers handlers;  // the profiler reports with no user context: the default handler
    handlers.custom_print = add_report;
    // The programs' allocator (snc/runtime/allocator.hpp): fresh pages at every run would show as
    // time in the first Func to touch them.
    handlers.custom_malloc = [](Halide::JITUserContext*, size_t bytes) { return runtime::BlockCache::instance().allocate(bytes); };
    handlers.custom_free = [](Halide::JITUserContext*, void* block) { runtime::BlockCache::instance().release(block); };
    // And their thread pool (snc/runtime/thread_pool.hpp): each thread the same band of every loop.
    static runtime::BandedThreadPool pool(runtime::pipeline_threads(argc > 3 ? std::atoi(argv[3]) : 0));
    handlers.custom_do_par_for = [](Halide::JITUserContext* context, int (*task)(Halide::JITUserContext*, int, uint8_t*), int min,
                                    int size, uint8_t* closure) {
        return pool.run(context, reinterpret_cast<halide_task_t>(task), min, size, closure);
    };
    Halide::Internal::JITSharedRuntime::set_default_handlers(handlers);
    if (training) return profile_training(graph, target, runs, argv[1]);
    const Packing packing = std::getenv("SNC_PACKING") ? Packing(std::atoi(std::getenv("SNC_PACKING"))) : halide::inference_packing;
    halide::JitNetwork network(plan_inference(graph, packing), target);
    Tensor input(dims_of(graph.input));
    for (size_t i = 0; i < input.data.size(); ++i) input.data[i] = float(i % 97) / 97.0f - 0.5f;
    runtime::HugePageFloats weights(network.plan().packed_floats);  // as the programs hold them
    for (size_t i = 0; i < weights.size(); ++i) weights.data()[i] = float(i % 89) / 890.0f - 0.05f;
    if (const char* stmt = std::getenv("SNC_PROFILE_STMT"))  // the lowered loop nest, for reading
        network.output().compile_to_lowered_stmt(stmt, network.output().infer_arguments(), Halide::Text, target);
    network.run(input, weights.data(), weights.size());  // compiles
    sampled_ms.clear();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < runs; ++i) network.run(input, weights.data(), weights.size());
    const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / runs;

    print_report(argv[1], wall_ms, runs);
    return 0;
}
