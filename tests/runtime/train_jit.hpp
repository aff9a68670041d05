// A network's training step compiled with Halide's JIT, in float32 or float64, with snc's CPU
// schedule: the same lowering the training generators use.
#pragma once

#include <vector>

#include <Halide.h>

#include <snc/halide/train.hpp>

namespace snc::testing {

template <class T>
class JitTraining {
public:
    explicit JitTraining(const Graph& graph)
        : layout_(training_layout(graph)),
          images_(Halide::type_of<T>(), graph.input.rank, "images"),
          labels_(Halide::Int(32), 1, "labels"),
          parameters_(Halide::type_of<T>(), 1, "parameters"),
          velocity_(Halide::type_of<T>(), 1, "velocity"),
          statistics_(Halide::type_of<T>(), 1, "statistics"),
          learning_rate_("learning_rate"), momentum_("momentum"), weight_decay_("weight_decay") {
        training_ = halide::lower_training(layout_,
                                           {images_, labels_, parameters_, velocity_, statistics_, learning_rate_,
                                            momentum_, weight_decay_},
                                           {}, Halide::type_of<T>());
        if (!getenv("SNC_NO_SCHEDULE")) halide::schedule_training_cpu(training_, Halide::get_jit_target_from_environment());
        pipeline_ = Halide::Pipeline({training_.new_parameters, training_.new_velocity, training_.new_statistics, training_.stats});
    }

    const TrainingLayout& layout() const { return layout_; }
    halide::Training& training() { return training_; }

    struct Result {
        std::vector<T> parameters, velocity, statistics;
        T loss;
        T correct;
    };

    Result step(std::vector<T>& images, std::vector<int>& labels, std::vector<T>& parameters, std::vector<T>& velocity,
                std::vector<T>& statistics, T learning_rate, T momentum, T weight_decay) {
        Halide::Buffer<T> in(images.data(), halide::halide_extents(layout_.graph.input));
        Halide::Buffer<int> label_buffer(labels.data(), int(labels.size()));
        Halide::Buffer<T> p(parameters.data(), int(parameters.size())), v(velocity.data(), int(velocity.size())),
            s(statistics.data(), int(statistics.size()));
        images_.set(in);
        labels_.set(label_buffer);
        parameters_.set(p);
        velocity_.set(v);
        statistics_.set(s);
        learning_rate_.set(learning_rate);
        momentum_.set(momentum);
        weight_decay_.set(weight_decay);
        Result result{std::vector<T>(parameters.size()), std::vector<T>(velocity.size()), std::vector<T>(statistics.size()), 0, 0};
        Halide::Buffer<T> new_p(result.parameters.data(), int(parameters.size())),
            new_v(result.velocity.data(), int(velocity.size())), new_s(result.statistics.data(), int(statistics.size())),
            stats(2);
        pipeline_.realize({new_p, new_v, new_s, stats});
        result.loss = stats(0);
        result.correct = stats(1);
        return result;
    }

private:
    TrainingLayout layout_;
    Halide::ImageParam images_, labels_, parameters_, velocity_, statistics_;
    Halide::Param<T> learning_rate_, momentum_, weight_decay_;
    halide::Training training_;
    Halide::Pipeline pipeline_;
};

}  // namespace snc::testing
