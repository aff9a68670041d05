/* The devices a compiled snc model or training step runs on, in C for the headers snc_add_model
 * generates (C++ helpers for programs: snc/runtime/devices.hpp).
 *
 * A library carries a variant per device it was compiled for (snc_add_model's TARGETS: CPU ones,
 * x86-64-linux-cuda-cuda_capability_70, x86-64-linux-opencl); the caller chooses at run time. AUTO
 * takes CUDA where it is usable, else OpenCL where it offers a GPU, else the CPU. Asking for a
 * device that cannot be used (no driver, no device, a kernel that does not build) is refused with
 * the reason; it never falls back silently. */
#ifndef SNC_RUNTIME_DEVICE_H
#define SNC_RUNTIME_DEVICE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum snc_device { SNC_DEVICE_AUTO = 0, SNC_DEVICE_CPU = 1, SNC_DEVICE_CUDA = 2, SNC_DEVICE_OPENCL = 3 };

#ifdef __cplusplus
}
#endif

#endif
