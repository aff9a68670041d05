// NumPy's .npy files of float32 (the examples' --input and --output).
//   "\x93NUMPY", version (1.0, 2.0 or 3.0), header length (2 bytes, or 4 from 2.0), then a Python
//   dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, H, W, C), }, then the data.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include <snc/io/file.hpp>
#include <snc/io/tensor.hpp>

namespace snc::io {

namespace detail {
// The value text of `key` in the header dict: "'<f4'", "False", "(2, 3)".
inline std::string npy_field(const std::string& header, const std::string& key, const std::string& path) {
    std::size_t at = header.find("'" + key + "'");
    if (at == std::string::npos) throw Error(path + ": not a valid .npy file: its header has no '" + key + "'");
    at = header.find(':', at);
    if (at == std::string::npos) throw Error(path + ": not a valid .npy file: malformed header");
    ++at;
    while (at < header.size() && header[at] == ' ') ++at;
    std::size_t end = at;
    if (at < header.size() && header[at] == '(') end = header.find(')', at) + 1;
    else if (at < header.size() && header[at] == '\'') end = header.find('\'', at + 1) + 1;
    else end = header.find_first_of(",}", at);
    if (end == std::string::npos || end == 0 || end > header.size())
        throw Error(path + ": not a valid .npy file: malformed header");
    return header.substr(at, end - at);
}
}  // namespace detail

inline Tensor parse_npy(const std::vector<char>& bytes, const std::string& path) {
    static const char magic[] = "\x93NUMPY";
    if (bytes.size() < 10 || std::memcmp(bytes.data(), magic, 6) != 0)
        throw Error(path + ": not an .npy file (no \\x93NUMPY magic)");
    int major = std::uint8_t(bytes[6]);
    std::size_t header_length = 0, header_start = 0;
    if (major == 1) {
        header_length = std::uint8_t(bytes[8]) | std::size_t(std::uint8_t(bytes[9])) << 8;
        header_start = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) throw Error(path + ": not a valid .npy file: truncated header");
        for (int i = 3; i >= 0; --i) header_length = (header_length << 8) | std::uint8_t(bytes[8 + std::size_t(i)]);
        header_start = 12;
    } else {
        throw Error(path + ": unsupported .npy version " + std::to_string(major));
    }
    if (header_length > bytes.size() - header_start) throw Error(path + ": not a valid .npy file: truncated header");
    std::string header(bytes.data() + header_start, header_length);

    std::string descr = detail::npy_field(header, "descr", path);
    if (descr != "'<f4'" && descr != "'|f4'")
        throw Error(path + ": holds " + descr + " values; snc reads float32 ('<f4') arrays");
    if (detail::npy_field(header, "fortran_order", path) != "False")
        throw Error(path + ": is in Fortran order; save it C-contiguous (np.ascontiguousarray)");
    std::string shape_text = detail::npy_field(header, "shape", path);
    std::vector<std::int64_t> shape;
    for (std::size_t i = 1; i + 1 < shape_text.size();) {
        while (i < shape_text.size() && (shape_text[i] == ' ' || shape_text[i] == ',')) ++i;
        if (i + 1 >= shape_text.size()) break;
        std::size_t used = 0;
        long long value = 0;
        try {
            value = std::stoll(shape_text.substr(i), &used);
        } catch (...) {
            throw Error(path + ": not a valid .npy file: cannot read its shape " + shape_text);
        }
        if (value < 0) throw Error(path + ": not a valid .npy file: negative extent in " + shape_text);
        shape.push_back(value);
        i += used;
    }
    // The data's size, checked against the file before anything is allocated: a shape that claims
    // more than the file holds (or more than 2^64 bytes) is refused, not allocated.
    const std::size_t data_start = header_start + header_length, available = bytes.size() - data_start;
    std::uint64_t needed = 4;
    bool overflow = false;
    for (std::int64_t extent : shape) overflow = overflow || __builtin_mul_overflow(needed, std::uint64_t(extent), &needed);
    if (overflow || needed > available)
        throw Error(path + ": truncated: its shape " + dims_text(shape) + " needs " +
                    (overflow ? std::string("more than 2^64") : std::to_string(needed)) + " bytes of data, the file has " +
                    std::to_string(available));
    Tensor tensor(shape);
    if (needed) std::memcpy(tensor.data.data(), bytes.data() + data_start, needed);
    return tensor;
}

inline Tensor read_npy(const std::string& path) { return parse_npy(read_file(path), path); }

inline void write_npy(const std::string& path, const Tensor& tensor) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    for (std::size_t i = 0; i < tensor.shape.size(); ++i) header += std::to_string(tensor.shape[i]) + ", ";
    if (tensor.shape.size() > 1) header.resize(header.size() - 2);  // (2, 3) but (5,)
    else if (tensor.shape.size() == 1) header.resize(header.size() - 1);
    header += "), }";
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    write_file_atomically(path, [&](std::ostream& out) {
        out.write("\x93NUMPY\x01\x00", 8);
        char length[2] = {char(header.size() & 0xff), char(header.size() >> 8)};
        out.write(length, 2);
        out.write(header.data(), std::streamsize(header.size()));
        out.write(reinterpret_cast<const char*>(tensor.data.data()), std::streamsize(tensor.data.size() * 4));
    });
}

}  // namespace snc::io
