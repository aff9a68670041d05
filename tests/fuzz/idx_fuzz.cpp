// libFuzzer target: Fashion-MNIST's IDX parser and the batches made of what it accepts (resized
// to 96x96 as the course's ResNet-18 reads them, and augmented). The input is a 4-byte
// little-endian length n, n bytes of the image file, then the label file.
#include <cstring>
#include <random>

#include <snc/data.hpp>
#include <snc/io/idx.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    std::uint32_t split = 0;
    std::memcpy(&split, data, 4);
    data += 4, size -= 4;
    split = std::uint32_t(std::min<std::size_t>(split, size));
    std::vector<std::uint8_t> images(data, data + split), labels(data + split, data + size);
    try {
        snc::io::LabeledImages set = snc::io::parse_fashion_mnist(images, "images", labels, "labels");
        const std::int64_t count = std::min<std::int64_t>(set.count, 3);
        std::vector<std::int64_t> order(static_cast<std::size_t>(count), 0);
        for (std::int64_t i = 0; i < count; ++i) order[std::size_t(i)] = set.count - 1 - i;
        snc::Tensor small({count, 28, 28, 1}), large({count, 96, 96, 1});
        std::mt19937_64 random(1);
        snc::Augmentation augmentation{&random};
        snc::fill_batch(set, order.data(), count, small, &augmentation);
        snc::fill_batch(set, order.data(), count, large);
    } catch (const snc::Error&) {
    }
    return 0;
}
