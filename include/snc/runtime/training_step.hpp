// One training step, chained over the network's segments (training.hpp):
//
//   forward   segment 0, 1, ..., K-2 in turn, each from the activation the one before produced,
//             each keeping its convs' outputs (runtime/segments.hpp's kept_convs)
//   backward  the last segment (forward, loss, backward), then K-2 down to 0, each from the
//             gradient of its output and its kept conv outputs; every segment writes its parameter
//             gradients and its batch statistics into its own range of the flat buffers
//   SGD       v <- momentum v + (g + weight_decay p),  p <- p - lr v   (PyTorch's SGD, dampening 0)
//   running   r <- (1 - M) r + M batch, with the unbiased batch variance m / (m - 1) var
//
// Every buffer lives here, as a Halide buffer, for the whole run: on a GPU its device copy is
// where the step works, so a step moves only the images and labels in and the loss out; the
// parameters and the rest come to the host when asked for (parameters(), gradients(), ...).
//
// The segments, SGD and the running statistics run on an Engine: the functions the training
// compiler built ahead of time in the trainers (runtime/aot_training.hpp), Halide's JIT in the
// tests (halide/jit.hpp), so both run this same code. An Engine provides, with the calling
// convention of runtime/segments.hpp,
//   forward(s, SegmentMemory), backward(s, SegmentMemory)
//   sgd(parameters, velocity, gradients, Hyperparameters)      (updated in place)
//   update_statistics(running, batch)                          (updated in place)
//   device_interface()                                         (null on the CPU)
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include <HalideBuffer.h>

#include <snc/runtime/call_errors.hpp>
#include <snc/runtime/huge_pages.hpp>

#include <snc/runtime/segments.hpp>

namespace snc {

struct Hyperparameters {
    float learning_rate = 0.1f, momentum = 0.0f, weight_decay = 0.0f;
};

// What a data-parallel job does with each step's gradients (the trainers' MPI: runtime/mpi.hpp):
// a segment's range of the gradient buffer is handed over as soon as its backward pass has written
// it, so that its exchange overlaps the backward passes of the segments before it; before SGD the
// step waits for every range (the sum over the processes, divided by their number).
template <class Real>
class GradientExchange {
public:
    virtual ~GradientExchange() = default;
    virtual void ready(Real* gradients, FloatRange range) = 0;
    virtual void finish() = 0;
};

// Real is float in the trainers; the gradient checks run it in double.
template <class Real = float>
class TrainingStep {
public:
    using Buffer = Halide::Runtime::Buffer<Real>;

    TrainingStep(const TrainingLayout& layout, std::vector<Segment> segments)
        : layout_(layout), segments_(std::move(segments)),
          parameters_(int(layout.parameter_floats)), velocity_(int(layout.parameter_floats)),
          gradients_(int(layout.parameter_floats)), statistics_(int(layout.statistic_floats)),
          batch_statistics_(int(layout.statistic_floats)), images_(value_extents(layout.graph.input)),
          labels_(int(layout.graph.input.n())), logits_(value_extents(layout.graph.shape_of(layout.graph.output))),
          loss_stats_(2) {
        for (std::size_t s = 0; s < segments_.size(); ++s) {
            const Shape shape = layout.graph.shape_of(segments_[s].input());
            activations_.push_back(on_huge_pages(s ? value_extents(shape) : std::vector<int>{1}));
            boundary_gradients_.push_back(on_huge_pages(s ? value_extents(shape) : std::vector<int>{1}));
            conv_outputs_.emplace_back();
            for (int value : kept_convs(layout.graph, segments_, int(s)))
                conv_outputs_.back().push_back(on_huge_pages(value_extents(layout.graph.shape_of(value))));
            conv_output_buffers_.emplace_back();
            for (Buffer& b : conv_outputs_.back()) conv_output_buffers_.back().push_back(b.raw_buffer());
        }
        for (Buffer* b : {&parameters_, &velocity_, &gradients_, &statistics_, &batch_statistics_}) b->fill(Real(0));
        prefault();
    }

