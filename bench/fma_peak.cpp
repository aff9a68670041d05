// The machine's FP32 peak, measured: each thread runs independent chains of fused multiply-adds
// on the widest vectors the CPU has (AVX-512: 16 floats, AVX2: 8), enough chains to cover the FMA
// latency on both ports. Prints GFLOP/s for 1 and 2 threads (and the thread counts given); where
// the CPU has AVX-512 VNNI, the int8 peak of vpdpbusd too (GOP/s, a multiply-add counted as 2).
//   usage: fma_peak [threads...]
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {
constexpr long iterations = 20'000'000;
constexpr int chains = 12;  // 2 ports x 4 cycles latency, with room

__attribute__((target("avx512f"))) float run_avx512() {
    __m512 acc[chains];
    for (int i = 0; i < chains; ++i) acc[i] = _mm512_set1_ps(float(i));
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iterations; ++it)
#pragma GCC unroll 16
        for (int i = 0; i < chains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __m512 sum = acc[0];
    for (int i = 1; i < chains; ++i) sum = _mm512_add_ps(sum, acc[i]);
    return _mm512_reduce_add_ps(sum);
}

__attribute__((target("avx2,fma"))) float run_avx2() {
    __m256 acc[chains];
    for (int i = 0; i < chains; ++i) acc[i] = _mm256_set1_ps(float(i));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < iterations; ++it)
#pragma GCC unroll 16
        for (int i = 0; i < chains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    float out[8];
    __m256 sum = acc[0];
    for (int i = 1; i < chains; ++i) sum = _mm256_add_ps(sum, acc[i]);
    _mm256_storeu_ps(out, sum);
    return out[0];
}

// int8: chains of AVX-512 VNNI's vpdpbusd, each 16 lanes of 4 u8 x s8 products summed into int32:
// 64 multiply-adds, 128 integer operations an instruction (issue 33's peak).
__attribute__((target("avx512f,avx512vnni"))) int run_vnni() {
    __m512i acc[chains];
    for (int i = 0; i < chains; ++i) acc[i] = _mm512_set1_epi32(i);
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    for (long it = 0; it < iterations; ++it)
#pragma GCC unroll 16
        for (int i = 0; i < chains; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    __m512i sum = acc[0];
    for (int i = 1; i < chains; ++i) sum = _mm512_add_epi32(sum, acc[i]);
    return _mm512_reduce_add_epi32(sum);
}

double int8_gops(int threads) {
    std::vector<std::thread> pool;
    std::vector<int> sink(static_cast<std::size_t>(threads));
    auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { sink[std::size_t(t)] = run_vnni(); });
    for (auto& thread : pool) thread.join();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return 128.0 * chains * double(iterations) * threads / seconds / 1e9;
}

double gflops(int threads, bool avx512) {
    std::vector<std::thread> pool;
    std::vector<float> sink(static_cast<std::size_t>(threads));
    auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] { sink[std::size_t(t)] = avx512 ? run_avx512() : run_avx2(); });
    for (auto& thread : pool) thread.join();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double lanes = avx512 ? 16 : 8;
    return 2.0 * lanes * chains * double(iterations) * threads / seconds / 1e9;
}
}  // namespace

int main(int argc, char** argv) {
    bool avx512 = __builtin_cpu_supports("avx512f");
    std::vector<int> counts;
    for (int i = 1; i < argc; ++i) counts.push_back(std::atoi(argv[i]));
    if (counts.empty()) counts = {1, 2};
    for (int threads : counts)
        std::printf("fp32 peak, %d thread%s, %s: %.1f GFLOP/s\n", threads, threads > 1 ? "s" : "", avx512 ? "AVX-512" : "AVX2",
                    gflops(threads, avx512));
    // The machine kind the benchmark's ratios belong to: a core that runs 512-bit FMAs at full rate
    // does twice the 256-bit work a cycle; one that splits them into two 256-bit halves (AMD's Zen 4,
    // the kind that read 116.6 GFLOP/s on 1 thread here) does the same.
    if (__builtin_cpu_supports("avx512vnni"))
        for (int threads : counts)
            std::printf("int8 peak (AVX-512 VNNI vpdpbusd), %d thread%s: %.1f GOP/s\n", threads, threads > 1 ? "s" : "", int8_gops(threads));
    if (avx512) {
        const double wide = gflops(1, true), narrow = gflops(1, false);
        std::printf("512-bit FMAs at %s rate: 1 thread AVX-512 %.1f against AVX2 %.1f GFLOP/s (%.2fx)\n",
                    wide > 1.5 * narrow ? "full" : "half", wide, narrow, wide / narrow);
    }
    return 0;
}
