// The training compiler: compiles every segment of a network's training step (training.hpp),
// for every target, into one object file per target, with a header that picks the best target
// the CPU supports at run time. Instantiated per network type by snc_add_training:
//   <compiler> <output prefix> <id> <halide target>...
// writes <prefix>-<k>.o and <prefix>-<k>.h for each target k, and <prefix>.h, whose
// snc_training::<id>::functions() gives each segment's forward and backward function in Halide's
// argv convention (int f(void **arguments)), for TrainingStep's AOT engine.
//
// Not a Halide generator: a generator compiles one function, and the number of segments is known
// only once the network's graph is built.
#pragma once

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <Halide.h>

#include <snc/halide/lower.hpp>
#include <snc/halide/train.hpp>

namespace snc::halide {

namespace detail {

inline void bound_flat(Halide::Func f, FloatRange range) {
    if (range.size() == 0) range = {0, 1};  // a segment without parameters (or statistics) writes one scratch float
    f.output_buffer().dim(0).set_bounds(int(range.begin), int(range.size())).set_estimate(int(range.begin), int(range.size()));
}

inline std::string function_name(const std::string& id, std::size_t target, const char* pass, std::size_t segment) {
    return id + "_t" + std::to_string(target) + "_" + pass + "_" + std::to_string(segment);
}

// The Halide feature bits of `target`, as halide_can_use_target_features reads them.
inline std::vector<std::uint64_t> feature_words(const Halide::Target& target) {
    std::vector<std::uint64_t> words((Halide::Target::FeatureEnd + 63) / 64, 0);
    for (int f = 0; f < Halide::Target::FeatureEnd; ++f)
        if (target.has_feature(Halide::Target::Feature(f))) words[std::size_t(f / 64)] |= std::uint64_t(1) << (f % 64);
    return words;
}

}  // namespace detail

template <NetworkType Net>
int training_compiler_main(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: " << argv[0] << " <output prefix> <id> <halide target>...\n";
        return 2;
    }
    const std::string prefix = argv[1], id = argv[2];
    try {
        const Graph graph = build_graph<Net>();
        const TrainingLayout layout = training_layout(graph);
        const std::vector<Segment> segments = training_segments(graph);
        const std::size_t count = segments.size();
        std::vector<Halide::Target> targets;
        for (int a = 3; a < argc; ++a) targets.push_back(Halide::Target(argv[a]).with_feature(Halide::Target::NoRuntime));

        for (std::size_t k = 0; k < targets.size(); ++k) {
            std::vector<Halide::Module> modules;
            for (std::size_t s = 0; s < count; ++s) {
                const Segment& segment = segments[s];
                const bool last = s + 1 == count;
                const Shape in_shape = graph.shape_of(segment.input()), out_shape = graph.shape_of(segment.output());
                Halide::ImageParam input(Halide::Float(32), in_shape.rank, "input"), labels(Halide::Int(32), 1, "labels"),
                    parameters(Halide::Float(32), 1, "parameters"),
                    output_gradient(Halide::Float(32), out_shape.rank, "output_gradient");
                constrain(input, in_shape);
                constrain(output_gradient, out_shape);
                labels.dim(0).set_bounds(0, int(graph.input.n()));
                parameters.dim(0).set_bounds(0, int(layout.parameter_floats));
                SegmentInputs inputs{input, last ? Halide::Func(labels) : Halide::Func(), parameters,
                                     last ? Halide::Func() : Halide::Func(output_gradient)};
                if (!last) {
                    Training forward = lower_training_segment(layout, segment, SegmentPass::forward, inputs);
                    schedule_training_cpu(forward, targets[k]);
                    Halide::OutputImageParam output = forward.output.output_buffer();
                    constrain(output, out_shape);
                    modules.push_back(Halide::Pipeline(forward.output)
                                          .compile_to_module({input, parameters}, detail::function_name(id, k, "forward", s),
                                                             targets[k]));
                }
                Training backward = lower_training_segment(layout, segment, SegmentPass::backward, inputs);
                schedule_training_cpu(backward, targets[k]);
                std::vector<Halide::Func> outputs;
                if (backward.input_gradient.defined()) {
                    Halide::OutputImageParam gradient = backward.input_gradient.output_buffer();
                    constrain(gradient, in_shape);
                    outputs.push_back(backward.input_gradient);
                }
                detail::bound_flat(backward.parameter_gradients, range_of(layout.parameters, segment));
                detail::bound_flat(backward.batch_statistics, range_of(layout.statistics, segment));
                outputs.push_back(backward.parameter_gradients);
                outputs.push_back(backward.batch_statistics);
                std::vector<Halide::Argument> arguments{input};
                if (last) {
                    backward.loss_stats.output_buffer().dim(0).set_bounds(0, 2);
                    outputs.push_back(backward.loss_stats);
                    arguments.push_back(labels);
                }
                arguments.push_back(parameters);
                if (!last) arguments.push_back(output_gradient);
                modules.push_back(Halide::Pipeline(outputs).compile_to_module(
                    arguments, detail::function_name(id, k, "backward", s), targets[k]));
            }
            Halide::Module linked = Halide::link_modules(id + "_t" + std::to_string(k), modules);
            const std::string stem = prefix + "-" + std::to_string(k);
            linked.compile({{Halide::OutputFileType::object, stem + ".o"}, {Halide::OutputFileType::c_header, stem + ".h"}});
        }

        // The table: each segment's functions, for the first target the CPU can run.
        std::ofstream header(prefix + ".h");
        header << "// Generated by snc's training compiler: the training step of " << id << ", " << count
               << " segments, " << targets.size() << " targets.\n#pragma once\n\n#include <cstdint>\n\n#include <HalideRuntime.h>\n\n";
        for (std::size_t k = 0; k < targets.size(); ++k) {
            std::string stem = prefix.substr(prefix.find_last_of('/') + 1) + "-" + std::to_string(k);
            header << "#include \"" << stem << ".h\"\n";
        }
        header << "\nnamespace snc_training::" << id << " {\n\ninline constexpr int segment_count = " << count << ";\n\n"
               << "struct Functions {\n    const char* target;\n    int (*forward[" << count << "])(void**);  // the last is null\n"
               << "    int (*backward[" << count << "])(void**);\n};\n\ninline const Functions& functions() {\n"
               << "    static const Functions candidates[] = {\n";
        for (std::size_t k = 0; k < targets.size(); ++k) {
            header << "        {\"" << targets[k].to_string() << "\", {";
            for (std::size_t s = 0; s < count; ++s)
                header << (s ? ", " : "") << (s + 1 < count ? detail::function_name(id, k, "forward", s) + "_argv" : "nullptr");
            header << "}, {";
            for (std::size_t s = 0; s < count; ++s) header << (s ? ", " : "") << detail::function_name(id, k, "backward", s) << "_argv";
            header << "}},\n";
        }
        header << "    };\n    static const std::uint64_t features[][" << detail::feature_words(targets[0]).size() << "] = {\n";
        for (const Halide::Target& target : targets) {
            header << "        {";
            std::vector<std::uint64_t> words = detail::feature_words(target);
            for (std::size_t w = 0; w < words.size(); ++w) header << (w ? ", " : "") << words[w] << "ull";
            header << "},\n";
        }
        header << "    };\n    static const Functions& chosen = [] () -> const Functions& {\n"
               << "        for (std::size_t k = 0; k + 1 < " << targets.size() << "; ++k)\n"
               << "            if (halide_can_use_target_features(" << detail::feature_words(targets[0]).size()
               << ", features[k])) return candidates[k];\n"
               << "        return candidates[" << targets.size() - 1 << "];\n    }();\n    return chosen;\n}\n\n}  // namespace snc_training::"
               << id << "\n";
        if (!header) throw Error(prefix + ".h: cannot write the header");
    } catch (const Halide::CompileError& e) {
        std::cerr << "snc: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "snc: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace snc::halide