    const TrainingLayout& layout() const { return layout_; }
    const std::vector<Segment>& segments() const { return segments_; }

    // The state, set from the host (the velocity starts at zero) and read back to it.
    void set_parameters(const std::vector<Real>& values) { write(parameters_, values); }
    void set_statistics(const std::vector<Real>& values) { write(statistics_, values); }
    void set_velocity(const std::vector<Real>& values) { write(velocity_, values); }
    std::vector<Real> parameters() { return read(parameters_); }
    std::vector<Real> statistics() { return read(statistics_); }
    std::vector<Real> velocity() { return read(velocity_); }
    std::vector<Real> gradients() { return read(gradients_); }
    // Each BatchNorm's batch mean and biased variance from the last step or forward pass, where its
    // running mean and variance sit in the statistics buffer.
    std::vector<Real> batch_statistics() { return read(batch_statistics_); }
    std::vector<Real> logits() { return read(logits_); }

    struct Result {
        Real loss = 0, correct = 0;
    };

    // A data-parallel job's: the exchange of each step's gradients (null: one process), and the
    // factors each batch variance is multiplied by before it updates the running variance (empty:
    // none). The synchronized batch norm's variance is that of K times the images the compiled
    // unbiasing m / (m - 1) assumes; the factor (Km / (Km - 1)) / (m / (m - 1)) corrects it.
    void set_exchange(GradientExchange<Real>* exchange) { exchange_ = exchange; }
    void set_batch_variance_factors(std::vector<Real> factors) { variance_factors_ = std::move(factors); }

    // One step on a batch. `seed` picks the step's random stream (dropout). With update false,
    // only the gradients and batch statistics are computed.
    template <class Engine>
    Result run(Engine& engine, const Real* images, const std::int32_t* labels, Hyperparameters h, std::uint32_t seed = 0,
               bool update = true) {
        check_batch(images, labels);
        place(engine.device_interface());
        write(images_, images);
        write(labels_, labels);
        const std::size_t last = segments_.size() - 1;
        for (std::size_t s = 0; s < last; ++s)
            engine.forward(int(s), SegmentMemory{.input = input_of(s), .parameters = parameters_.raw_buffer(), .seed = seed,
                                                  .output = activations_[s + 1].raw_buffer(),
                                                  .batch_statistics = batch_statistics_.raw_buffer(),
                                                  .conv_outputs = conv_output_buffers_[s]});
        const bool on_host = !engine.device_interface();
        for (std::size_t s = last + 1; s-- > 0;) {
            engine.backward(int(s), SegmentMemory{.input = input_of(s),
                                                   .labels = labels_.raw_buffer(),
                                                   .parameters = parameters_.raw_buffer(),
                                                   .seed = seed,
                                                   .output_gradient = s == last ? nullptr : boundary_gradients_[s + 1].raw_buffer(),
                                                   .input_gradient = s ? boundary_gradients_[s].raw_buffer() : nullptr,
                                                   .parameter_gradients = gradients_.raw_buffer(),
                                                   .batch_statistics = batch_statistics_.raw_buffer(),
                                                   .loss_stats = loss_stats_.raw_buffer(),
                                                   .conv_outputs = conv_output_buffers_[s]});
            if (exchange_ && on_host) exchange_->ready(gradients_.data(), range_of(layout_.parameters, segments_[s]));
        }
        if (exchange_) {
            if (!on_host) {  // a GPU step: the host copy of the whole buffer, exchanged after the last pass
                to_host(gradients_);
                for (std::size_t s = last + 1; s-- > 0;) exchange_->ready(gradients_.data(), range_of(layout_.parameters, segments_[s]));
            }
            exchange_->finish();
            if (!on_host) {  // the summed gradients go back to the device with SGD's call
                gradients_.set_device_dirty(false);
                gradients_.set_host_dirty(true);
            }
        }
        if (update && !variance_factors_.empty()) {  // batch_statistics() then shows the corrected variances
            to_host(batch_statistics_);
            for (std::size_t k = 0; k < variance_factors_.size(); ++k) batch_statistics_.data()[k] *= variance_factors_[k];
            batch_statistics_.set_device_dirty(false);
            batch_statistics_.set_host_dirty(true);
        }
        if (update) {
            engine.sgd(parameters_.raw_buffer(), velocity_.raw_buffer(), gradients_.raw_buffer(), h);
            engine.update_statistics(statistics_.raw_buffer(), batch_statistics_.raw_buffer());
        }
        std::vector<Real> loss = read(loss_stats_);
        return {loss[0], loss[1]};
    }

