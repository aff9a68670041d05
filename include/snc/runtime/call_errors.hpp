// Halide's errors inside an snc call become that call's status and message, never an abort, and
// nobody else's Halide error handler is taken away.
//
// Halide's runtime has one error handler per process (halide_set_error_handler); its default
// prints the message and calls abort(), which is what a C caller got on any misuse. snc's
// pipelines are compiled with a user context (add_halide_library's FEATURES user_context, the
// training compiler's Target::UserContext), so every error a call raises reaches the handler with
// that call's CallErrors as its context — on the caller's thread, on a thread pool's worker, or in
// a device's runtime. snc's handler keeps the message when the context is a live CallErrors (it
// looks the pointer up in a registry before it reads anything through it) and passes every other
// error, unchanged, to the handler that was installed before it: a program's own handler, another
// library's, or Halide's default. Each call puts snc's handler back if someone replaced it since,
// chaining to the replacement, so a caller that installs its own handler later still sees exactly
// its own errors. The handler is one inline function, the same for every snc model in a program.
#pragma once

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include <HalideRuntime.h>

#include <snc/runtime/status.h>

// A program that runs Halide only by JIT (libHalide: the tests) links no Halide runtime and so no
// halide_set_error_handler; its pipelines throw instead. The reference is weak there, and
// CallErrors then installs nothing.
#pragma weak halide_set_error_handler

namespace snc::runtime {

class CallErrors;

namespace detail {
inline std::mutex& live_calls_mutex() {
    static std::mutex mutex;
    return mutex;
}
inline std::vector<const CallErrors*>& live_calls() {
    static std::vector<const CallErrors*> calls;
    return calls;
}
inline std::atomic<halide_error_handler_t>& handler_before_snc() {
    static std::atomic<halide_error_handler_t> handler{nullptr};
    return handler;
}
inline void keep_call_error(CallErrors& call, const char* message);
inline void halide_error_to_call(void* user_context, const char* message);
inline void install_handler();
}  // namespace detail

class CallErrors {
public:
    CallErrors() {
        detail::install_handler();
        std::lock_guard<std::mutex> lock(detail::live_calls_mutex());
        detail::live_calls().push_back(this);
    }
    ~CallErrors() {
        std::lock_guard<std::mutex> lock(detail::live_calls_mutex());
        auto& calls = detail::live_calls();
        calls.erase(std::find(calls.begin(), calls.end(), this));
    }
    CallErrors(const CallErrors&) = delete;
    CallErrors& operator=(const CallErrors&) = delete;

    // What to pass as the pipeline's (or a runtime function's) user_context.
    void* context() { return this; }

    // The first message Halide gave this call (later ones are mostly its consequences), without
    // Halide's trailing newline; empty when it gave none.
    std::string message() const {
        std::lock_guard<std::mutex> lock(detail::live_calls_mutex());
        return message_;
    }

    // What to tell the caller of a failure with `halide_code`: the message, or that there was none.
    std::string describe(int halide_code) const {
        std::string kept = message();
        return "Halide error " + std::to_string(halide_code) + ": " + (kept.empty() ? std::string("Halide gave no message") : kept);
    }

    // A Halide error code as snc's status: what a caller can act on.
    static int status_of(int halide_code) {
        switch (halide_code) {
            case halide_error_code_success: return SNC_OK;
            case halide_error_code_out_of_memory:
            case halide_error_code_buffer_allocation_too_large: return SNC_ERROR_OUT_OF_MEMORY;
            case halide_error_code_copy_to_host_failed:
            case halide_error_code_copy_to_device_failed:
            case halide_error_code_device_malloc_failed:
            case halide_error_code_device_sync_failed:
            case halide_error_code_device_free_failed:
            case halide_error_code_no_device_interface:
            case halide_error_code_device_run_failed:
            case halide_error_code_device_wrap_native_failed:
            case halide_error_code_device_detach_native_failed:
            case halide_error_code_device_interface_no_device:
            case halide_error_code_device_buffer_copy_failed:
            case halide_error_code_device_crop_unsupported:
            case halide_error_code_device_crop_failed:
            case halide_error_code_incompatible_device_interface:
            case halide_error_code_device_dirty_with_no_device_support: return SNC_ERROR_DEVICE;
            case halide_error_code_buffer_argument_is_null:
            case halide_error_code_buffer_is_null: return SNC_ERROR_NULL_BUFFER;
            case halide_error_code_host_is_null: return SNC_ERROR_NULL_HOST;
            case halide_error_code_bad_type: return SNC_ERROR_TYPE;
            case halide_error_code_bad_dimensions: return SNC_ERROR_RANK;
            case halide_error_code_access_out_of_bounds:
            case halide_error_code_buffer_extents_negative:
            case halide_error_code_buffer_extents_too_large: return SNC_ERROR_SHAPE;
            case halide_error_code_constraint_violated: return SNC_ERROR_STRIDES;
            default: return SNC_ERROR_INTERNAL;
        }
    }

private:
    friend void detail::keep_call_error(CallErrors&, const char*);
    friend void detail::halide_error_to_call(void*, const char*);
    std::string message_;  // guarded by live_calls_mutex: a worker thread may raise while the caller reads
};

namespace detail {

inline void keep_call_error(CallErrors& call, const char* message) {
    if (!call.message_.empty()) return;
    call.message_ = message ? message : "";
    while (!call.message_.empty() && (call.message_.back() == '\n' || call.message_.back() == ' ')) call.message_.pop_back();
}

// snc's error handler: a live call's errors are kept, every other error goes on to the handler
// that was there before (Halide's default prints and aborts, as it would have without snc).
inline void halide_error_to_call(void* user_context, const char* message) {
    {
        std::lock_guard<std::mutex> lock(live_calls_mutex());
        const auto& calls = live_calls();
        auto live = std::find(calls.begin(), calls.end(), static_cast<const CallErrors*>(user_context));
        if (user_context && live != calls.end()) {
            keep_call_error(*const_cast<CallErrors*>(*live), message);
            return;
        }
    }
    if (halide_error_handler_t before = handler_before_snc().load()) before(user_context, message);
}

// Puts snc's handler in place, remembering the one it replaces unless that is snc's own.
inline void install_handler() {
    if (!&halide_set_error_handler) return;  // JIT only: see the weak reference above
    halide_error_handler_t replaced = halide_set_error_handler(&halide_error_to_call);
    if (replaced != &halide_error_to_call) handler_before_snc().store(replaced);
}

}  // namespace detail
}  // namespace snc::runtime
