// Devices at run time, for compiled models and training steps: names, whether one is usable here
// (and why not), and calls of a device's pipeline on host buffers. Only Halide's runtime is needed.
//
// Halide's runtime reports a missing driver or a kernel that does not build through its error
// handler, whose default aborts the program; capture_halide_errors() installs one that keeps the
// message instead, so that the failing call returns an error and the program can say why.
#pragma once

#include <dlfcn.h>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <HalideRuntime.h>

#include <snc/runtime/call_errors.hpp>
#include <snc/runtime/device.h>

namespace snc::runtime {

inline const char* device_name(int device) {
    switch (device) {
        case SNC_DEVICE_AUTO: return "auto";
        case SNC_DEVICE_CPU: return "cpu";
        case SNC_DEVICE_CUDA: return "cuda";
        case SNC_DEVICE_OPENCL: return "opencl";
    }
    return "unknown";
}

// The name in messages: "CUDA cannot be used: ...".
inline const char* device_label(int device) {
    switch (device) {
        case SNC_DEVICE_CPU: return "the CPU";
        case SNC_DEVICE_CUDA: return "CUDA";
        case SNC_DEVICE_OPENCL: return "OpenCL";
    }
    return "the device";
}

inline std::optional<snc_device> parse_device(std::string_view name) {
    for (int device : {SNC_DEVICE_AUTO, SNC_DEVICE_CPU, SNC_DEVICE_CUDA, SNC_DEVICE_OPENCL})
        if (name == device_name(device)) return snc_device(device);
    return std::nullopt;
}

namespace detail {
inline std::mutex& error_mutex() {
    static std::mutex mutex;
    return mutex;
}
inline std::string& last_error() {
    static std::string message;
    return message;
}
}  // namespace detail

// Keeps Halide's error messages (the last one) instead of aborting on them, by replacing the
// process's Halide error handler for good: for a program that owns its process and calls Halide
// pipelines built without a user context (bench/gpu_fma_peak). snc's own libraries and engines
// borrow the handler per call instead (call_errors.hpp).
inline void capture_halide_errors() {
    static const bool installed = [] {
        halide_set_error_handler([](void*, const char* message) {
            std::lock_guard<std::mutex> lock(detail::error_mutex());
            std::string text = message ? message : "";
            while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
            detail::last_error() = text;
        });
        return true;
    }();
    (void)installed;
}

inline std::string take_halide_error() {
    std::lock_guard<std::mutex> lock(detail::error_mutex());
    std::string message = detail::last_error();
    detail::last_error().clear();
    return message.empty() ? std::string("Halide reported an error without a message") : message;
}

// Empty when `interface`'s device can be used here: a one-float allocation on it and a copy there
// and back succeed. Else the reason, as the driver or Halide's runtime gave it.
inline std::string device_problem(const halide_device_interface_t* interface) {
    CallErrors call;
    float value = 1.0f;
    halide_dimension_t dimension{0, 1, 1, 0};
    halide_buffer_t probe{};
    probe.host = reinterpret_cast<std::uint8_t*>(&value);
    probe.type = halide_type_t(halide_type_float, 32);
    probe.dimensions = 1;
    probe.dim = &dimension;
    probe.set_host_dirty(true);
    int result = halide_copy_to_device(call.context(), &probe, interface);
    if (result == 0) {
        probe.set_device_dirty(true);
        result = halide_copy_to_host(call.context(), &probe);
    }
    std::string problem = result == 0 ? "" : call.message();
    if (result != 0 && problem.empty()) problem = call.describe(result);
    if (probe.device) halide_device_free(call.context(), &probe);
    return problem;
}

// Whether an OpenCL platform here offers a GPU. AUTO takes OpenCL only then: an OpenCL driver for
// the CPU (PoCL) runs snc's kernels far slower than its CPU schedules. Asked of the ICD loader
// (libOpenCL) directly, as Halide's runtime does not say what kind of device it found.
inline bool opencl_has_gpu() {
    void* library = ::dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) library = ::dlopen("libOpenCL.so", RTLD_NOW | RTLD_LOCAL);
    if (!library) return false;
    using GetPlatforms = std::int32_t (*)(std::uint32_t, void**, std::uint32_t*);
    using GetDevices = std::int32_t (*)(void*, std::uint64_t, std::uint32_t, void**, std::uint32_t*);
    auto platforms_of = reinterpret_cast<GetPlatforms>(::dlsym(library, "clGetPlatformIDs"));
    auto devices_of = reinterpret_cast<GetDevices>(::dlsym(library, "clGetDeviceIDs"));
    bool gpu = false;
    void* platforms[16];
    std::uint32_t count = 0;
    constexpr std::uint64_t device_type_gpu = 1 << 2;  // CL_DEVICE_TYPE_GPU
    if (platforms_of && devices_of && platforms_of(16, platforms, &count) == 0)
        for (std::uint32_t p = 0; p < count && p < 16 && !gpu; ++p) {
            std::uint32_t devices = 0;
            gpu = devices_of(platforms[p], device_type_gpu, 0, nullptr, &devices) == 0 && devices > 0;
        }
    // The library stays loaded: the ICD loader keeps its platform list in its own globals, which
    // dlclose would unmap with the list still allocated (LeakSanitizer reported 77 bytes), and
    // Halide's OpenCL runtime opens the same library again when it runs.
    return gpu;
}

// A device copy of read-only data (packed weights), made once per host array and kept.
class DeviceCopy {
public:
    halide_buffer_t* of(const halide_buffer_t* host) {
        if (!host->host || host->host != buffer_.host || host->dim[0].extent != dimension_.extent ||
            host->dim[0].min != dimension_.min) {
            release();
            buffer_ = *host;
            dimension_ = host->dim[0];
            buffer_.dim = &dimension_;
            buffer_.device = 0;
            buffer_.device_interface = nullptr;
            buffer_.flags = 0;
            buffer_.set_host_dirty(true);
        }
        return &buffer_;
    }
    void release() {
        if (buffer_.device) {
            CallErrors call;  // a failure to free is kept here, not an abort at exit
            halide_device_free(call.context(), &buffer_);
        }
        buffer_ = {};
    }
    ~DeviceCopy() { release(); }

private:
    halide_buffer_t buffer_{};
    halide_dimension_t dimension_{};
};

// Calls a pipeline compiled for a device on the caller's host buffers: the input goes to the
// device, the output comes back, and neither keeps a device copy it did not have before.
// `user_context` is the call's (CallErrors::context()), for the runtime functions called here too.
template <class Call>
int call_on_device(Call&& call, halide_buffer_t* input, halide_buffer_t* weights, halide_buffer_t* output, void* user_context) {
    const bool input_had_device = input->device != 0, output_had_device = output->device != 0;
    if (!input_had_device) input->set_host_dirty(true);
    int result = call(input, weights, output);
    if (result == 0) result = halide_copy_to_host(user_context, output);
    if (!input_had_device && input->device) halide_device_free(user_context, input);
    if (!output_had_device && output->device) halide_device_free(user_context, output);
    return result;
}

}  // namespace snc::runtime
