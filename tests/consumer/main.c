/* The README's C program: runs the compiled model my_net on the float32 values of argv[1] (its input
 * shape, outermost first) and checks the logits against argv[2], as a C caller of my_net.h would,
 * linking nothing but the model. main.cpp compiles the same file as C++. */
#include "floats.h"
#include "my_net.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s <input.f32> <expected.f32>\n", argv[0]);
        return 2;
    }
    const int64_t inputs = element_count(my_net_input_shape, my_net_input_rank);
    const int64_t outputs = element_count(my_net_output_shape, my_net_output_rank);
    float *input = read_floats(argv[1], inputs), *expected = read_floats(argv[2], outputs);
    float *logits = (float *)calloc((size_t)outputs, sizeof(float));
    if (!input || !expected || !logits) return 1;

    halide_buffer_t in, out;
    halide_dimension_t in_dims[4], out_dims[4];
    describe(&in, in_dims, input, my_net_input_shape, my_net_input_rank);
    describe(&out, out_dims, logits, my_net_output_shape, my_net_output_rank);
    int status = my_net(&in, &out);
    if (status != 0) {
        fprintf(stderr, "%s: my_net returned %d\n", argv[0], status);
        return 1;
    }
    status = compare_logits(argv[0], logits, expected, outputs);
    free(input);
    free(expected);
    free(logits);
    return status;
}
