// A test program's own scratch directory under the system's temporary directory, named after the
// program and its process, and removed when the process ends: a test run leaves nothing in /tmp.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace snc::testing {

inline std::filesystem::path scratch_directory(const std::string& program) {
    struct RemovedAtExit {
        std::filesystem::path dir;
        ~RemovedAtExit() {
            std::error_code ignored;
            std::filesystem::remove_all(dir, ignored);
        }
    };
    static RemovedAtExit scratch{std::filesystem::temp_directory_path() / (program + "_" + std::to_string(::getpid()))};
    std::filesystem::create_directories(scratch.dir);
    return scratch.dir;
}

}  // namespace snc::testing
