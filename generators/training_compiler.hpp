// The training compiler: compiles every segment of a network's training step (training.hpp), both
// passes, for every target, into one object file per target, with a header that picks the best
// target the CPU supports at run time. Instantiated per network type by snc_add_training:
//   <compiler> <output prefix> <id> <halide target>...
// writes <prefix>-<k>.o and <prefix>-<k>.h for each target k, and <prefix>.h, whose
// snc_training::<id>::functions(device) gives, for the device (the CPU, CUDA, OpenCL), each
// segment's forward and backward function and the update passes in Halide's argv convention, with
// the arguments of runtime/segments.hpp, for the AOT engine (runtime/aot_training.hpp).
//
// Not a Halide generator: a generator compiles one function, and the number of segments is known
// only once the network's graph is built.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <Halide.h>

#include <snc/halide/schedule.hpp>
#include <snc/halide/segment_pipeline.hpp>

namespace snc::halide {

namespace detail {

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
        const std::vector<Segment> segments = training_segments(graph);
        const std::size_t count = segments.size();
        std::vector<Halide::Target> targets;
        // UserContext: every error a pass raises reaches Halide's handler with the engine's CallErrors
        // (snc/runtime/call_errors.hpp): a failure is an exception in the caller, never an abort.
        for (int a = 3; a < argc; ++a)
            targets.push_back(Halide::Target(argv[a]).with_feature(Halide::Target::NoRuntime).with_feature(Halide::Target::UserContext));
        const TrainingLayout layout = training_layout(graph, training_packing);

        for (std::size_t k = 0; k < targets.size(); ++k) {
            std::vector<Halide::Module> modules;
            for (std::size_t s = 0; s < count; ++s) {
                for (SegmentPass pass : {SegmentPass::forward, SegmentPass::backward}) {
                    SegmentPipeline p = segment_pipeline(layout, segments, int(s), pass, targets[k]);
                    const char* name = pass == SegmentPass::forward ? "forward" : "backward";
                    modules.push_back(p.pipeline.compile_to_module(p.inputs, detail::function_name(id, k, name, s), targets[k]));
                }
            }
            const std::string stem_name = id + "_t" + std::to_string(k);
            UpdatePipeline sgd = sgd_pipeline(layout, targets[k]), statistics = statistics_pipeline(layout, targets[k]);
            modules.push_back(sgd.pipeline.compile_to_module(sgd.inputs, stem_name + "_sgd", targets[k]));
            modules.push_back(statistics.pipeline.compile_to_module(statistics.inputs, stem_name + "_update_statistics", targets[k]));
            const std::string stem = prefix + "-" + std::to_string(k);
            if (!targets[k].has_gpu_feature()) {
                Halide::Module linked = Halide::link_modules(stem_name, modules);
                linked.compile({{Halide::OutputFileType::object, stem + ".o"}, {Halide::OutputFileType::c_header, stem + ".h"}});
                continue;
            }
            // GPU modules keep their kernels' source apart: Halide 14's link_modules keeps one
            // module's and the others' kernels are then missing at run time (OpenCL said
            // CL_INVALID_KERNEL_NAME). Each is compiled alone and the objects joined by `ld -r`.
            // CUDA's lowered statements are kept, joined into one: each holds its module's PTX and
            // the launches of its kernels (block shape, grid, dynamic shared memory), which
            // tools/cuda_kernels.py reads beside the PTX it pulls out of the object.
            const bool cuda = targets[k].has_feature(Halide::Target::CUDA);
            std::string parts, includes;
            std::ofstream statements;
            if (cuda) statements.open(stem + ".stmt.tmp", std::ios::binary);
            for (std::size_t m = 0; m < modules.size(); ++m) {
                const std::string part = stem + "-part" + std::to_string(m);
                std::map<Halide::OutputFileType, std::string> outputs{{Halide::OutputFileType::object, part + ".o"},
                                                                      {Halide::OutputFileType::c_header, part + ".h"}};
                if (cuda) outputs[Halide::OutputFileType::stmt] = part + ".stmt";
                modules[m].compile(outputs);
                parts += " '" + part + ".o'";
                includes += "#include \"" + part.substr(part.find_last_of('/') + 1) + ".h\"\n";
                if (cuda) {
                    std::ifstream statement(part + ".stmt", std::ios::binary);
                    statements << statement.rdbuf();
                    statement.close();
                    std::filesystem::remove(part + ".stmt");
                }
            }
            if (cuda) {
                statements.close();
                if (!statements) throw Error(stem + ".stmt: cannot write the CUDA step's lowered statements");
                std::filesystem::rename(stem + ".stmt.tmp", stem + ".stmt");
            }
            if (std::system(("ld -r -o '" + stem + ".o'" + parts).c_str()) != 0)
                throw Error(stem + ".o: `ld -r` could not join the " + targets[k].to_string() + " objects");
            std::ofstream joined(stem + ".h");
            joined << "// The " << targets[k].to_string() << " functions of " << id << "'s training step.\n#pragma once\n" << includes;
            if (!joined) throw Error(stem + ".h: cannot write the header");
        }

