// cuDNN's own times for the convolutions snc's GPU benchmark runs, so that the first session with a
// GPU measures snc against cuDNN in the same run (bench/gpu_run calls it). Built here with nvcc
// against the installed cuDNN 9; run only where a GPU is.
//   cudnn-convs convs.txt [runs]
// convs.txt is bench/conv_shapes's output (one conv a line, from snc's own graphs). For each conv:
// NHWC float32 tensors and weights, the fastest forward algorithm cuDNN finds for it (with its
// workspace), timed with CUDA events over `runs` calls (median), twice: with FP32 FMAs only
// (CUDNN_FMA_MATH, the arithmetic snc's kernels do) and with cuDNN's default math (TF32 tensor
// cores where the GPU has them). An asymmetric pad (Keras's "same" at stride 2) is one more input row
// and column, zeros, as TensorFlow gives cuDNN. The convolution alone: snc's stage also applies the folded batch
// norm, the residual add and the ReLU, so a network's sum of these times is a floor for an engine
// built on cuDNN's convolutions, not its latency.
// Exit codes: 0 done, 2 bad arguments or file, 3 no usable GPU or cuDNN failure.
#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(int code, const std::string& message) {
    std::fprintf(stderr, "cudnn-convs: %s\n", message.c_str());
    std::exit(code);
}

void check(cudaError_t status, const char* what) {
    if (status != cudaSuccess) fail(3, std::string(what) + ": " + cudaGetErrorString(status));
}

void check(cudnnStatus_t status, const char* what) {
    if (status != CUDNN_STATUS_SUCCESS) fail(3, std::string(what) + ": " + cudnnGetErrorString(status));
}

struct Conv {
    std::string network;
    int n, c, h, w, k, kernel, stride, pad_top, pad_left, pad_bottom, pad_right, out_h, out_w;
    std::string epilogue;
    double flops() const { return 2.0 * n * out_h * out_w * k * double(c) * kernel * kernel; }
    std::string shape() const {
        std::ostringstream s;
        s << n << "x" << h << "x" << w << "x" << c << " -> " << k << " " << kernel << "x" << kernel << "/" << stride;
        return s.str();
    }
    std::string pads() const {
        return std::to_string(pad_top) + "," + std::to_string(pad_left) + "," + std::to_string(pad_bottom) + "," + std::to_string(pad_right);
    }
};

std::vector<Conv> read_convs(const char* path) {
    std::ifstream in(path);
    if (!in) fail(2, std::string(path) + ": cannot read");
    std::vector<Conv> convs;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty()) continue;
        std::istringstream fields(line);
        Conv c;
        if (!(fields >> c.network >> c.n >> c.c >> c.h >> c.w >> c.k >> c.kernel >> c.stride >> c.pad_top >> c.pad_left >>
              c.pad_bottom >> c.pad_right >> c.out_h >> c.out_w >> c.epilogue) ||
            c.n <= 0 || c.c <= 0 || c.h <= 0 || c.w <= 0 || c.k <= 0 || c.kernel <= 0 || c.stride <= 0)
            fail(2, std::string(path) + ":" + std::to_string(number) + ": not a conv line (network N C H W K kernel stride 4 pads OH OW epilogue)");
        // cuDNN's descriptor pads both sides alike. Keras's "same" at stride 2 (the course's
        // ResNet-18) pads one more at the bottom and right: the input then carries that extra row
        // and column itself (zeros), as TensorFlow does on cuDNN; see time_conv.
        if (c.pad_bottom < c.pad_top || c.pad_right < c.pad_left)
            fail(2, std::string(path) + ":" + std::to_string(number) + ": more padding at the top or left than at the bottom or right");
        convs.push_back(c);
    }
    if (convs.empty()) fail(2, std::string(path) + ": no conv");
    return convs;
}

