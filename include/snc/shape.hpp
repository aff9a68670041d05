// snc::Shape: the (N, H, W, C) or (N, F) extent of a tensor, as a literal, structural value.
//
// Shapes are values, not types, so that layers can state their rules as ordinary constexpr
// arithmetic and a network can be checked by folding over its layers (network.hpp).
#pragma once

#include <cstdint>
#include <ostream>

#include <snc/fixed_string.hpp>

namespace snc {

struct Shape {
    // Public members only: Shape is a structural type, usable as a template argument.
    int rank = 0;
    std::int64_t dims[4]{};

    constexpr Shape() = default;
    constexpr Shape(std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t c) : rank(4), dims{n, h, w, c} {}
    constexpr Shape(std::int64_t n, std::int64_t features) : rank(2), dims{n, features, 0, 0} {}

    constexpr std::int64_t n() const { return dims[0]; }
    constexpr std::int64_t h() const { return rank == 4 ? dims[1] : 1; }
    constexpr std::int64_t w() const { return rank == 4 ? dims[2] : 1; }
    // Channels of an image, or features of a (N, F) tensor: what BatchNorm normalizes per.
    constexpr std::int64_t c() const { return rank == 4 ? dims[3] : dims[1]; }
    constexpr std::int64_t features() const { return rank == 4 ? dims[1] * dims[2] * dims[3] : dims[1]; }
    constexpr std::int64_t elements() const { return rank == 0 ? 0 : n() * features(); }
    constexpr std::int64_t operator[](int axis) const { return dims[axis]; }

    constexpr bool is_image() const { return rank == 4; }
    constexpr bool is_matrix() const { return rank == 2; }
    constexpr bool all_positive() const {
        if (rank == 0) return false;
        for (int axis = 0; axis < rank; ++axis)
            if (dims[axis] <= 0) return false;
        return true;
    }

    friend constexpr bool operator==(const Shape&, const Shape&) = default;
};

// "(4, 6, 6, 3)": the notation of the course's layer_summary, used by summaries and diagnostics alike.
template <std::size_t Capacity>
constexpr fixed_string<Capacity>& operator<<(fixed_string<Capacity>& out, const Shape& shape) {
    out.append("(");
    for (int axis = 0; axis < shape.rank; ++axis) {
        if (axis) out.append(", ");
        out.append(shape.dims[axis]);
    }
    return out.append(")");
}

inline std::ostream& operator<<(std::ostream& os, const Shape& shape) {
    fixed_string<96> text;
    text << shape;
    return os << text.view();
}

}  // namespace snc