        // The table: each target's functions, by device; for the CPU, the first target this CPU runs.
        auto device_of = [](const Halide::Target& target) {
            if (target.has_feature(Halide::Target::CUDA)) return "SNC_DEVICE_CUDA";
            if (target.has_feature(Halide::Target::OpenCL)) return "SNC_DEVICE_OPENCL";
            return "SNC_DEVICE_CPU";
        };
        bool cuda = false, opencl = false;
        for (const Halide::Target& target : targets)
            cuda = cuda || target.has_feature(Halide::Target::CUDA), opencl = opencl || target.has_feature(Halide::Target::OpenCL);
        std::ofstream header(prefix + ".h");
        header << "// Generated by snc's training compiler: the training step of " << id << ", " << count
               << " segments, " << targets.size() << " targets.\n#pragma once\n\n#include <cstdint>\n\n#include <HalideRuntime.h>\n"
               << (cuda ? "#include <HalideRuntimeCuda.h>\n" : "") << (opencl ? "#include <HalideRuntimeOpenCL.h>\n" : "")
               << "\n#include <snc/runtime/aot_training.hpp>\n\n";
        for (std::size_t k = 0; k < targets.size(); ++k) {
            std::string stem = prefix.substr(prefix.find_last_of('/') + 1) + "-" + std::to_string(k);
            header << "#include \"" << stem << ".h\"\n";
        }
        const std::size_t words = detail::feature_words(targets[0]).size();
        header << "\nnamespace snc_training::" << id << " {\n\ninline constexpr int segment_count = " << count << ";\n"
               << "// How the targets want the parameters packed (the training layout's).\n"
               << "inline constexpr snc::Packing packing = snc::Packing(" << int(training_packing) << ");\n\n"
               << "// The functions for `device` (enum snc_device): for the CPU, those of the first CPU target this CPU runs;\n"
               << "// null when the step was not compiled for the device.\n"
               << "inline const snc::SegmentFunctions* functions(int device) {\n";
        for (std::size_t k = 0; k < targets.size(); ++k) {
            for (const char* pass : {"forward", "backward"}) {
                header << "    static const snc::SegmentFunction " << pass << "_t" << k << "[] = {";
                for (std::size_t s = 0; s < count; ++s)
                    header << (s ? ", " : "") << detail::function_name(id, k, pass, s) << "_argv";
                header << "};\n";
            }
        }
        header << "    static const snc::SegmentFunctions candidates[] = {\n";
        for (std::size_t k = 0; k < targets.size(); ++k) {
            const std::string device = device_of(targets[k]);
            const std::string interface = device == "SNC_DEVICE_CUDA"     ? "halide_cuda_device_interface"
                                          : device == "SNC_DEVICE_OPENCL" ? "halide_opencl_device_interface"
                                                                          : "nullptr";
            header << "        {\"" << targets[k].to_string() << "\", " << device << ", " << interface << ", segment_count, forward_t" << k
                   << ", backward_t" << k << ", " << id << "_t" << k << "_sgd_argv, " << id << "_t" << k << "_update_statistics_argv},\n";
        }
        header << "    };\n    static const std::uint64_t features[][" << words << "] = {\n";
        for (const Halide::Target& target : targets) {
            header << "        {";
            std::vector<std::uint64_t> bits = detail::feature_words(target);
            for (std::size_t w = 0; w < bits.size(); ++w) header << (w ? ", " : "") << bits[w] << "ull";
            header << "},\n";
        }
        header << "    };\n    const snc::SegmentFunctions* last_cpu = nullptr;\n"
               << "    for (std::size_t k = 0; k < " << targets.size() << "; ++k) {\n"
               << "        if (candidates[k].device != device) continue;\n"
               << "        if (device != SNC_DEVICE_CPU || halide_can_use_target_features(" << words << ", features[k])) return &candidates[k];\n"
               << "        last_cpu = &candidates[k];\n    }\n    return last_cpu;  // the baseline, or null\n}\n\n}  // namespace snc_training::"
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
