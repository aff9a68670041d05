// What a generated entry point checks of its caller's buffers before it calls the pipeline, so
// that a misuse is a status and a sentence, never Halide's abort and never a silent bounds query.
// The pipelines take dense float32 buffers of the network's static shapes, min 0 in every
// dimension, C (or F) innermost: exactly what lower.hpp's constrain() tells Halide.
#pragma once

#include <cstdint>
#include <string>

#include <HalideRuntime.h>

#include <snc/runtime/status.h>

namespace snc::runtime {

namespace detail {
inline std::string shape_text(const std::int64_t* shape, int rank) {
    std::string text = "(";
    for (int d = 0; d < rank; ++d) text += (d ? ", " : "") + std::to_string(shape[d]);
    return text + ")";
}

// The name of dimension `d` (outermost first) of a rank-`rank` tensor, as the headers write shapes.
inline const char* dimension_name(int rank, int d) {
    static const char* const image[] = {"N", "H", "W", "C"};
    static const char* const features[] = {"N", "F"};
    if (rank == 4) return image[d];
    if (rank == 2) return features[d];
    return nullptr;  // a flat array (packed weights): its only dimension
}
}  // namespace detail

// SNC_OK when `buffer` is what `argument` of `entry` takes: `shape` outermost first (the header's
// <id>_input_shape order; halide_buffer_t lists the same dimensions innermost first). Otherwise the
// status, and in `why` a sentence naming the entry, the argument, the dimension, what was expected
// and what came.
inline int check_float_buffer(const char* entry, const char* argument, const halide_buffer_t* buffer, const std::int64_t* shape,
                              int rank, std::string& why) {
    const std::string where = std::string(entry) + ": " + argument + ": ";
    const std::string expected = "a dense float32 buffer of shape " + detail::shape_text(shape, rank);
    if (!buffer) {
        why = where + "the buffer is NULL; expected " + expected;
        return SNC_ERROR_NULL_BUFFER;
    }
    if (buffer->type.code != halide_type_float || buffer->type.bits != 32 || buffer->type.lanes != 1) {
        why = where + "the buffer holds " +
              std::string(buffer->type.code == halide_type_float    ? "float"
                          : buffer->type.code == halide_type_int    ? "int"
                          : buffer->type.code == halide_type_uint   ? "uint"
                          : buffer->type.code == halide_type_handle ? "handle"
                                                                     : "bfloat") +
              std::to_string(buffer->type.bits) + (buffer->type.lanes != 1 ? "x" + std::to_string(buffer->type.lanes) : "") +
              " values; expected float32";
        return SNC_ERROR_TYPE;
    }
    if (buffer->dimensions != rank) {
        why = where + "the buffer has " + std::to_string(buffer->dimensions) + " dimensions; expected " + std::to_string(rank) + ", " +
              expected;
        return SNC_ERROR_RANK;
    }
    if (!buffer->dim) {
        why = where + "the buffer's dim array is NULL; expected " + expected;
        return SNC_ERROR_NULL_BUFFER;
    }
    std::int64_t stride = 1;
    for (int h = 0; h < rank; ++h) {  // Halide's dimension h is dimension rank - 1 - h of the shape
        const int d = rank - 1 - h;
        const halide_dimension_t& dim = buffer->dim[h];
        const char* named = detail::dimension_name(rank, d);
        const std::string name = (named ? std::string("dimension ") + named : std::string("its only dimension")) +
                                 " (halide_buffer_t's dim[" + std::to_string(h) + "])";
        if (dim.extent != shape[d] || dim.min != 0) {
            why = where + name + " covers [" + std::to_string(dim.min) + ", " + std::to_string(std::int64_t(dim.min) + dim.extent) +
                  "); expected [0, " + std::to_string(shape[d]) + "), " + expected;
            return SNC_ERROR_SHAPE;
        }
        if (dim.stride != stride) {
            why = where + name + " has stride " + std::to_string(dim.stride) + "; expected " + std::to_string(stride) + ", " + expected +
                  " (the last dimension innermost)";
            return SNC_ERROR_STRIDES;
        }
        stride *= shape[d];
    }
    if (!buffer->host) {
        why = where + "the buffer's host pointer is NULL; snc answers no bounds queries: pass " + expected +
              " with its memory (a buffer that lives on a device only is not taken either)";
        return SNC_ERROR_NULL_HOST;
    }
    return SNC_OK;
}

}  // namespace snc::runtime
