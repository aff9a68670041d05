// TrainingStep's engine on the functions the training compiler built ahead of time (snc_add_training):
// no libHalide, only Halide's runtime. The generated header's functions() gives the table.
#pragma once

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <HalideBuffer.h>

#include <snc/io/tensor.hpp>
#include <snc/runtime/call_errors.hpp>
#include <snc/runtime/collective.hpp>
#include <snc/runtime/devices.hpp>
#include <snc/runtime/segments.hpp>
#include <snc/runtime/training_step.hpp>

namespace snc {

// A compiled pass, in Halide's argv convention: int f(void** arguments).
using SegmentFunction = int (*)(void**);

// What the training compiler's header gives for one target: each segment's two passes, and the
// update passes, with the device they run on.
struct SegmentFunctions {
    const char* target;
    int device;  // enum snc_device
    const halide_device_interface_t* (*device_interface)();  // null on the CPU
    int segment_count;
    const SegmentFunction* forward;
    const SegmentFunction* backward;
    SegmentFunction sgd;
    SegmentFunction update_statistics;
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
    const halide_device_interface_t* device_interface() const {
        return functions_.device_interface ? functions_.device_interface() : nullptr;
    }

    void forward(int s, const SegmentMemory& memory) { call(SegmentPass::forward, s, memory); }
    void backward(int s, const SegmentMemory& memory) { call(SegmentPass::backward, s, memory); }

    // Each function's first argument is its user context: the call's CallErrors, which keeps what
    // Halide reports while it runs (the training compiler builds with Target::UserContext).
    void sgd(halide_buffer_t* parameters, halide_buffer_t* velocity, halide_buffer_t* gradients, Hyperparameters h) {
        runtime::CallErrors errors;
        void* context = errors.context();
        void* argv[] = {&context, parameters, velocity, gradients, &h.learning_rate, &h.momentum, &h.weight_decay, parameters, velocity};
        check(functions_.sgd, functions_.sgd(argv), "SGD update", errors);
    }
    void update_statistics(halide_buffer_t* running, halide_buffer_t* batch) {
        runtime::CallErrors errors;
        void* context = errors.context();
        void* argv[] = {&context, running, batch, running};
        check(functions_.update_statistics, functions_.update_statistics(argv), "running statistics' update", errors);
    }

private:
    void call(SegmentPass pass, int s, const SegmentMemory& memory) {
        const std::vector<SegmentSlot> arguments = segment_arguments(pass, layout_.graph, segments_, s);
        std::vector<Halide::Runtime::Buffer<void>> crops(arguments.size());
        runtime::CallErrors errors;
        void* context = errors.context();
        std::vector<void*> argv{&context};
        std::uint32_t seed = memory.seed;
        for (std::size_t k = 0; k < arguments.size(); ++k) {
            if (arguments[k].argument == SegmentArgument::seed) argv.push_back(&seed);
            else argv.push_back(argument_buffer(arguments[k], layout_, segments_, s, memory, scratch_.raw_buffer(), crops[k]));
        }
        const SegmentFunction function = (pass == SegmentPass::forward ? functions_.forward : functions_.backward)[s];
        check(function, function(argv.data()),
              std::string(pass == SegmentPass::forward ? "forward" : "backward") + " pass of segment " + std::to_string(s), errors);
        for (std::size_t k = 0; k < arguments.size(); ++k)
            if (arguments[k].argument != SegmentArgument::seed) mark_written(crops[k], memory.buffer(arguments[k]));
    }

    // A device's kernels are built on a function's first call: a failure there means the device
    // cannot run this step (snc::Error, refused like a bad option); a later one is a failure while
    // running.
    void check(SegmentFunction function, int result, const std::string& what, const runtime::CallErrors& errors) {
        if (result == 0) {
            ran_.insert(function);
            return;
        }
        std::string failure = "the training step's " + what + " failed on " + functions_.target + " with " + errors.describe(result);
        if (functions_.device != SNC_DEVICE_CPU && !ran_.count(function))
            throw Error(std::string(runtime::device_label(functions_.device)) + " cannot be used: " + failure);
        throw std::runtime_error(failure);
    }

    const TrainingLayout& layout_;
    const std::vector<Segment>& segments_;
    SegmentFunctions functions_;
    std::set<SegmentFunction> ran_;  // the functions that have run once
    Halide::Runtime::Buffer<float> scratch_{1};  // the one element a segment without parameters (or statistics) writes
};

}  // namespace snc