// The median time of `runs` calls of the fastest algorithm under `math`, in ms.
double time_conv(cudnnHandle_t handle, const Conv& c, cudnnMathType_t math, int runs, std::string& algorithm_name) {
    cudnnTensorDescriptor_t x_desc, y_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    check(cudnnCreateTensorDescriptor(&x_desc), "cudnnCreateTensorDescriptor");
    check(cudnnCreateTensorDescriptor(&y_desc), "cudnnCreateTensorDescriptor");
    check(cudnnCreateFilterDescriptor(&w_desc), "cudnnCreateFilterDescriptor");
    check(cudnnCreateConvolutionDescriptor(&conv_desc), "cudnnCreateConvolutionDescriptor");
    // The extra bottom rows and right columns of an asymmetric pad, in the input itself.
    const int h = c.h + (c.pad_bottom - c.pad_top), w_in = c.w + (c.pad_right - c.pad_left);
    check(cudnnSetTensor4dDescriptor(x_desc, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, c.n, c.c, h, w_in), "input descriptor");
    check(cudnnSetFilter4dDescriptor(w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, c.k, c.c, c.kernel, c.kernel), "filter descriptor");
    check(cudnnSetConvolution2dDescriptor(conv_desc, c.pad_top, c.pad_left, c.stride, c.stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                          CUDNN_DATA_FLOAT),
          "convolution descriptor");
    check(cudnnSetConvolutionMathType(conv_desc, math), "cudnnSetConvolutionMathType");
    int n, k, oh, ow;
    check(cudnnGetConvolution2dForwardOutputDim(conv_desc, x_desc, w_desc, &n, &k, &oh, &ow), "output dimensions");
    if (oh != c.out_h || ow != c.out_w)
        fail(2, c.network + " " + c.shape() + ": cuDNN's output is " + std::to_string(oh) + "x" + std::to_string(ow) + ", snc's " +
                    std::to_string(c.out_h) + "x" + std::to_string(c.out_w));
    check(cudnnSetTensor4dDescriptor(y_desc, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, n, k, oh, ow), "output descriptor");

    const size_t x_bytes = sizeof(float) * size_t(c.n) * c.c * h * w_in;
    const size_t w_bytes = sizeof(float) * size_t(c.k) * c.c * c.kernel * c.kernel;
    const size_t y_bytes = sizeof(float) * size_t(n) * k * oh * ow;
    void *x, *w, *y;
    check(cudaMalloc(&x, x_bytes), "cudaMalloc");
    check(cudaMalloc(&w, w_bytes), "cudaMalloc");
    check(cudaMalloc(&y, y_bytes), "cudaMalloc");
    check(cudaMemset(x, 0, x_bytes), "cudaMemset");
    check(cudaMemset(w, 0, w_bytes), "cudaMemset");

    // Find: cuDNN times every algorithm itself; the fastest whose workspace fits 1 GiB is kept.
    const size_t workspace_limit = size_t(1) << 30;
    void* workspace = nullptr;
    check(cudaMalloc(&workspace, workspace_limit), "cudaMalloc (workspace)");
    cudnnConvolutionFwdAlgoPerf_t found[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    check(cudnnFindConvolutionForwardAlgorithmEx(handle, x_desc, x, w_desc, w, conv_desc, y_desc, y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                 &returned, found, workspace, workspace_limit),
          "cudnnFindConvolutionForwardAlgorithmEx");
    int best = -1;
    for (int i = 0; i < returned; ++i)
        if (found[i].status == CUDNN_STATUS_SUCCESS && found[i].memory <= workspace_limit) {
            best = i;
            break;
        }
    if (best < 0) fail(3, c.network + " " + c.shape() + ": no cuDNN algorithm runs it");
    const cudnnConvolutionFwdAlgo_t algorithm = found[best].algo;
    static const std::map<int, const char*> names{{CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, "implicit_gemm"},
                                                  {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, "implicit_precomp_gemm"},
                                                  {CUDNN_CONVOLUTION_FWD_ALGO_GEMM, "gemm"},
                                                  {CUDNN_CONVOLUTION_FWD_ALGO_DIRECT, "direct"},
                                                  {CUDNN_CONVOLUTION_FWD_ALGO_FFT, "fft"},
                                                  {CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING, "fft_tiling"},
                                                  {CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, "winograd"},
                                                  {CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, "winograd_nonfused"}};
    auto name = names.find(int(algorithm));
    algorithm_name = name == names.end() ? "algo " + std::to_string(int(algorithm)) : name->second;

    const float one = 1.0f, zero = 0.0f;
    cudaEvent_t start, stop;
    check(cudaEventCreate(&start), "cudaEventCreate");
    check(cudaEventCreate(&stop), "cudaEventCreate");
    std::vector<float> times;
    for (int r = 0; r < runs + 3; ++r) {
        check(cudaEventRecord(start), "cudaEventRecord");
        check(cudnnConvolutionForward(handle, &one, x_desc, x, w_desc, w, conv_desc, algorithm, workspace, found[best].memory, &zero,
                                      y_desc, y),
              "cudnnConvolutionForward");
        check(cudaEventRecord(stop), "cudaEventRecord");
        check(cudaEventSynchronize(stop), "cudaEventSynchronize");
        float ms = 0;
        check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
        if (r >= 3) times.push_back(ms);  // three warm-up calls
    }
    std::sort(times.begin(), times.end());
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    cudaFree(workspace);
    cudaFree(x);
    cudaFree(w);
    cudaFree(y);
    cudnnDestroyTensorDescriptor(x_desc);
    cudnnDestroyTensorDescriptor(y_desc);
    cudnnDestroyFilterDescriptor(w_desc);
    cudnnDestroyConvolutionDescriptor(conv_desc);
    return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) fail(2, "usage: cudnn-convs convs.txt [runs]");
    const int runs = argc == 3 ? std::atoi(argv[2]) : 50;
    if (runs < 1 || runs > 100000) fail(2, "runs must be 1..100000");
    const std::vector<Conv> convs = read_convs(argv[1]);

    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) fail(3, "no CUDA GPU here");
    cudaDeviceProp properties;
    check(cudaGetDeviceProperties(&properties, 0), "cudaGetDeviceProperties");
    cudnnHandle_t handle;
    check(cudnnCreate(&handle), "cudnnCreate");
    std::printf("cuDNN %zu on %s (compute capability %d.%d); median of %d calls; FP32 = FMA math only, default = TF32 tensor cores allowed\n",
                cudnnGetVersion(), properties.name, properties.major, properties.minor, runs);
    std::printf("%-26s %-28s %-10s %10s %10s %10s  %s\n", "network", "conv (NHWC in -> K kxk/stride)", "epilogue", "FP32 ms",
                "GFLOP/s", "default ms", "algorithm (FP32)");

    // Shapes repeat within a network (ResNet stages): each distinct one is timed once.
    std::map<std::string, std::pair<double, double>> measured;
    std::map<std::string, std::string> algorithm_of;
    std::map<std::string, std::pair<double, double>> network_sum;
    std::vector<std::string> order;
    for (const Conv& c : convs) {
        const std::string key = c.shape() + " pads " + c.pads();
        if (!measured.count(key)) {
            std::string fma_algorithm, default_algorithm;
            const double fma_ms = time_conv(handle, c, CUDNN_FMA_MATH, runs, fma_algorithm);
            const double default_ms = time_conv(handle, c, CUDNN_DEFAULT_MATH, runs, default_algorithm);
            measured[key] = {fma_ms, default_ms};
            algorithm_of[key] = fma_algorithm;
        }
        const auto [fma_ms, default_ms] = measured[key];
        std::printf("%-26s %-28s %-10s %10.4f %10.1f %10.4f  %s\n", c.network.c_str(), c.shape().c_str(), c.epilogue.c_str(), fma_ms,
                    c.flops() / fma_ms / 1e6, default_ms, algorithm_of[key].c_str());
        if (!network_sum.count(c.network)) order.push_back(c.network);
        network_sum[c.network].first += fma_ms;
        network_sum[c.network].second += default_ms;
    }
    std::printf("\nSum over each network's convolutions (a floor for a cuDNN-based engine; compare with snc's whole-network latency):\n");
    for (const std::string& network : order)
        std::printf("  %-26s FP32 %9.3f ms   default %9.3f ms\n", network.c_str(), network_sum[network].first, network_sum[network].second);
    cudnnDestroy(handle);
    return 0;
}
