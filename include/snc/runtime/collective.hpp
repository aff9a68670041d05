// What a training step needs of the other processes of a data-parallel job (the trainers' MPI, or
// a test's stand-in): sums across processes, rank 0's values, and the synchronized batch norm's
// stage.
//
// Synchronized batch norm (PyTorch's SyncBatchNorm). With the batch split across K processes, a
// BatchNorm's statistics come from each process's B/K images unless the per-channel sums are
// combined. The CPU training step routes four sums of every BatchNorm through the extern stage
// snc_collective_mean (src/ops/norm.cpp): in the forward pass, the sum of the values and the sum
// of the squared deviations; in the backward pass, dbeta = sum g and dgamma = sum g x^. The stage
// returns the mean of the K processes' sums. Since each formula divides its sums by the count m of
// one process's values, the mean over processes of the sums divided by m equals the global sums
// divided by K m: mean and variance are the global batch's, and so is the input gradient
//   din = gamma / sqrt(var + eps) / m * (m g - dbeta - x^ dgamma)
// (each process's g is K times the global one's share, since its loss is a mean over B/K images;
// the gradient allreduce's division by K undoes that). The parameter gradients keep the local sums:
// the gradient allreduce sums them once.
//
// With no collective installed (one process, or the default local batch norm) the stage copies its
// input: the step is then exactly the single-process one. The backward pass of a segment recomputes
// its forward pass; there the stage replays the value the forward pass got (the same key), so each
// pass communicates once.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include <HalideRuntime.h>

namespace snc::runtime {

class Collective {
public:
    virtual ~Collective() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    // Element-wise sums over the processes, in place; every process gets the same values.
    virtual void sum(float* values, std::size_t count) = 0;
    virtual void sum(double* values, std::size_t count) = 0;
    // Rank 0's values, in place.
    virtual void broadcast(float* values, std::size_t count) = 0;
};

// The synchronized batch norm's state: the collective it averages over (null: none) and the values
// the forward passes got, by key, for the backward passes' replays.
struct SyncBatchNorm {
    Collective* collective = nullptr;
    std::map<std::int32_t, std::vector<double>> last;
    std::mutex mutex;  // guards `last`

    static SyncBatchNorm& instance() {
        static SyncBatchNorm state;
        return state;
    }
};

// Installs the collective the training step's batch norms average over; null goes back to local
// statistics. Set it before a step, not during one.
inline void synchronize_batch_norm(Collective* collective) {
    SyncBatchNorm& state = SyncBatchNorm::instance();
    std::lock_guard lock(state.mutex);
    state.collective = collective;
    state.last.clear();
}

inline bool batch_norm_synchronized() { return SyncBatchNorm::instance().collective != nullptr; }

namespace detail {

template <class T>
int collective_mean(std::int32_t key, bool replay, const halide_buffer_t* in, halide_buffer_t* out) {
    const int count = out->dim[0].extent;
    const T* from = reinterpret_cast<const T*>(in->host) + (out->dim[0].min - in->dim[0].min);
    T* to = reinterpret_cast<T*>(out->host);
    std::memcpy(to, from, std::size_t(count) * sizeof(T));
    SyncBatchNorm& state = SyncBatchNorm::instance();
    Collective* collective = state.collective;
    if (!collective || collective->size() == 1) return 0;
    if (replay) {
        std::lock_guard lock(state.mutex);
        const std::vector<double>& kept = state.last[key];
        if (kept.size() == std::size_t(count)) {
            for (int c = 0; c < count; ++c) to[c] = T(kept[std::size_t(c)]);
            return 0;
        }
    }
    collective->sum(to, std::size_t(count));  // not under the lock: it waits for the other processes
    const T processes = T(collective->size());
    std::vector<double> averaged(static_cast<std::size_t>(count));
    for (int c = 0; c < count; ++c) averaged[std::size_t(c)] = double(to[c] /= processes);
    std::lock_guard lock(state.mutex);
    state.last[key] = std::move(averaged);
    return 0;
}

}  // namespace detail

}  // namespace snc::runtime

// The extern stage itself, called by the compiled steps (AOT and JIT) with the C calling
// convention: out(c) = the mean over processes of in(c), for the channels `out` asks for. `replay`
// (the backward pass's recomputed forward) returns what the forward pass got for `key`. Defined in
// this header, weak, so that every program that includes a training step's header has it and the
// step's objects need no library of snc's own.
extern "C" __attribute__((weak)) int snc_collective_mean(std::int32_t key, std::int32_t replay, halide_buffer_t* in,
                                                         halide_buffer_t* out) {
    if (in->is_bounds_query()) {  // Halide asks which channels the stage reads: those it writes
        in->dim[0].min = out->dim[0].min;
        in->dim[0].extent = out->dim[0].extent;
        return 0;
    }
    if (out->type.bits == 64) return snc::runtime::detail::collective_mean<double>(key, replay != 0, in, out);
    return snc::runtime::detail::collective_mean<float>(key, replay != 0, in, out);
}
