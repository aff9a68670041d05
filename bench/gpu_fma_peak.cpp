// The GPU's FP32 peak: times the FMA loop of gpu_fma_peak_generator.cpp on CUDA and prints the
// GPU's name (from the driver) and GFLOP/s. Needs the NVIDIA driver only.
//   usage: gpu-fma-peak
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <HalideBuffer.h>
#include <HalideRuntime.h>

#include <snc/runtime/devices.hpp>

#include "gpu_fma_peak_kernel.h"

namespace {
// The GPU's name, asked of libcuda directly (Halide's runtime does not say).
std::string gpu_name() {
    void* cuda = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!cuda) return "unknown GPU";
    using Init = int (*)(unsigned);
    using Get = int (*)(int*, int);
    using Name = int (*)(char*, int, int);
    auto init = reinterpret_cast<Init>(::dlsym(cuda, "cuInit"));
    auto get = reinterpret_cast<Get>(::dlsym(cuda, "cuDeviceGet"));
    auto name_of = reinterpret_cast<Name>(::dlsym(cuda, "cuDeviceGetName"));
    char name[256] = "unknown GPU";
    int device = 0;
    if (init && get && name_of && init(0) == 0 && get(&device, 0) == 0) name_of(name, sizeof name, device);
    return name;
}
}  // namespace

int main() {
    snc::runtime::capture_halide_errors();  // Halide's default handler aborts: a machine without a GPU gets a line, exit 1
    constexpr int threads = 1 << 21;  // 8192 blocks of 256: every SM of any GPU full, many times over
    constexpr int iterations = 4096, chains = 8;
    Halide::Runtime::Buffer<float> out(threads);
    if (int result = gpu_fma_peak_kernel(iterations / 16, 0.999999f, out); result != 0) {  // warm-up: the driver compiles the PTX
        std::fprintf(stderr, "gpu-fma-peak: CUDA cannot be used: %s (Halide error %d)\n", snc::runtime::take_halide_error().c_str(),
                     result);
        return 1;
    }
    out.copy_to_host();
    std::vector<double> seconds;
    for (int run = 0; run < 5; ++run) {
        auto start = std::chrono::steady_clock::now();
        if (gpu_fma_peak_kernel(iterations, 0.999999f, out) != 0 || out.copy_to_host() != 0) {
            std::fprintf(stderr, "gpu-fma-peak: the timed run failed: %s\n", snc::runtime::take_halide_error().c_str());
            return 1;
        }
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    double best = *std::min_element(seconds.begin(), seconds.end());
    std::printf("fp32 peak, %s: %.0f GFLOP/s\n", gpu_name().c_str(), 2.0 * chains * double(iterations) * threads / best / 1e9);
    return 0;
}
