// The training generator template: one training step of a network, instantiated by
// snc_add_training. Inputs and outputs, all float32 but the labels:
//   images (C, W, H, N), labels (N) int32, parameters, velocity, statistics (the TrainingLayout's
//   buffers), learning_rate, momentum, weight_decay  ->  new_parameters, new_velocity,
//   new_statistics, stats = (mean loss, correct predictions) of the batch.
#pragma once

#include <Halide.h>

#include <snc/halide/train.hpp>
#include <snc/halide/lower.hpp>

namespace snc::halide {

template <NetworkType Net>
class TrainingGenerator : public Halide::Generator<TrainingGenerator<Net>> {
    static_assert(Net::output_shape.rank == 2, "snc trains classifiers: the network must end in (N, classes) logits");

public:
    Halide::GeneratorInput<Halide::Buffer<float>> images{"images", Net::input_shape.rank};
    Halide::GeneratorInput<Halide::Buffer<int32_t>> labels{"labels", 1};
    Halide::GeneratorInput<Halide::Buffer<float>> parameters{"parameters", 1};
    Halide::GeneratorInput<Halide::Buffer<float>> velocity{"velocity", 1};
    Halide::GeneratorInput<Halide::Buffer<float>> statistics{"statistics", 1};
    Halide::GeneratorInput<float> learning_rate{"learning_rate"};
    Halide::GeneratorInput<float> momentum{"momentum"};
    Halide::GeneratorInput<float> weight_decay{"weight_decay"};
    Halide::GeneratorOutput<Halide::Buffer<float>> new_parameters{"new_parameters", 1};
    Halide::GeneratorOutput<Halide::Buffer<float>> new_velocity{"new_velocity", 1};
    Halide::GeneratorOutput<Halide::Buffer<float>> new_statistics{"new_statistics", 1};
    Halide::GeneratorOutput<Halide::Buffer<float>> stats{"stats", 1};

    void generate() {
        layout_ = training_layout(build_graph<Net>());
        const int batch = int(Net::input_shape.n()), parameter_floats = int(layout_.parameter_floats),
                  statistic_floats = int(layout_.statistic_floats);
        constrain(images, Net::input_shape);
        labels.dim(0).set_bounds(0, batch).set_estimate(0, batch);
        for (auto* buffer : {&parameters, &velocity}) buffer->dim(0).set_bounds(0, parameter_floats).set_estimate(0, parameter_floats);
        statistics.dim(0).set_bounds(0, statistic_floats).set_estimate(0, statistic_floats);
        training_ = lower_training(layout_,
                                   {images, labels, parameters, velocity, statistics, learning_rate, momentum, weight_decay},
                                   {Halide::Func(new_parameters), Halide::Func(new_velocity), Halide::Func(new_statistics),
                                    Halide::Func(stats)});
        for (auto* buffer : {&new_parameters, &new_velocity})
            buffer->dim(0).set_bounds(0, parameter_floats).set_estimate(0, parameter_floats);
        new_statistics.dim(0).set_bounds(0, statistic_floats).set_estimate(0, statistic_floats);
        stats.dim(0).set_bounds(0, 2).set_estimate(0, 2);
    }

    void schedule() {
        if (this->auto_schedule) return;
        schedule_training_cpu(training_, this->get_target());
    }

private:
    TrainingLayout layout_;
    Training training_;
};

}  // namespace snc::halide