    // The forward pass in training mode alone: the logits and every BatchNorm's batch statistics.
    template <class Engine>
    void forward(Engine& engine, const Real* images, std::uint32_t seed = 0) {
        if (!images) throw Error("TrainingStep::forward: images is NULL");
        place(engine.device_interface());
        write(images_, images);
        for (std::size_t s = 0; s < segments_.size(); ++s)
            engine.forward(int(s), SegmentMemory{.input = input_of(s), .parameters = parameters_.raw_buffer(), .seed = seed,
                                                  .output = s + 1 < segments_.size() ? activations_[s + 1].raw_buffer()
                                                                                     : logits_.raw_buffer(),
                                                  .batch_statistics = batch_statistics_.raw_buffer(),
                                                  .conv_outputs = conv_output_buffers_[s]});
    }

private:
    static std::vector<int> value_extents(const Shape& shape) {
        std::vector<int> extents;
        for (int d = shape.rank - 1; d >= 0; --d) extents.push_back(int(shape.dims[d]));
        return extents;
    }
    // The activations, their gradients and the kept conv outputs, the bulk of the step's memory, on
    // 2 MB pages: fewer page faults in the first step, fewer TLB misses in all (runtime/huge_pages.hpp).
    static Buffer on_huge_pages(const std::vector<int>& extents) {
        Buffer buffer(static_cast<Real*>(nullptr), extents);
        buffer.allocate(runtime::allocate_on_huge_pages, std::free);
        return buffer;
    }
    halide_buffer_t* input_of(std::size_t s) { return s == 0 ? images_.raw_buffer() : activations_[s].raw_buffer(); }

    // Every page of the step's own buffers touched now, on all cores, rather than inside the first
    // step. On this project's VM, memory the process had not touched took far longer to map when the
    // machine had sat idle: the course's ResNet-18 step at batch 128 on 2 threads took 2.39-2.60 s as
    // the first step of a process started after 15 idle seconds (1.11 s right after another run,
    // 1.04 s a later step); with this, 2.09-2.10 s, and the process 4.9 s in all against 5.0-5.3.
    // The rest of the first step's extra second is Halide's own intermediates (750 MB in 61 blocks,
    // fresh the first time, kept by runtime/allocator.hpp after it).
    void prefault() {
        std::vector<std::pair<char*, std::size_t>> ranges;
        auto add = [&](Buffer& b) {
            if (b.data()) ranges.emplace_back(reinterpret_cast<char*>(b.data()), b.size_in_bytes());
        };
        for (Buffer& b : activations_) add(b);
        for (Buffer& b : boundary_gradients_) add(b);
        for (std::vector<Buffer>& segment : conv_outputs_)
            for (Buffer& b : segment) add(b);
        add(images_);
        add(logits_);
        // In 2 MB chunks (a huge page is mapped whole on its first touch), chunk k by thread k % threads.
        std::vector<std::pair<char*, std::size_t>> chunks;
        for (auto [data, bytes] : ranges)
            for (std::size_t at = 0; at < bytes; at += runtime::huge_page_bytes)
                chunks.emplace_back(data + at, std::min(runtime::huge_page_bytes, bytes - at));
        const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 16u);
        std::vector<std::thread> workers;
        for (unsigned t = 0; t < threads; ++t)
            workers.emplace_back([&chunks, t, threads] {
                for (std::size_t k = t; k < chunks.size(); k += threads)
                    for (std::size_t at = 0; at < chunks[k].second; at += 4096) chunks[k].first[at] = 0;
            });
        for (std::thread& worker : workers) worker.join();
    }

