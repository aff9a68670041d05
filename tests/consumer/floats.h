/* What the consumer's programs share: float32 files, halide_buffer_t over plain arrays, and the
 * comparison with the expected logits. Plain C that also compiles as C++, no library beyond the
 * model's. */
#ifndef APP_FLOATS_H
#define APP_FLOATS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "HalideRuntime.h"

/* Reads exactly `count` float32 values from `path`; NULL, with a line saying why, otherwise. */
static float *read_floats(const char *path, int64_t count) {
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "%s: cannot open\n", path);
        return NULL;
    }
    float *values = (float *)malloc((size_t)count * sizeof(float));
    size_t read = values ? fread(values, sizeof(float), (size_t)count, file) : 0;
    int trailing = fgetc(file);
    fclose(file);
    if (read != (size_t)count || trailing != EOF) {
        fprintf(stderr, "%s: expected exactly %lld float32 values\n", path, (long long)count);
        free(values);
        return NULL;
    }
    return values;
}

static int64_t element_count(const int64_t *shape, int32_t rank) {
    int64_t count = 1;
    for (int32_t d = 0; d < rank; ++d) count *= shape[d];
    return count;
}

/* A dense float32 buffer over `data` of `shape` (outermost first, as the model's header gives it).
 * halide_buffer_t lists dimensions innermost first: (N, H, W, C) becomes (C, W, H, N). */
static void describe(halide_buffer_t *buffer, halide_dimension_t *dims, float *data, const int64_t *shape, int32_t rank) {
    int32_t stride = 1;
    memset(buffer, 0, sizeof *buffer);
    for (int32_t d = 0; d < rank; ++d) {
        memset(&dims[d], 0, sizeof dims[d]);
        dims[d].extent = (int32_t)shape[rank - 1 - d];
        dims[d].stride = stride;
        stride *= dims[d].extent;
    }
    buffer->host = (uint8_t *)data;
    buffer->type.code = halide_type_float;
    buffer->type.bits = 32;
    buffer->type.lanes = 1;
    buffer->dimensions = rank;
    buffer->dim = dims;
}

/* 0 when every logit is within 1e-4 of the largest expected one (Winograd stages and folded batch
 * norm reorder the sums); a NaN anywhere fails. Prints the worst difference under `name`. */
static int compare_logits(const char *name, const float *logits, const float *expected, int64_t count) {
    double scale = 0.0, worst = 0.0;
    for (int64_t i = 0; i < count; ++i) scale = fmax(scale, fabs(expected[i]));
    for (int64_t i = 0; i < count; ++i) {
        double difference = fabs((double)logits[i] - expected[i]);
        if (!(difference <= worst)) worst = difference; /* NaN included */
    }
    printf("%s: %lld logits, max |computed - expected| = %.3g, largest logit %.3g\n", name, (long long)count, worst, scale);
    return worst <= 1e-4 * scale ? 0 : 1;
}

#endif
