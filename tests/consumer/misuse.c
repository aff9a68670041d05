/* A C caller's mistakes, made in one process against two snc models (my_net, weights embedded;
 * my_training_inference, weights at run time): each must come back as its status and a message that
 * names what was wrong, with nothing printed and the process alive. Then an allocation that fails
 * inside the pipeline, a caller whose own Halide error handler must keep seeing its own errors
 * (and only those), and 8 threads x 20 calls of both models, with misuses among them, that must
 * give the first call's bits and each thread its own message. Finally a well-formed call, checked
 * against argv[2]:   misuse <input.f32> <expected.f32> <trained.safetensors> */
#include <pthread.h>

#include "floats.h"
#include "my_net.h"
#include "my_training_inference.h"

static int failures = 0;

/* The caller's own handler: counts what reaches it, prints nothing. */
static int callers_errors = 0;
static void callers_handler(void *user_context, const char *message) {
    (void)user_context;
    (void)message;
    ++callers_errors;
}

static void check(const char *what, int got, int status, const char *message, const char *needle1, const char *needle2) {
    int ok = got == status && strstr(message, needle1) != NULL && (!needle2 || strstr(message, needle2) != NULL);
    printf("%s %s: status %d, \"%s\"\n", ok ? "ok  " : "FAIL", what, got, message);
    failures += !ok;
}
/* The call first, then its message: C leaves the order of a function's arguments open. */
#define EXPECT(what, call, status, message, needle1, needle2) \
    do {                                                      \
        int got_ = (call);                                    \
        check(what, got_, status, message, needle1, needle2); \
    } while (0)

/* Buffers over fresh copies of the well-formed ones, for each mistake to spoil. */
static halide_buffer_t in, out, weights;
static halide_dimension_t in_dims[4], out_dims[4], weight_dims[1];
static float *input, *logits, *packed;
static int64_t packed_count;

static void reset(void) {
    describe(&in, in_dims, input, my_net_input_shape, my_net_input_rank);
    describe(&out, out_dims, logits, my_net_output_shape, my_net_output_rank);
    describe(&weights, weight_dims, packed, &packed_count, 1);
}

/* A custom allocator that fails: what happens inside the pipeline when memory runs out. */
static void *failing_malloc(void *user_context, size_t size) {
    (void)user_context;
    (void)size;
    return NULL;
}

/* Concurrency: each thread runs both models 20 times and compares with the first call's bits; odd
 * threads also make a mistake before each call and read their own message back. */
