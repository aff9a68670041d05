// Fashion-MNIST's IDX files (Debian's dataset-fashion-mnist: /usr/share/datasets/fashion-mnist),
// gzipped or not. IDX: a big-endian magic (0x0803 images, 0x0801 labels), the extents, unsigned bytes.
// Anything else (other image sizes, no images, fewer labels, labels above 9) is refused by name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <zlib.h>

#include <snc/io/tensor.hpp>

namespace snc::io {

struct LabeledImages {
    std::int64_t count = 0, rows = 0, cols = 0;
    std::vector<std::uint8_t> pixels;  // count x rows x cols
    std::vector<std::uint8_t> labels;  // count, 0..9
};

namespace detail {
inline std::vector<std::uint8_t> read_maybe_gzipped(const std::string& path) {
    gzFile file = gzopen(path.c_str(), "rb");  // reads plain files unchanged too
    if (!file) throw Error(path + ": cannot open the file");
    std::vector<std::uint8_t> bytes;
    std::uint8_t chunk[1 << 16];
    int got = 0;
    while ((got = gzread(file, chunk, sizeof chunk)) > 0) bytes.insert(bytes.end(), chunk, chunk + got);
    int error = 0;
    const char* message = gzerror(file, &error);
    std::string why = got < 0 || (error != Z_OK && error != Z_STREAM_END) ? std::string(message) : "";
    gzclose(file);
    if (!why.empty()) throw Error(path + ": cannot decompress the file (" + why + ")");
    return bytes;
}

inline std::uint32_t big_endian(const std::vector<std::uint8_t>& bytes, std::size_t at) {
    return std::uint32_t(bytes[at]) << 24 | std::uint32_t(bytes[at + 1]) << 16 | std::uint32_t(bytes[at + 2]) << 8 |
           bytes[at + 3];
}

// The file for `stem` in `dir`: stem, else stem.gz.
inline std::string idx_path(const std::string& dir, const std::string& stem) {
    std::filesystem::path plain = std::filesystem::path(dir) / stem;
    if (std::filesystem::is_regular_file(plain)) return plain.string();
    std::filesystem::path gz = plain;
    gz += ".gz";
    if (std::filesystem::is_regular_file(gz)) return gz.string();
    throw Error(plain.string() + "(.gz): no such file; Fashion-MNIST comes with Debian's dataset-fashion-mnist");
}
}  // namespace detail

// An IDX image file's and an IDX label file's bytes, as Fashion-MNIST has them: 28x28 images,
// labels 0..9, as many labels as images, at least one image. Every size is checked against the
// bytes at hand before anything is copied.
inline LabeledImages parse_fashion_mnist(const std::vector<std::uint8_t>& images, const std::string& images_path,
                                         const std::vector<std::uint8_t>& labels, const std::string& labels_path) {
    constexpr std::int64_t side = 28;
    if (images.size() < 16 || detail::big_endian(images, 0) != 0x803)
        throw Error(images_path + ": not an IDX image file (magic 0x00000803)");
    if (labels.size() < 8 || detail::big_endian(labels, 0) != 0x801)
        throw Error(labels_path + ": not an IDX label file (magic 0x00000801)");
    LabeledImages set;
    set.count = detail::big_endian(images, 4);
    set.rows = detail::big_endian(images, 8);
    set.cols = detail::big_endian(images, 12);
    if (set.rows != side || set.cols != side)
        throw Error(images_path + ": holds images of " + std::to_string(set.rows) + "x" + std::to_string(set.cols) +
                    " pixels; Fashion-MNIST's are 28x28");
    if (set.count == 0) throw Error(images_path + ": holds no images");
    const std::uint64_t pixel_bytes = std::uint64_t(set.count) * std::uint64_t(side * side);  // < 2^42: no overflow
    if (images.size() - 16 < pixel_bytes)
        throw Error(images_path + ": truncated: " + std::to_string(set.count) + " images of 28x28 need " +
                    std::to_string(pixel_bytes) + " bytes, the file has " + std::to_string(images.size() - 16));
    const std::int64_t label_count = detail::big_endian(labels, 4);
    if (label_count != set.count)
        throw Error(labels_path + ": has " + std::to_string(label_count) + " labels for " + std::to_string(set.count) +
                    " images in " + images_path);
    if (labels.size() - 8 < std::uint64_t(label_count))
        throw Error(labels_path + ": truncated: " + std::to_string(label_count) + " labels need " +
                    std::to_string(label_count) + " bytes, the file has " + std::to_string(labels.size() - 8));
    set.pixels.assign(images.begin() + 16, images.begin() + 16 + std::ptrdiff_t(pixel_bytes));
    set.labels.assign(labels.begin() + 8, labels.begin() + 8 + label_count);
    for (std::uint8_t label : set.labels)
        if (label > 9) throw Error(labels_path + ": holds the label " + std::to_string(label) + ", outside 0..9");
    return set;
}

// split: "train" (60,000 images) or "t10k" (10,000).
inline LabeledImages read_fashion_mnist(const std::string& dir, const std::string& split) {
    if (!std::filesystem::is_directory(dir)) throw Error(dir + ": not a directory (Fashion-MNIST's IDX files are looked for in it)");
    const std::string images_path = detail::idx_path(dir, split + "-images-idx3-ubyte");
    const std::string labels_path = detail::idx_path(dir, split + "-labels-idx1-ubyte");
    return parse_fashion_mnist(detail::read_maybe_gzipped(images_path), images_path, detail::read_maybe_gzipped(labels_path),
                               labels_path);
}

}  // namespace snc::io
