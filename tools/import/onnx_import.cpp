// snc-import's entry (onnx_import.hpp): the model parsed with ONNX's protobuf classes, then the
// Importer (importer.hpp) reads, rewrites, walks and writes it.
#include <limits>

#include <snc/io/file.hpp>

#include "importer.hpp"

namespace snc::onnx_import {

Result import_model(const std::string& path, const Options& options) {
    std::vector<char> bytes = io::read_file(path);
    return import_model_bytes(bytes.data(), bytes.size(), path, options);
}

Result import_model_bytes(const char* data, std::size_t size, const std::string& path, const Options& options) {
    onnx::ModelProto model;
    if (size > std::size_t(std::numeric_limits<int>::max()) || !model.ParseFromArray(data, int(size)))
        throw Error(path + ": not an ONNX model (it does not parse as a ModelProto)");
    if (!model.has_graph()) throw Error(path + ": the ONNX model has no graph");
    return Importer(model, path, options).run();
}

}  // namespace snc::onnx_import
