// libFuzzer target: the safetensors parser (--weights, --init, snc_add_model's WEIGHTS).
#include <snc/io/safetensors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<char> bytes(data, data + size);
    try {
        snc::io::SafetensorsContents contents = snc::io::parse_safetensors(bytes, "fuzz.safetensors");
        for (const auto& entry : contents.tensors) {
            volatile float sink = entry.second.data.empty() ? 0.0f : entry.second.data.front();
            (void)sink;
        }
    } catch (const snc::Error&) {
    }
    return 0;
}
