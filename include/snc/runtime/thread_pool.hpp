// A thread pool for AOT-compiled snc pipelines (halide_set_custom_do_par_for) that cuts every
// parallel loop into one contiguous band per thread: of a loop's n iterations, thread t of T runs
// [ceil(t n / T), ceil((t + 1) n / T)), the caller being thread 0. Every stage's rows (or rows of
// Winograd tiles) are split the same way, so thread t computes the same band of every stage and
// mostly reads what it wrote itself, from its own caches.
//
// Why: on the 2-core build machine a core reads 4 MB that the other core has just written at
// 27 GB/s, and 4 MB of its own at 75-90 GB/s (the two cores are about 250 ns apart one way).
// Halide's own pool hands out a loop's iterations one at a time to whichever thread asks, so at
// batch 1 about half of what each stage read had been written by the other core. Measured
// (AOT programs, 2 threads, median of 200 runs, the same sitting, 2026-12-02):
//   torchvision ResNet-18 at batch 1: Halide's pool 9.90-10.19 ms; this pool with iterations
//     dealt round-robin (spinning, the other core's data) 9.23-9.50; in bands 8.34-8.37.
//   course ResNet-18 at batch 1: 3.00-3.01 ms; round-robin 2.47-2.48; in bands 2.01-2.04.
//   BNLeNet's training epoch 2.02-2.04 -> 1.57-1.59 s (test accuracy 0.8062 both); the course
//   ResNet-18's training step at batch 128 1012 -> 779 ms.
// On 1 thread nothing changes: every loop runs in the caller.
//
// Between loops a worker spins for 200 us before it sleeps: a pipeline's parallel loops follow
// each other within microseconds, and waking a sleeping thread costs about as much as a small loop.
// A loop started inside another loop's iteration, or while another caller's loop is running, runs
// serially in its caller: nothing waits on a pool that is busy.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include <HalideRuntime.h>

namespace snc::runtime {

class BandedThreadPool {
public:
    // `threads` counts the caller: threads - 1 workers start here.
    explicit BandedThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {
        for (int t = 1; t < threads_; ++t) workers_.emplace_back([this, t] { work(t); });
    }
    ~BandedThreadPool() {
        {
            std::lock_guard<std::mutex> lock(sleep_);
            stopping_.store(true, std::memory_order_relaxed);
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        for (std::thread& worker : workers_) worker.join();
    }
    BandedThreadPool(const BandedThreadPool&) = delete;
    BandedThreadPool& operator=(const BandedThreadPool&) = delete;

    int threads() const { return threads_; }

    // halide_do_par_for's contract: task(user_context, i, closure) for every i in [min, min + size);
    // the first non-zero result, or zero. (A band stops at its first failing iteration.)
    int run(void* user_context, halide_task_t task, int min, int size, std::uint8_t* closure) {
        if (threads_ == 1 || size < 2 || inside_loop()) return run_serially(user_context, task, min, size, closure);
        std::unique_lock<std::mutex> caller(callers_, std::try_to_lock);
        if (!caller.owns_lock()) return run_serially(user_context, task, min, size, closure);
        job_ = {user_context, task, closure, min, size};
        error_.store(0, std::memory_order_relaxed);
        pending_.store(threads_ - 1, std::memory_order_relaxed);
        {
            std::lock_guard<std::mutex> lock(sleep_);
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        run_band(0);
        while (pending_.load(std::memory_order_acquire) != 0) pause();
        return error_.load(std::memory_order_relaxed);
    }

private:
    struct Job {
        void* user_context;
        halide_task_t task;
        std::uint8_t* closure;
        int min, size;
    };

    static bool& inside_loop() {
        thread_local bool inside = false;
        return inside;
    }

    static void pause() {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }

    static int run_serially(void* user_context, halide_task_t task, int min, int size, std::uint8_t* closure) {
        const bool outer = !inside_loop();
        inside_loop() = true;
        int result = 0;
        for (int i = min; i < min + size && result == 0; ++i) result = task(user_context, i, closure);
        if (outer) inside_loop() = false;
        return result;
    }

    void run_band(int t) {
        const Job job = job_;
        // Rounded up, so that a loop shorter than the pool still starts in the caller.
        const long first = job.min + (long(job.size) * t + threads_ - 1) / threads_;
        const long end = job.min + (long(job.size) * (t + 1) + threads_ - 1) / threads_;
        inside_loop() = true;
        for (long i = first; i < end; ++i)
            if (int result = job.task(job.user_context, int(i), job.closure)) {
                int none = 0;
                error_.compare_exchange_strong(none, result, std::memory_order_relaxed);
                break;
            }
        inside_loop() = false;
    }

    void work(int t) {
        std::uint64_t seen = 0;
        for (;;) {
            const auto sleep_after = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
            std::uint64_t now = generation_.load(std::memory_order_acquire);
            for (int spins = 1; now == seen; ++spins) {
                if (spins % 64 == 0 && std::chrono::steady_clock::now() > sleep_after) {
                    std::unique_lock<std::mutex> lock(sleep_);
                    wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
                }
                pause();
                now = generation_.load(std::memory_order_acquire);
            }
            seen = now;
            if (stopping_.load(std::memory_order_relaxed)) return;
            run_band(t);
            pending_.fetch_sub(1, std::memory_order_release);
        }
    }

    const int threads_;
    std::vector<std::thread> workers_;
    std::mutex callers_, sleep_;
    std::condition_variable wake_;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<int> pending_{0}, error_{0};
    std::atomic<bool> stopping_{false};
    Job job_{};
};

// The threads a program's pipelines use: `requested` if above zero, else HL_NUM_THREADS (as
// Halide's own pool reads it), else every core.
inline int pipeline_threads(int requested) {
    if (requested > 0) return requested;
    if (const char* variable = std::getenv("HL_NUM_THREADS"); variable && std::atoi(variable) > 0)
        return std::atoi(variable);
    return std::max(1, int(std::thread::hardware_concurrency()));
}

// Routes every parallel loop of this program's pipelines through one BandedThreadPool of
// pipeline_threads(threads). Call once, before the first pipeline runs; a later call keeps the
// first pool. The pool lives until the process ends (a worker may be inside a loop at exit).
// Returns the pool's thread count.
inline int run_parallel_loops_in_bands(int threads = 0) {
    static BandedThreadPool* const pool = new BandedThreadPool(pipeline_threads(threads));
    halide_set_custom_do_par_for([](void* user_context, halide_task_t task, int min, int size, std::uint8_t* closure) {
        return pool->run(user_context, task, min, size, closure);
    });
    return pool->threads();
}

}  // namespace snc::runtime