static float first_logits[64], first_training_logits[64];
static int64_t outputs;
struct job {
    int id, failures;
};
static void *run_calls(void *argument) {
    struct job *job = (struct job *)argument;
    float mine[64];
    halide_buffer_t i, o, w, bad;
    halide_dimension_t i_dims[4], o_dims[4], w_dims[1], bad_dims[4];
    for (int call = 0; call < 20; ++call) {
        describe(&i, i_dims, input, my_net_input_shape, my_net_input_rank);
        describe(&o, o_dims, mine, my_net_output_shape, my_net_output_rank);
        describe(&w, w_dims, packed, &packed_count, 1);
        if (job->id % 2) {
            describe(&bad, bad_dims, input, my_net_input_shape, my_net_input_rank);
            bad_dims[1].extent = 100 + job->id; /* W */
            char wanted[64];
            snprintf(wanted, sizeof wanted, "[0, %d)", 100 + job->id);
            if (my_net(&bad, &o) != SNC_ERROR_SHAPE || !strstr(my_net_last_error(), wanted)) ++job->failures;
        }
        memset(mine, 0, sizeof mine);
        if (my_net(&i, &o) != 0 || memcmp(mine, first_logits, (size_t)outputs * sizeof(float)) != 0) ++job->failures;
        memset(mine, 0, sizeof mine);
        if (my_training_inference(&i, &w, &o) != 0 || memcmp(mine, first_training_logits, (size_t)outputs * sizeof(float)) != 0)
            ++job->failures;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s <input.f32> <expected.f32> <trained.safetensors>\n", argv[0]);
        return 2;
    }
    halide_set_error_handler(callers_handler); /* before any snc call: snc must chain to it */

    const int64_t inputs = element_count(my_net_input_shape, my_net_input_rank);
    outputs = element_count(my_net_output_shape, my_net_output_rank);
    packed_count = my_training_inference_packed_weight_count();
    float *expected = read_floats(argv[2], outputs);
    input = read_floats(argv[1], inputs);
    logits = (float *)calloc((size_t)outputs, sizeof(float));
    packed = (float *)malloc((size_t)packed_count * sizeof(float));
    double *doubles = (double *)calloc((size_t)inputs, sizeof(double));
    if (!expected || !input || !logits || !packed || !doubles || outputs > 64) return 1;
    char error[1024];
    if (my_training_inference_pack_weights(argv[3], packed, packed_count, error, sizeof error) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], error);
        return 1;
    }

    /* The mistakes of the issue, each in a buffer that is otherwise right. */
    reset();
    EXPECT("a null input", my_net(NULL, &out), SNC_ERROR_NULL_BUFFER, my_net_last_error(), "my_net: input: the buffer is NULL", NULL);
    EXPECT("a null output", my_net(&in, NULL), SNC_ERROR_NULL_BUFFER, my_net_last_error(), "output: the buffer is NULL", NULL);
    in_dims[1].extent = 15; /* W */
    EXPECT("an input of width 15, not 16", my_net(&in, &out), SNC_ERROR_SHAPE, my_net_last_error(), "input: dimension W", "[0, 15); expected [0, 16)");
    reset();
    in.type.bits = 64;
    in.host = (uint8_t *)doubles;
    EXPECT("a float64 input", my_net(&in, &out), SNC_ERROR_TYPE, my_net_last_error(), "input: the buffer holds float64", "expected float32");
    reset();
    in.dimensions = 3;
    EXPECT("an input of rank 3", my_net(&in, &out), SNC_ERROR_RANK, my_net_last_error(), "input: the buffer has 3 dimensions", "expected 4");
    reset();
    out_dims[0].extent = 999; /* F */
    EXPECT("an output of 999 classes", my_net(&in, &out), SNC_ERROR_SHAPE, my_net_last_error(), "output: dimension F", "[0, 999)");
    reset();
    in.host = NULL;
    EXPECT("an input whose host is NULL", my_net(&in, &out), SNC_ERROR_NULL_HOST, my_net_last_error(), "input: the buffer's host pointer is NULL",
           "no bounds queries");
    reset();
    in_dims[2].stride *= 2; /* rows twice as far apart: a view of a larger image */
    EXPECT("an input with a row stride it cannot take", my_net(&in, &out), SNC_ERROR_STRIDES, my_net_last_error(), "input: dimension H", "has stride");
    reset();
    in_dims[3].min = 1;
    EXPECT("an input whose batch starts at 1", my_net(&in, &out), SNC_ERROR_SHAPE, my_net_last_error(), "input: dimension N", "[1, 3)");
    reset();
    weight_dims[0].extent = (int32_t)packed_count - 1;
    EXPECT("packed weights one float short", my_training_inference(&in, &weights, &out), SNC_ERROR_WEIGHTS, my_training_inference_last_error(),
           "weights: its only dimension", "my_training_inference_packed_weight_count()");
    reset();
    EXPECT("null weights", my_training_inference(&in, NULL, &out), SNC_ERROR_NULL_BUFFER, my_training_inference_last_error(), "weights: the buffer is NULL",
           NULL);
    EXPECT("packing into a buffer of the wrong size", my_training_inference_pack_weights(argv[3], packed, packed_count + 1, error, sizeof error),
           SNC_ERROR_WEIGHTS, my_training_inference_last_error(), "packed_count is", NULL);
    EXPECT("packing from a file that is not there", my_training_inference_pack_weights("/nonexistent.safetensors", packed, packed_count, NULL, 0),
           SNC_ERROR_WEIGHTS, my_training_inference_last_error(), "/nonexistent.safetensors", NULL);
    EXPECT("a device that is not one", my_net_set_device(7, error, sizeof error), SNC_ERROR_ARGUMENT, my_net_last_error(), "device 7", NULL);
    EXPECT("a device it was not compiled for", my_net_set_device(SNC_DEVICE_CUDA, error, sizeof error), SNC_ERROR_DEVICE, error, "CUDA cannot be used",
           NULL);
    /* The packing above failed before writing; pack again all the same, as a caller would. */
    if (my_training_inference_pack_weights(argv[3], packed, packed_count, error, sizeof error) != 0) return 1;

    /* An allocation fails inside the pipeline: the call returns, the caller's handler hears nothing. */
    reset();
    halide_malloc_t malloc_before = halide_set_custom_malloc(failing_malloc);
    int status = my_net(&in, &out);
    halide_set_custom_malloc(malloc_before);
    EXPECT("an allocation that fails inside the pipeline", status, SNC_ERROR_OUT_OF_MEMORY, my_net_last_error(), "my_net: the pipeline failed on cpu",
           "Halide error -11");

    /* The caller's own errors still reach the caller's handler, through snc's. */
    const int callers_before = callers_errors;
    halide_error(NULL, "the caller's own error\n");
    const int own_errors_kept = callers_errors == callers_before + 1 && callers_before == 0;
    printf("%s the caller's handler saw %d of snc's errors and its own one\n", own_errors_kept ? "ok  " : "FAIL", callers_before);
    failures += !own_errors_kept;

    /* A handler the caller installs after snc's calls began: snc's next call chains to it. */
    callers_errors = 0;
    halide_set_error_handler(callers_handler);
    reset();
    halide_set_custom_malloc(failing_malloc);
    status = my_net(&in, &out);
    halide_set_custom_malloc(malloc_before);
    EXPECT("an allocation failure after the caller set its handler again", status, SNC_ERROR_OUT_OF_MEMORY, my_net_last_error(),
           "Out of memory", NULL);
    halide_error(NULL, "the caller's own error\n");
    printf("%s the handler set later saw %d errors: its own one\n", callers_errors == 1 ? "ok  " : "FAIL", callers_errors);
    failures += callers_errors != 1;

    /* Concurrency: 8 threads x 20 calls of both models, bit for bit the first call's. */
    reset();
    if (my_net(&in, &out) != 0) return 1;
    memcpy(first_logits, logits, (size_t)outputs * sizeof(float));
    if (my_training_inference(&in, &weights, &out) != 0) return 1;
    memcpy(first_training_logits, logits, (size_t)outputs * sizeof(float));
    pthread_t threads[8];
    struct job jobs[8];
    for (int t = 0; t < 8; ++t) {
        jobs[t].id = t;
        jobs[t].failures = 0;
        pthread_create(&threads[t], NULL, run_calls, &jobs[t]);
    }
    int concurrent_failures = 0;
    for (int t = 0; t < 8; ++t) {
        pthread_join(threads[t], NULL);
        concurrent_failures += jobs[t].failures;
    }
    printf("%s 8 threads x 20 calls of two models: %d calls differed from the first or misread their message\n", concurrent_failures ? "FAIL" : "ok  ",
           concurrent_failures);
    failures += concurrent_failures != 0;

    /* After all that, a well-formed call still gives the right logits. */
    reset();
    memset(logits, 0, (size_t)outputs * sizeof(float));
    if (my_net(&in, &out) != 0 || compare_logits(argv[0], logits, expected, outputs) != 0) ++failures;
    printf("%s: %d failures\n", argv[0], failures);
    return failures ? 1 : 0;
}
