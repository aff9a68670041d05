// snc::fixed_string<Capacity>: text that constant evaluation can build and a template can take as
// an argument. It is snc's one string type at compile time: the name in Named<"conv1", ...>, the
// sentence a layer writes when it refuses its input, a type's spelling in summaries, and the shape
// error itself, which is reported by naming a deleted function with the whole message as its
// template argument (network.hpp). So it is a structural value: a char array, public, nothing else,
// and everything here is constexpr and allocation-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace snc {

template <std::size_t Capacity>
struct fixed_string {
    char chars[Capacity]{};  // '\0'-terminated; the last byte always stays '\0'

    constexpr fixed_string() = default;
    constexpr fixed_string(std::string_view text) { append(text); }
    // From a string literal: Named<"conv1", ...> deduces fixed_string<6>.
    constexpr fixed_string(const char (&text)[Capacity]) { append(std::string_view(text, Capacity - 1)); }

    constexpr std::size_t size() const {
        std::size_t length = 0;
        while (length + 1 < Capacity && chars[length] != '\0') ++length;
        return length;
    }
    constexpr bool empty() const { return chars[0] == '\0'; }
    constexpr std::string_view view() const { return {chars, size()}; }

    // Appends as much as fits.
    constexpr fixed_string& append(std::string_view text) {
        std::size_t length = size();
        for (char ch : text) {
            if (length + 1 >= Capacity) break;
            chars[length++] = ch;
        }
        return *this;
    }
    constexpr fixed_string& append(std::int64_t value) {
        char digits[24]{};
        int count = 0;
        const bool negative = value < 0;
        std::uint64_t magnitude = negative ? std::uint64_t(0) - std::uint64_t(value) : std::uint64_t(value);
        do {
            digits[count++] = char('0' + magnitude % 10);
            magnitude /= 10;
        } while (magnitude != 0);
        char text[25]{};
        int length = 0;
        if (negative) text[length++] = '-';
        while (count > 0) text[length++] = digits[--count];
        return append(std::string_view(text, std::size_t(length)));
    }
    constexpr fixed_string& append(int value) { return append(std::int64_t(value)); }
    constexpr fixed_string& append(std::size_t value) { return append(std::int64_t(value)); }
    template <std::size_t Other>
    constexpr fixed_string& append(const fixed_string<Other>& other) { return append(other.view()); }

    friend constexpr bool operator==(const fixed_string&, const fixed_string&) = default;
};

template <std::size_t N>
fixed_string(const char (&)[N]) -> fixed_string<N>;

template <std::size_t Capacity, class T>
    requires requires(fixed_string<Capacity>& out, const T& value) { out.append(value); }
constexpr fixed_string<Capacity>& operator<<(fixed_string<Capacity>& out, const T& value) {
    return out.append(value);
}

// A type's spelling as summaries and diagnostics show it.
using type_text = fixed_string<160>;

namespace detail {
template <class T>
constexpr std::string_view pretty_function() { return __PRETTY_FUNCTION__; }

template <class T>
constexpr std::string_view raw_type_name() {
    std::string_view text = pretty_function<T>();
    std::string_view key = "T = ";
    std::size_t begin = text.find(key) + key.size();
    std::size_t end = text.find(';', begin);
    if (end == std::string_view::npos) end = text.rfind(']');
    return text.substr(begin, end - begin);
}

constexpr bool is_lower_identifier_char(char ch) { return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); }

// The compiler's spelling made to read like the declaration: "snc::" goes; inside the template
// arguments every namespace qualifier goes (the outer name already says where the type lives:
// "nets::torchvision::Stage<Bottleneck, 256, 36, 2, 512>"); a Named's name reads as the string it
// was written as ("Named<\"stem\", Conv<...>>", not "Named<snc::fixed_string<5>{\"stem\"}, ...").
constexpr type_text tidy_type_name(std::string_view raw) {
    type_text out;
    std::size_t length = 0;
    auto put = [&](char ch) {
        if (length + 1 < sizeof out.chars) out.chars[length++] = ch;
    };
    bool in_arguments = false;
    // Stops where the text is full: a DenseNet-121's "features" Seq is spelled in 50 KB, and
    // reading on to its end took most of the network's 4.3 s of compiling (g++ 12).
    for (std::size_t i = 0; i < raw.size() && length + 1 < sizeof out.chars; ++i) {
        if (raw.substr(i, 5) == "snc::") { i += 4; continue; }
        if (raw.substr(i, 13) == "fixed_string<") {  // fixed_string<5>{"stem"} -> "stem"
            std::size_t brace = raw.find('{', i);
            if (brace != std::string_view::npos) { i = brace; continue; }
        }
        if (raw[i] == '{' || raw[i] == '}') continue;
        if (raw[i] == '<') in_arguments = true;
        const char before = length ? out.chars[length - 1] : '\0';
        if (in_arguments && is_lower_identifier_char(raw[i]) && !(raw[i] >= '0' && raw[i] <= '9') &&
            (length == 0 || before == ' ' || before == '<')) {
            std::size_t end = i;
            while (end < raw.size() && is_lower_identifier_char(raw[end])) ++end;
            if (raw.substr(end, 2) == "::") { i = end + 1; continue; }
        }
        if (raw[i] == ' ' && i + 1 < raw.size() && raw[i + 1] == '>') continue;  // "<2> >" -> "<2>>"
        put(raw[i]);
    }
    return out;
}
}  // namespace detail

// The spelling of a layer or network type as written: type_name<Conv<6, 5, Same>> is "Conv<6, 5, Same>".
template <class T>
constexpr type_text type_name = detail::tidy_type_name(detail::raw_type_name<T>());

}  // namespace snc
