/* What the entry points of a compiled snc library return, in C for the headers snc_add_model
 * generates. 0 is success; every other value names the kind of mistake or failure, and the
 * library's <id>_last_error() gives the message of the calling thread's last failure: the
 * argument, the dimension, what was expected and what came. A failed call never ends the caller's
 * process and never prints; it writes nothing to its output but may have written part of it. */
#ifndef SNC_RUNTIME_STATUS_H
#define SNC_RUNTIME_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

enum snc_status {
    SNC_OK = 0,
    SNC_ERROR_NULL_BUFFER = 1,    /* a buffer argument is NULL */
    SNC_ERROR_NULL_HOST = 2,      /* a buffer's host pointer is NULL: snc answers no bounds queries */
    SNC_ERROR_TYPE = 3,           /* a buffer is not float32 with one lane */
    SNC_ERROR_RANK = 4,           /* a buffer has the wrong number of dimensions */
    SNC_ERROR_SHAPE = 5,          /* a dimension's extent differs from the network's, or its min is not 0 */
    SNC_ERROR_STRIDES = 6,        /* a buffer is not dense in the network's layout (C innermost) */
    SNC_ERROR_WEIGHTS = 7,        /* packed weights of the wrong size, or a weights file that does not fit */
    SNC_ERROR_DEVICE = 8,         /* the device failed: no driver, no device, out of its memory, a kernel */
    SNC_ERROR_OUT_OF_MEMORY = 9,  /* host memory could not be had */
    SNC_ERROR_ARGUMENT = 10,      /* another argument is out of range (an unknown device, a NULL path) */
    SNC_ERROR_INTERNAL = 11       /* anything else Halide's runtime reported; the message says what */
};

#ifdef __cplusplus
}
#endif

#endif
