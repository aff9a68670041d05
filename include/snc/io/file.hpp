// Reading whole files, and writing them so that nothing half-written is ever left behind: a
// temporary file beside the target, flushed to disk, renamed over the target, the directory
// flushed too. The temporary file is removed on every failure path, and when the program is
// interrupted (SIGINT, SIGTERM, SIGHUP) while writing it.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <snc/io/tensor.hpp>

namespace snc::io {

// Refuses what is not a readable regular file (a directory, a missing path), naming it.
inline void check_input_file(const std::string& path) {
    std::error_code error;
    const std::filesystem::file_status status = std::filesystem::status(path, error);
    if (error || !std::filesystem::exists(status)) throw Error(path + ": no such file");
    if (std::filesystem::is_directory(status)) throw Error(path + ": is a directory, not a file");
    if (!std::filesystem::is_regular_file(status)) throw Error(path + ": is not a regular file");
}

inline std::vector<char> read_file(const std::string& path) {
    check_input_file(path);
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

// Checks, before any work starts, that `path` can be written: its directory exists and is
// writable, and it is not itself a directory. `option` names where the path came from ("--save").
inline void check_output_path(const std::string& path, const std::string& option) {
    const std::string where = option.empty() ? path : option + " " + path;
    if (path.empty()) throw Error(option + ": needs a file name");
    std::filesystem::path target(path);
    std::filesystem::path directory = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    std::error_code error;
    if (!std::filesystem::is_directory(directory, error))
        throw Error(where + ": the directory " + directory.string() + " does not exist");
    if (std::filesystem::is_directory(target, error)) throw Error(where + ": is a directory, not a file");
    if (::access(directory.c_str(), W_OK) != 0) throw Error(where + ": the directory " + directory.string() + " is not writable");
}

namespace detail {
// The temporary file being written, for the signal handler: a fixed buffer, as a handler may
// only call async-signal-safe functions (unlink, sigaction, raise).
inline char pending_temporary[4096] = {};
inline constexpr int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};
inline struct sigaction previous_actions[3] = {};

inline void remove_pending_and_reraise(int signal_number) {
    if (pending_temporary[0]) ::unlink(pending_temporary);
    for (int k = 0; k < 3; ++k)
        if (cleanup_signals[k] == signal_number) ::sigaction(signal_number, &previous_actions[k], nullptr);
    std::raise(signal_number);  // the handler that was there before, or the default action
}

// While a temporary file exists: its removal on SIGINT, SIGTERM and SIGHUP, before the handlers
// that were there run.
struct CleanupOnSignal {
    explicit CleanupOnSignal(const std::string& temporary) {
        std::strcpy(pending_temporary, temporary.c_str());
        struct sigaction ours {};
        ours.sa_handler = remove_pending_and_reraise;
        sigemptyset(&ours.sa_mask);
        for (int k = 0; k < 3; ++k) ::sigaction(cleanup_signals[k], &ours, &previous_actions[k]);
    }
    ~CleanupOnSignal() {
        for (int k = 0; k < 3; ++k) ::sigaction(cleanup_signals[k], &previous_actions[k], nullptr);
        pending_temporary[0] = '\0';
    }
    CleanupOnSignal(const CleanupOnSignal&) = delete;
    CleanupOnSignal& operator=(const CleanupOnSignal&) = delete;
};

// Flushes a file (or a directory's entries) to disk.
inline bool sync_path(const std::string& path, bool directory) {
    const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return false;
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    return synced;
}
}  // namespace detail

// Calls write(std::ostream&) on a temporary file next to `path`, flushes it to disk, then renames
// it over `path`.
template <class Writer>
void write_file_atomically(const std::string& path, Writer&& write) {
    std::filesystem::path target(path);
    std::filesystem::path temporary = target;
    temporary += ".tmp-" + std::to_string(::getpid());
    if (temporary.string().size() >= sizeof detail::pending_temporary) throw Error(path + ": the path is too long");
    detail::CleanupOnSignal cleanup(temporary.string());
    auto fail = [&](const std::string& why) {
        std::filesystem::remove(temporary);
        return Error(path + ": " + why);
    };
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
        out.close();
        if (!out) throw fail("writing failed (disk full?)");
    }
    if (!detail::sync_path(temporary.string(), false)) throw fail("cannot flush " + temporary.string() + " to disk");
    std::error_code error;
    std::filesystem::rename(temporary, target, error);
    if (error) throw fail("cannot rename " + temporary.string() + " into place: " + error.message());
    const std::filesystem::path directory = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    detail::sync_path(directory.string(), true);  // the rename itself; the file is whole either way
}

}  // namespace snc::io
