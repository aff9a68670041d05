// libFuzzer target: bytes as an ONNX model for snc-import, an untrusted file a user downloads.
// The protobuf parse and the structure recovery (operators, folds, residual joins, weights and
// their names, the declaration's text) run; compiling the declaration does not. Refusals are
// snc::Error; anything else escaping, or a crash, is a finding. External data is looked for
// beside "fuzz/model.onnx", a folder that does not exist.
#include <onnx_import.hpp>

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    for (std::int64_t batch : {0, 3}) {
        try {
            snc::onnx_import::Options options{.network = "fuzz::Net", .batch = batch};
            snc::onnx_import::Result result =
                snc::onnx_import::import_model_bytes(reinterpret_cast<const char*>(data), size, "fuzz/model.onnx", options);
            volatile std::size_t sink = result.header.size() + result.weights.size();
            (void)sink;
        } catch (const snc::Error&) {
        }
    }
    return 0;
}
