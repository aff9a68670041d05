/* The inference half of a snc_add_training target, from C: packs the weights of argv[1] (a PyTorch
 * state_dict as safetensors) at run time, runs my_training_inference on argv[2] and checks the logits
 * against argv[3], linking nothing but the training target. */
#include "floats.h"
#include "my_training_inference.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s <weights.safetensors> <input.f32> <expected.f32>\n", argv[0]);
        return 2;
    }
    const int64_t inputs = element_count(my_training_inference_input_shape, my_training_inference_input_rank);
    const int64_t outputs = element_count(my_training_inference_output_shape, my_training_inference_output_rank);
    const int64_t packed_count = my_training_inference_packed_weight_count();
    float *input = read_floats(argv[2], inputs), *expected = read_floats(argv[3], outputs);
    float *logits = (float *)calloc((size_t)outputs, sizeof(float));
    float *packed = (float *)malloc((size_t)packed_count * sizeof(float));
    if (!input || !expected || !logits || !packed) return 1;
    char error[1024];
    if (my_training_inference_pack_weights(argv[1], packed, packed_count, error, sizeof error) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], error);
        return 1;
    }

    halide_buffer_t in, weights, out;
    halide_dimension_t in_dims[4], weight_dims[1], out_dims[4];
    describe(&in, in_dims, input, my_training_inference_input_shape, my_training_inference_input_rank);
    describe(&weights, weight_dims, packed, &packed_count, 1);
    describe(&out, out_dims, logits, my_training_inference_output_shape, my_training_inference_output_rank);
    int status = my_training_inference(&in, &weights, &out);
    if (status != 0) {
        fprintf(stderr, "%s: my_training_inference returned %d\n", argv[0], status);
        return 1;
    }
    status = compare_logits(argv[0], logits, expected, outputs);
    free(input);
    free(expected);
    free(logits);
    free(packed);
    return status;
}
