// safetensors, as safetensors.torch.save_file writes a state_dict:
//   8 bytes: N, the header's length, little-endian; N bytes: a JSON object mapping each tensor's
//   name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data that follows),
//   plus an optional "__metadata__"; then the data.
// The header is parsed with nlohmann::json (Debian's nlohmann-json3-dev). Every offset is checked
// before a byte is read: a malformed file is refused with its name, never read out of bounds.
#pragma once

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <snc/io/file.hpp>
#include <snc/io/tensor.hpp>

namespace snc::io {

struct SafetensorsContents {
    StateDict tensors;                  // the F32 tensors
    std::vector<std::string> ignored;   // I64 counters (num_batches_tracked), read and ignored
};

namespace detail {
inline std::size_t dtype_size(const std::string& dtype) {
    static const std::pair<const char*, std::size_t> sizes[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
        {"I8", 1},  {"U8", 1},  {"BOOL", 1}, {"U16", 2}, {"U32", 4}, {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (const auto& [name, size] : sizes)
        if (dtype == name) return size;
    return 0;
}
}  // namespace detail

inline SafetensorsContents parse_safetensors(const std::vector<char>& bytes, const std::string& path) {
    auto refuse = [&](const std::string& why) { return Error(path + ": not a valid safetensors file: " + why); };
    if (bytes.size() < 8) throw refuse("shorter than its 8-byte header length");
    std::uint64_t header_length = 0;
    for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | std::uint8_t(bytes[std::size_t(i)]);
    if (header_length > bytes.size() - 8)
        throw refuse("the header length " + std::to_string(header_length) + " runs past the end of the " +
                     std::to_string(bytes.size()) + "-byte file");

    // JSON itself allows a key twice (the last wins); a state_dict cannot have two tensors of one name.
    std::set<std::string> names;
    auto no_duplicates = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        if (depth == 1 && event == nlohmann::json::parse_event_t::key && !names.insert(parsed.get<std::string>()).second)
            throw refuse("the tensor '" + parsed.get<std::string>() + "' appears twice in its header");
        return true;
    };
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + std::ptrdiff_t(header_length), no_duplicates);
    } catch (const nlohmann::json::exception& e) {
        throw refuse(std::string("its JSON header does not parse (") + e.what() + ")");
    }
    if (!header.is_object()) throw refuse("its JSON header is not an object");

    const std::uint64_t data_size = bytes.size() - 8 - header_length;
    const char* data = bytes.data() + 8 + header_length;
    SafetensorsContents contents;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> extents;
    for (const auto& item : header.items()) {
        const std::string& name = item.key();
        const nlohmann::json& entry = item.value();
        if (name == "__metadata__") continue;
        auto where = [&](const std::string& why) { return refuse("tensor '" + name + "': " + why); };
        if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
            !entry.contains("data_offsets"))
            throw where("needs dtype, shape and data_offsets");
        const auto& dtype_json = entry["dtype"];
        const auto& shape_json = entry["shape"];
        const auto& offsets_json = entry["data_offsets"];
        if (!dtype_json.is_string()) throw where("dtype is not a string");
        if (!shape_json.is_array()) throw where("shape is not an array");
        if (!offsets_json.is_array() || offsets_json.size() != 2 || !offsets_json[0].is_number_unsigned() ||
            !offsets_json[1].is_number_unsigned())
            throw where("data_offsets is not [begin, end]");
        std::string dtype = dtype_json.get<std::string>();
        std::size_t element_size = detail::dtype_size(dtype);
        if (element_size == 0) throw where("unknown dtype " + dtype);
        std::vector<std::int64_t> shape;
        std::uint64_t elements = 1;
        for (const auto& dim : shape_json) {
            if (!dim.is_number_unsigned()) throw where("its shape holds something other than sizes");
            std::uint64_t d = dim.get<std::uint64_t>();
            if (d > (std::uint64_t(1) << 40) || (d && elements > (std::uint64_t(1) << 40) / d))
                throw where("its shape is absurdly large");
            elements *= d;
            shape.push_back(std::int64_t(d));
        }
        std::uint64_t begin = offsets_json[0].get<std::uint64_t>(), end = offsets_json[1].get<std::uint64_t>();
        if (begin > end || end > data_size)
            throw where("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                        "] lie outside the " + std::to_string(data_size) + " bytes of data");
        if (end - begin != elements * element_size)
            throw where("holds " + std::to_string(end - begin) + " bytes but its shape " + dims_text(shape) +
                        " of " + dtype + " needs " + std::to_string(elements * element_size));
        if (end > begin) extents.emplace_back(begin, end);  // an empty tensor occupies no bytes

        if (dtype == "I64" || dtype == "I32") {
            contents.ignored.push_back(name);  // num_batches_tracked: a counter, not a weight
            continue;
        }
        if (dtype != "F32")
            throw Error(path + ": tensor '" + name + "' is " + dtype + "; snc reads F32 tensors only (convert with "
                        "{k: v.float() for k, v in state_dict.items()})");
        Tensor tensor(shape);
        if (elements) std::memcpy(tensor.data.data(), data + begin, elements * 4);  // little-endian host
        contents.tensors.emplace(name, std::move(tensor));
    }
    std::sort(extents.begin(), extents.end());
    for (std::size_t i = 1; i < extents.size(); ++i)
        if (extents[i].first < extents[i - 1].second)
            throw refuse("two tensors' data_offsets overlap at byte " + std::to_string(extents[i].first));
    return contents;
}

inline SafetensorsContents read_safetensors(const std::string& path) {
    return parse_safetensors(read_file(path), path);
}

// Writes F32 tensors in name order, the header padded with spaces to 8 bytes as safetensors does.
inline void write_safetensors(const std::string& path, const StateDict& tensors) {
    nlohmann::json header = nlohmann::json::object();
    std::uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        std::uint64_t bytes = std::uint64_t(tensor.elements()) * 4;
        header[name] = {{"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    header["__metadata__"] = {{"format", "pt"}};
    std::string text = header.dump();
    while (text.size() % 8) text += ' ';
    write_file_atomically(path, [&](std::ostream& out) {
        std::uint64_t length = text.size();
        char prefix[8];
        for (int i = 0; i < 8; ++i) prefix[i] = char((length >> (8 * i)) & 0xff);
        out.write(prefix, 8);
        out.write(text.data(), std::streamsize(text.size()));
        for (const auto& [name, tensor] : tensors)
            out.write(reinterpret_cast<const char*>(tensor.data.data()), std::streamsize(tensor.data.size() * 4));
    });
}

}  // namespace snc::io
