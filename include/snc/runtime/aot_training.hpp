// TrainingStep's engine on the functions the training compiler built ahead of time (snc_add_training):
// no libHalide, only Halide's runtime. The generated header's functions() gives the table.
#pragma once

#include <string>
#include <vector>

#include <HalideBuffer.h>

#include <snc/io/tensor.hpp>
#include <snc/runtime/segments.hpp>

namespace snc {

// A compiled segment pass, in Halide's argv convention: int f(void** arguments).
using SegmentFunction = int (*)(void**);

// What the training compiler's header gives for one target: each segment's two passes.
struct SegmentFunctions {
    const char* target;
    int segment_count;
    const SegmentFunction* forward;
    const SegmentFunction* backward;
};

class AotSegments {
public:
    AotSegments(const TrainingLayout& layout, const std::vector<Segment>& segments, const SegmentFunctions& functions)
        : layout_(layout), segments_(segments), functions_(functions) {
        if (functions.segment_count != int(segments.size()))
            throw Error("the compiled training step has " + std::to_string(functions.segment_count) + " segments, the network " +
                        std::to_string(segments.size()) + ": rebuild the trainer");
    }

    const char* target() const { return functions_.target; }

    void forward(int s, const SegmentBuffers<float>& buffers) { call(SegmentPass::forward, s, buffers); }
    void backward(int s, const SegmentBuffers<float>& buffers) { call(SegmentPass::backward, s, buffers); }

private:
    void call(SegmentPass pass, int s, const SegmentBuffers<float>& memory) {
        const Segment& segment = segments_[std::size_t(s)];
        const std::vector<SegmentArgument> arguments = segment_arguments(pass, s == 0, s + 1 == int(segments_.size()));
        std::vector<Halide::Runtime::Buffer<void>> buffers;
        buffers.reserve(arguments.size());
        std::vector<void*> argv;
        for (SegmentArgument argument : arguments) {
            if (argument == SegmentArgument::seed) {
                argv.push_back(memory.data(argument));
                continue;
            }
            const ArgumentShape shape = argument_shape(argument, layout_, segment);
            const halide_type_t type = argument == SegmentArgument::labels ? halide_type_of<std::int32_t>() : halide_type_of<float>();
            void* base = shape.scratch ? static_cast<void*>(scratch_) : static_cast<char*>(memory.data(argument)) + shape.min * 4;
            Halide::Runtime::Buffer<void> buffer(type, base, int(shape.extents.size()), shape_dimensions(shape).data());
            buffers.push_back(std::move(buffer));
            argv.push_back(buffers.back().raw_buffer());
        }
        const SegmentFunction function = (pass == SegmentPass::forward ? functions_.forward : functions_.backward)[s];
        if (const int result = function(argv.data()); result != 0)
            throw Error(std::string("the training step's ") + (pass == SegmentPass::forward ? "forward" : "backward") +
                        " pass of segment " + std::to_string(s) + " failed with Halide error " + std::to_string(result));
    }

    static std::vector<halide_dimension_t> shape_dimensions(const ArgumentShape& shape) {
        std::vector<halide_dimension_t> dims;
        int stride = 1;
        for (std::size_t d = 0; d < shape.extents.size(); ++d) {
            dims.push_back({d == 0 ? shape.min : 0, shape.extents[d], stride, 0});
            stride *= shape.extents[d];
        }
        return dims;
    }

    const TrainingLayout& layout_;
    const std::vector<Segment>& segments_;
    SegmentFunctions functions_;
    float scratch_[1] = {0};  // the one element a segment without parameters (or statistics) writes
};

}  // namespace snc
