// libFuzzer target: the .npy parser (the programs' --input). Any bytes are refused with an
// snc::Error or parsed; nothing else may happen (ASan, UBSan).
#include <snc/io/npy.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<char> bytes(data, data + size);
    try {
        snc::Tensor tensor = snc::io::parse_npy(bytes, "fuzz.npy");
        volatile float sink = tensor.data.empty() ? 0.0f : tensor.data.back();
        (void)sink;
    } catch (const snc::Error&) {
    }
    return 0;
}
