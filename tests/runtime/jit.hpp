// A network's inference pipeline compiled with Halide's JIT for this machine, with snc's CPU
// schedule: the tests run the very lowering and schedule the generators use. Each network type is
// compiled once per process and shared by every test that needs it.
#pragma once

#include <string>
#include <vector>

#include <Halide.h>

#include <snc/halide/lower.hpp>
#include <snc/halide/schedule.hpp>
#include <snc/io/tensor.hpp>

namespace snc::testing {

class JitNetwork {
public:
    explicit JitNetwork(Plan plan)
        : plan_(std::move(plan)),
          input_(Halide::Float(32), plan_.graph.input.rank, "input"),
          weights_(Halide::Float(32), 1, "weights") {
        halide::constrain(input_, plan_.graph.input);
        weights_.dim(0).set_bounds(0, int(plan_.packed_floats));
        lowered_ = halide::lower(plan_, input_, weights_);
        halide::schedule_cpu(lowered_, Halide::get_jit_target_from_environment());
    }
    JitNetwork(const JitNetwork&) = delete;
    JitNetwork& operator=(const JitNetwork&) = delete;

    const Plan& plan() const { return plan_; }

    Tensor run(const Tensor& input, std::vector<float>& packed) {
        if (!compiled_) lowered_.output.compile_jit(), compiled_ = true;
        Halide::Buffer<float> in(const_cast<float*>(input.data.data()), halide::halide_extents(plan_.graph.input));
        Halide::Buffer<float> w(packed.data(), int(packed.size()));
        input_.set(in);
        weights_.set(w);
        Shape out_shape = plan_.graph.shape_of(plan_.graph.output);
        Tensor out(dims_of(out_shape));
        Halide::Buffer<float> result(out.data.data(), halide::halide_extents(out_shape));
        lowered_.output.realize(result);
        return out;
    }

    Halide::Func output() const { return lowered_.output; }

private:
    Plan plan_;
    Halide::ImageParam input_, weights_;
    halide::Lowered lowered_;
    bool compiled_ = false;
};

template <NetworkType Net>
JitNetwork& jit() {
    static JitNetwork network(plan_inference<Net>());
    return network;
}

}  // namespace snc::testing
