// Fixed-capacity text that constant evaluation can build and a template can take as an argument.
//
// Shape errors are reported by naming a deleted function with the whole message as its template
// argument (see network.hpp), so the message must be a structural value: a char array with public
// members only. Everything here is constexpr and allocation-free for that reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace snc::detail {

template <std::size_t Capacity>
struct basic_text {
    char chars[Capacity]{};
    std::size_t length = 0;

    constexpr basic_text() = default;
    constexpr basic_text(std::string_view s) { append(s); }

    // Appends as much as fits; the last byte stays a terminator.
    constexpr basic_text& append(std::string_view s) {
        for (char ch : s) {
            if (length + 1 >= Capacity) break;
            chars[length++] = ch;
        }
        return *this;
    }
    constexpr basic_text& append(std::int64_t value) {
        char digits[24]{};
        int count = 0;
        bool negative = value < 0;
        std::uint64_t magnitude = negative ? std::uint64_t(0) - std::uint64_t(value) : std::uint64_t(value);
        do {
            digits[count++] = char('0' + magnitude % 10);
            magnitude /= 10;
        } while (magnitude != 0);
        if (negative) append("-");
        while (count > 0) append(std::string_view(&digits[--count], 1));
        return *this;
    }
    constexpr basic_text& append(int value) { return append(std::int64_t(value)); }
    constexpr basic_text& append(std::size_t value) { return append(std::int64_t(value)); }
    template <std::size_t Other>
    constexpr basic_text& append(const basic_text<Other>& other) { return append(other.view()); }

    constexpr std::string_view view() const { return {chars, length}; }
    constexpr bool empty() const { return length == 0; }
    friend constexpr bool operator==(const basic_text&, const basic_text&) = default;
};

template <std::size_t Capacity, class T>
    requires requires(basic_text<Capacity>& out, const T& value) { out.append(value); }
constexpr basic_text<Capacity>& operator<<(basic_text<Capacity>& out, const T& value) {
    return out.append(value);
}

// The spelling of a type as the compiler writes it, with the `snc::` prefixes dropped so that
// diagnostics and summaries read like the declaration: "Conv<6, 5, Same>".
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

using type_text = basic_text<160>;

// Inside the template arguments every namespace qualifier goes: the outer name already says where
// the type lives ("nets::torchvision::Stage<Bottleneck, 256, 36, 2, 512>").
constexpr type_text tidy_type_name(std::string_view raw) {
    type_text out;
    bool in_arguments = false;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw.substr(i, 5) == "snc::") { i += 4; continue; }
        if (raw[i] == '<') in_arguments = true;
        if (in_arguments && (raw[i] == '_' || (raw[i] >= 'a' && raw[i] <= 'z')) && (out.length == 0 || out.chars[out.length - 1] == ' ' || out.chars[out.length - 1] == '<')) {
            std::size_t end = i;
            while (end < raw.size() && (raw[end] == '_' || (raw[end] >= 'a' && raw[end] <= 'z') || (raw[end] >= '0' && raw[end] <= '9'))) ++end;
            if (raw.substr(end, 2) == "::") { i = end + 1; continue; }
        }
        if (raw[i] == ' ' && i + 1 < raw.size() && raw[i + 1] == '>') continue;  // "<2> >" -> "<2>>"
        out.append(raw.substr(i, 1));
    }
    return out;
}

template <class T>
constexpr type_text type_name = tidy_type_name(raw_type_name<T>());

}  // namespace snc::detail
