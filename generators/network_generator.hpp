// The generator template: one Halide generator per network type, instantiated by snc_add_model.
//
//   input   float32 (C, W, H, N) over an NHWC buffer, or (F, N), fixed to the network's input shape
//   weights float32, the packed and folded weights of the inference plan (plan.hpp)
//   output  float32, the network's output shape
//
// The generator executable has one more mode, used by snc_add_model for WEIGHTS:
//   <generator> --pack weights.safetensors packed.bin
// checks a PyTorch state_dict against the network, folds and packs it in the layout the pipeline
// reads. Both modes derive that layout from the same plan.
#pragma once

#include <iostream>
#include <string>

#include <Halide.h>

#include <snc/halide/lower.hpp>
#include <snc/halide/schedule.hpp>
#include <snc/io/file.hpp>
#include <snc/io/safetensors.hpp>
#include <snc/weights.hpp>

namespace snc::halide {

template <NetworkType Net>
class NetworkGenerator : public Halide::Generator<NetworkGenerator<Net>> {
public:
    Halide::GeneratorInput<Halide::Buffer<float>> input{"input", Net::input_shape.rank};
    Halide::GeneratorInput<Halide::Buffer<float>> weights{"weights", 1};
    Halide::GeneratorOutput<Halide::Buffer<float>> output{"output", Net::output_shape.rank};

    void generate() {
        plan_ = plan_inference<Net>();
        constrain(input, Net::input_shape);
        weights.dim(0).set_bounds(0, int(plan_.packed_floats)).set_estimate(0, int(plan_.packed_floats));
        lowered_ = lower(plan_, input, weights, Halide::Func(output));
        constrain(output, Net::output_shape);  // an Output's buffer exists once it is defined
    }

    void schedule() {
        if (this->auto_schedule) return;  // the autoscheduler reads the estimates set above
        schedule_cpu(lowered_, this->get_target());
    }

private:
    Plan plan_;
    Lowered lowered_;
};

// The generator executable's main: Halide's, plus --pack.
template <NetworkType Net>
int generator_main(int argc, char** argv) {
    if (argc >= 2 && std::string(argv[1]) == "--pack") {
        if (argc != 4) {
            std::cerr << "usage: " << argv[0] << " --pack weights.safetensors packed.bin\n";
            return 2;
        }
        try {
            io::SafetensorsContents contents = io::read_safetensors(argv[2]);
            std::vector<float> packed = pack_inference_weights(plan_inference<Net>(), contents.tensors, argv[2], contents.ignored);
            io::write_file_atomically(argv[3], [&](std::ostream& out) {
                out.write(reinterpret_cast<const char*>(packed.data()), std::streamsize(packed.size() * sizeof(float)));
            });
        } catch (const std::exception& e) {
            std::cerr << "snc: " << e.what() << "\n";
            return 1;
        }
        return 0;
    }
    return Halide::Internal::generate_filter_main(argc, argv, std::cerr);
}

}  // namespace snc::halide