    // A batch the step can take: the loss reads each label as an index into the logits, so one
    // outside 0 .. classes - 1 would read past them.
    void check_batch(const Real* images, const std::int32_t* labels) const {
        if (!images) throw Error("TrainingStep::run: images is NULL");
        if (!labels) throw Error("TrainingStep::run: labels is NULL");
        const Shape logits = layout_.graph.shape_of(layout_.graph.output);
        const std::int64_t classes = logits.dims[logits.rank - 1];
        for (std::int64_t k = 0; k < logits.dims[0]; ++k)
            if (labels[k] < 0 || labels[k] >= classes)
                throw Error("TrainingStep::run: label " + std::to_string(labels[k]) + " of image " + std::to_string(k) + " is outside 0.." +
                            std::to_string(classes - 1) + " (the network has " + std::to_string(classes) + " classes)");
    }

    // A device runtime call that failed: what it was and what Halide said, as an exception.
    static void check_device(int result, const char* what, const runtime::CallErrors& errors) {
        if (result == 0) return;
        throw Error(std::string("the training step's ") + what + " failed with " + errors.describe(result));
    }

    // On a GPU engine, every buffer gets its device allocation up front, with the host's values:
    // the segments' crops of the flat buffers then share it, and the step's data stays there.
    void place(const halide_device_interface_t* device) {
        if (!device || device_ == device) return;
        device_ = device;
        runtime::CallErrors errors;
        auto put = [&](auto& buffer) {
            if (!buffer.has_device_allocation()) check_device(buffer.device_malloc(device, errors.context()), "device allocation", errors);
            buffer.set_device_dirty(false);
            buffer.set_host_dirty(true);
            check_device(buffer.copy_to_device(device, errors.context()), "copy to the device", errors);
        };
        for (Buffer* b : {&parameters_, &velocity_, &gradients_, &statistics_, &batch_statistics_, &images_, &logits_, &loss_stats_})
            put(*b);
        put(labels_);
        for (Buffer& b : activations_) put(b);
        for (Buffer& b : boundary_gradients_) put(b);
        for (std::vector<Buffer>& segment : conv_outputs_)
            for (Buffer& b : segment) put(b);
    }

    // The host's values become the newest: a device copy is refreshed where it is next used.
    template <class T, class Source>
    static void write(Halide::Runtime::Buffer<T>& buffer, const Source& values) {
        buffer.set_device_dirty(false);
        const T* from = nullptr;
        if constexpr (std::is_pointer_v<Source>) from = values;
        else from = values.data();
        std::memcpy(buffer.data(), from, std::size_t(buffer.number_of_elements()) * sizeof(T));
        buffer.set_host_dirty(true);
    }
    static void to_host(Buffer& buffer) {
        runtime::CallErrors errors;
        check_device(buffer.copy_to_host(errors.context()), "copy back to the host", errors);
    }
    static std::vector<Real> read(Buffer& buffer) {
        to_host(buffer);
        return std::vector<Real>(buffer.data(), buffer.data() + buffer.number_of_elements());
    }

    const TrainingLayout& layout_;
    std::vector<Segment> segments_;
    Buffer parameters_, velocity_, gradients_, statistics_, batch_statistics_, images_;
    Halide::Runtime::Buffer<std::int32_t> labels_;
    Buffer logits_, loss_stats_;
    std::vector<Buffer> activations_, boundary_gradients_;  // by segment: its input (none for the first)
    std::vector<std::vector<Buffer>> conv_outputs_;         // by segment: its kept convs' outputs
    std::vector<std::vector<halide_buffer_t*>> conv_output_buffers_;  // the same, as the calls pass them
    const halide_device_interface_t* device_ = nullptr;
    GradientExchange<Real>* exchange_ = nullptr;
    std::vector<Real> variance_factors_;
};

}  // namespace snc
