// The GPU's FP32 peak, measured: every GPU thread runs `chains` independent multiply-add chains
// (enough to hide the FMA latency), `iterations` times each, on values the compiler cannot fold.
// out(x) sums thread x's chains so that no chain is dead code.
#include <Halide.h>

namespace {
using namespace Halide;

class GpuFmaPeak : public Generator<GpuFmaPeak> {
public:
    static constexpr int chains = 8;
    Input<int> iterations{"iterations"};
    Input<float> scale{"scale"};
    Output<Buffer<float>> out{"out", 1};

    void generate() {
        Var x{"x"}, k{"k"}, xo{"xo"}, xi{"xi"};
        Func chain{"chain"};
        RDom step(0, iterations);
        chain(x, k) = cast<float>(x + k);
        // One fused multiply-add a step (LLVM contracts the pair). The select makes the update a
        // loop over `step`; inside that loop the condition is true and simplifies away.
        chain(x, k) = select(step.x < iterations, chain(x, k) * scale + 1e-7f, chain(x, k));
        RDom each(0, chains);
        out(x) = sum(chain(x, each));

        out.gpu_tile(x, xo, xi, 256);
        chain.compute_at(out, xi).bound(k, 0, chains).unroll(k);
        chain.update().reorder(k, step).unroll(k);
    }
};
}  // namespace

HALIDE_REGISTER_GENERATOR(GpuFmaPeak, gpu_fma_peak)
