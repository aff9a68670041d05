// snc's hand schedule against Halide's bundled autoschedulers, stage by stage: every distinct conv
// stage of torchvision ResNet-18 at batch 1, compiled alone three ways (snc's CPU schedule,
// Mullapudi2016, Adams2019 with beam size 1: its default beam search takes minutes) and timed on
// the same data. The faster schedule per stage is reported; snc keeps the better one.
//   usage: schedules [threads]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include <Halide.h>

#include <snc/halide/schedule.hpp>
#include <snc/nets/torchvision.hpp>

namespace {
using namespace snc;

// A plan of one stage of `whole`, reading the network input in place of its input (the residual
// add and the activation, cheap epilogues, are left out; the batch norm is folded anyway).
Plan single_stage(const Plan& whole, const Stage& stage) {
    Plan plan{.graph = whole.graph, .packing = whole.packing, .packed_floats = whole.packed_floats};
    plan.graph.input = stage.in;
    plan.graph.output = 1;
    Stage alone = stage;
    alone.ops = {stage.main_op()};
    if (stage.batch_norm >= 0) alone.ops.push_back(stage.batch_norm);
    alone.input = 0;
    alone.residual = -1;
    alone.output = 1;
    alone.out = whole.op(stage.main_op()).out;
    plan.stages = {alone};
    return plan;
}

double time_ms(Halide::Func output, const Shape& shape, int runs) {
    Halide::Buffer<float> out(halide::halide_extents(shape));
    output.realize(out);
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        auto start = std::chrono::steady_clock::now();
        output.realize(out);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

double run_stage(const Plan& plan, const std::string& scheduler, Halide::Buffer<float>& input, Halide::Buffer<float>& weights) {
    Halide::ImageParam in(Halide::Float(32), 4, "input"), w(Halide::Float(32), 1, "weights");
    halide::constrain(in, plan.graph.input);
    w.dim(0).set_bounds(0, int(plan.packed_floats)).set_estimate(0, int(plan.packed_floats));
    in.set(input);
    w.set(weights);
    halide::Lowered lowered = halide::lower(plan, in, w);
    Halide::Target target = Halide::get_jit_target_from_environment();
    Shape out = plan.stages[0].out;
    if (scheduler == "hand") {
        halide::schedule(lowered, target);
    } else {
        std::vector<int> extents = halide::halide_extents(out);
        lowered.output.set_estimates({{0, extents[0]}, {0, extents[1]}, {0, extents[2]}, {0, extents[3]}});
        Halide::Pipeline pipeline(lowered.output);
        pipeline.auto_schedule(scheduler, target, Halide::MachineParams::generic());
    }
    lowered.output.compile_jit(target);
    return time_ms(lowered.output, out, 20);
}
}  // namespace

int main(int argc, char** argv) {
    if (argc > 1) setenv("HL_NUM_THREADS", argv[1], 1);  // read when the JIT runtime starts
    setenv("HL_BEAM_SIZE", "1", 1);
    Halide::load_plugin(SNC_MULLAPUDI_PLUGIN);
    Halide::load_plugin(SNC_ADAMS_PLUGIN);
    Plan whole = plan_inference<nets::torchvision::ResNet18<>>(halide::inference_packing);
    Halide::Buffer<float> weights(int(whole.packed_floats));
    weights.fill(0.01f);
    std::map<std::string, int> wins;
    std::printf("%-34s %-22s %10s %14s %12s  best\n", "stage", "in -> out", "snc ms", "Mullapudi ms", "Adams ms");
    std::map<std::string, bool> seen;
    for (const Stage& stage : whole.stages) {
        const Op& main = whole.main_op(stage);
        if (main.spec.kind != OpKind::conv) continue;
        char key[128];
        std::snprintf(key, sizeof key, "%lldx%lldx%lld k%d s%d -> %lld", (long long)stage.in.h(), (long long)stage.in.w(),
                      (long long)stage.in.c(), main.spec.window.kernel, main.spec.window.stride, (long long)stage.out.c());
        if (seen[key]) continue;
        seen[key] = true;
        Plan plan = single_stage(whole, stage);
        Halide::Buffer<float> input(halide::halide_extents(stage.in));
        input.fill(0.5f);
        double hand = run_stage(plan, "hand", input, weights);
        double mullapudi = run_stage(plan, "Mullapudi2016", input, weights);
        double adams = run_stage(plan, "Adams2019", input, weights);
        const char* best = hand <= mullapudi && hand <= adams ? "snc" : mullapudi <= adams ? "Mullapudi2016" : "Adams2019";
        ++wins[best];
        std::printf("%-34s %-22s %10.3f %14.3f %12.3f  %s\n", stage.name.c_str(), key, hand, mullapudi, adams, best);
    }
    std::printf("fastest per distinct conv stage:");
    for (const auto& [name, count] : wins) std::printf(" %s %d", name.c_str(), count);
    std::printf("\n");
    return 0;
}
