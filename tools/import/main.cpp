// snc-import: from an ONNX model (torch.onnx.export's) to an snc declaration and its weights.
//   snc-import MODEL.onnx --network NS::Name --header OUT.hpp --weights OUT.safetensors [--batch N]
// The header declares `using Name = snc::Network<...>;` in namespace NS, one layer a line; the
// weights carry the names that declaration gives its tensors, so that
//   snc_add_model(app_net NETWORK "NS::Name" HEADER OUT.hpp WEIGHTS OUT.safetensors)
// (or snc_add_model(app_net ONNX MODEL.onnx), which runs this at build time) compiles it.
// Exit codes: 0 done; 2 an option, the file or a node refused (one line each).
#include <iostream>
#include <regex>

#include <snc/cli.hpp>
#include <snc/io/file.hpp>
#include <snc/io/safetensors.hpp>

#include "onnx_import.hpp"

namespace {
std::string thousands(std::int64_t value) {
    std::string digits = std::to_string(value), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}
}  // namespace

int main(int argc, char** argv) {
    std::string model, header, weights;
    snc::onnx_import::Options options;
    CLI::App app{"Imports an ONNX model as an snc network declaration and its weights.", "snc-import"};
    app.add_option("model", model, "the ONNX model (torch.onnx.export's)")->required()->check(snc::cli::input_file);
    app.add_option("--network", options.network, "the C++ name to declare, NS::Name")->required()->check(CLI::Validator(
        [](std::string& name) -> std::string {
            static const std::regex identifier("([A-Za-z_][A-Za-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*");
            return std::regex_match(name, identifier) ? "" : "'" + name + "' is not a C++ name like NS::Name";
        },
        "NS::Name"));
    app.add_option("--header", header, "the declaration to write")->required()->check(snc::cli::output_file);
    app.add_option("--weights", weights, "the weights to write, as safetensors")->required()->check(snc::cli::output_file);
    app.add_option("--batch", options.batch, "the batch to compile (the model's own when static)")
        ->check(snc::cli::whole_number(1, 1 << 20));
    if (int code = snc::cli::parse(app, argc, argv); code >= 0) return code;
    try {
        snc::onnx_import::Result result = snc::onnx_import::import_model(model, options);
        snc::io::write_safetensors(weights, result.weights);
        try {
            snc::io::write_file_atomically(header, [&](std::ostream& out) { out << result.header; });
        } catch (...) {
            std::filesystem::remove(weights);  // both, or neither
            throw;
        }
        std::cout << "snc-import: " << model << " -> " << header << " (" << options.network << ": " << result.layers << " layers, "
                  << thousands(result.parameters) << " parameters) and " << weights << "\n";
    } catch (const snc::Error& e) {
        std::cerr << "snc-import: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "snc-import: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
