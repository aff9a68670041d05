// Reading whole files and writing them atomically: a temporary file renamed into place, so that an
// interrupted program never leaves a half-written file behind.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <snc/io/tensor.hpp>

namespace snc::io {

inline std::vector<char> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open the file");
    in.seekg(0, std::ios::end);
    std::streamoff size = in.tellg();
    if (size < 0) throw Error(path + ": cannot read the file");
    in.seekg(0, std::ios::beg);
    std::vector<char> bytes(static_cast<std::size_t>(size));
    if (size > 0 && !in.read(bytes.data(), size)) throw Error(path + ": cannot read the file");
    return bytes;
}

// Calls write(std::ostream&) on a temporary file next to `path`, then renames it over `path`.
template <class Writer>
void write_file_atomically(const std::string& path, Writer&& write) {
    std::filesystem::path target(path);
    std::filesystem::path temporary = target;
    temporary += ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(path + ": cannot create " + temporary.string());
        try {
            write(out);
        } catch (...) {
            out.close();
            std::filesystem::remove(temporary);
            throw;
        }
        out.flush();
        if (!out) {
            out.close();
            std::filesystem::remove(temporary);
            throw Error(path + ": writing failed (disk full?)");
        }
    }
    std::error_code error;
    std::filesystem::rename(temporary, target, error);
    if (error) {
        std::filesystem::remove(temporary);
        throw Error(path + ": cannot rename " + temporary.string() + " into place: " + error.message());
    }
}

}  // namespace snc::io
