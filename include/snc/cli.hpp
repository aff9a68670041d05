// The conventions of snc's programs' command lines, on CLI11 (Debian's libcli11-dev), for any program
// built with snc:
//   - typed options with their ranges, checked before any work starts, output paths included;
//   - a refusal is one line, "<program>: <option>: <what is wrong>", and exit code 2;
//   - --help prints the generated usage and exits 0.
#pragma once

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include <snc/io/file.hpp>

namespace snc::cli {

// A whole number in [min, max], written in digits ("1e10" is refused, not rounded).
inline CLI::Validator whole_number(std::int64_t min, std::int64_t max) {
    const std::string range = "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    return CLI::Validator(
        [=](std::string& text) -> std::string {
            std::size_t digits = text.size() && (text[0] == '+' || text[0] == '-') ? 1 : 0;
            bool all_digits = digits < text.size();
            for (std::size_t i = digits; i < text.size(); ++i) all_digits = all_digits && std::isdigit(static_cast<unsigned char>(text[i]));
            if (!all_digits || text.size() > 19) return "needs " + range + ", got '" + text + "'";
            const long long value = std::stoll(text);
            if (value < min || value > max) return "needs " + range + ", got " + text;
            return "";
        },
        "in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
}

// A finite number in [min, max] (above min when `above`).
inline CLI::Validator real_number(double min, double max, bool above = false) {
    auto show = [](double v) {
        std::ostringstream os;
        os << v;
        return os.str();
    };
    const std::string range = above ? "a number above " + show(min) + " and at most " + show(max)
                                    : "a number from " + show(min) + " to " + show(max);
    return CLI::Validator(
        [=](std::string& text) -> std::string {
            char* end = nullptr;
            const double value = std::strtod(text.c_str(), &end);
            if (text.empty() || *end != '\0' || !std::isfinite(value) || value > max || value < min || (above && value == min))
                return "needs " + range + ", got '" + text + "'";
            return "";
        },
        std::string(above ? "in (" : "in [") + show(min) + ", " + show(max) + "]");
}

// A file to read: it exists and is a regular file.
inline const CLI::Validator input_file = CLI::Validator(
    [](std::string& path) -> std::string {
        try {
            io::check_input_file(path);
        } catch (const std::exception& e) {
            return e.what();
        }
        return "";
    },
    "FILE");

inline const CLI::Validator input_directory = CLI::Validator(
    [](std::string& path) -> std::string { return std::filesystem::is_directory(path) ? "" : path + ": no such directory"; },
    "DIR");

// A file to write: its directory exists and is writable, and it is no directory itself.
inline const CLI::Validator output_file = CLI::Validator(
    [](std::string& path) -> std::string {
        try {
            io::check_output_path(path, "");
        } catch (const std::exception& e) {
            return e.what();
        }
        return "";
    },
    "FILE");

// Parses the command line; returns -1 to go on, or the exit code: 0 after --help, 2 after a
// refusal, which it has printed as one line.
inline int parse(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        return 0;
    } catch (const CLI::ExtrasError& e) {
        std::string extras;
        for (const std::string& arg : app.remaining()) extras += (extras.empty() ? "" : " ") + arg;
        std::cerr << app.get_name() << ": unknown option or argument " << (extras.empty() ? e.what() : extras) << " (see --help)\n";
        return 2;
    } catch (const CLI::ParseError& e) {
        std::cerr << app.get_name() << ": " << e.what() << "\n";
        return 2;
    }
    return -1;
}

}  // namespace snc::cli
