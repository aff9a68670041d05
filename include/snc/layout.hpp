// Tensor layouts as values, in the spirit of CuTe's Layout<Shape, Stride>: the extents of a
// tensor's logical modes and the stride of each mode in memory. A tensor's coordinates are always
// PyTorch's (OIHW for a conv weight, (units, features) for a dense one, NCHW for an image); its
// layouts say where each element lives in PyTorch's memory and in snc's, so that nothing else
// writes an index formula:
//
//   conv weight     modes (co, ci, ky, kx)   PyTorch: row-major    snc: packed as the target asks
//   dense weight    modes (u, c, y, x)       PyTorch: row-major    snc: packed as the target asks,
//                   after a Flatten of an (H, W, C) image; (u, f) otherwise. Splitting the feature
//                   axis into (c, y, x) is what makes PyTorch's (C, H, W) flattening and snc's
//                   (H, W, C) one the same tensor with two layouts.
//   per-feature     modes (c, y, x) after a Flatten, (c) otherwise: batch norm's vectors
//   image           modes (n, c, y, x)       NHWC, C innermost; (n, f) for features
//
// The weights packer, the state-dict checker, the inference and training lowerings and the
// reference all index through these, so they cannot disagree. `offset` (crd2idx) and
// `coordinates` (idx2crd) take integers or Halide::Expr alike.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include <snc/graph.hpp>

namespace snc {

namespace detail {
template <class Index>
constexpr Index times(Index value, std::int64_t factor) {
    if constexpr (std::is_integral_v<Index>) return value * Index(factor);
    else return value * int(factor);  // a Halide Expr: 32-bit index arithmetic
}
template <class Index>
constexpr Index divided(Index value, std::int64_t divisor) {
    if constexpr (std::is_integral_v<Index>) return value / Index(divisor);
    else return value / int(divisor);
}
template <class Index>
constexpr Index modulo(Index value, std::int64_t divisor) {
    if constexpr (std::is_integral_v<Index>) return value % Index(divisor);
    else return value % int(divisor);
}
}  // namespace detail

// A mode may be tiled, CuTe's hierarchical mode (tile, extent / tile):(stride, tile_stride): its
// coordinate splits into (coordinate % tile) at `stride` and (coordinate / tile) at `tile_stride`.
struct Layout {
    int rank = 0;
    std::int64_t extents[4]{};
    std::int64_t strides[4]{};
    std::int64_t tiles[4]{};  // 0: the mode is not tiled
    std::int64_t tile_strides[4]{};

    constexpr std::int64_t size() const {
        std::int64_t count = 1;
        for (int mode = 0; mode < rank; ++mode) count *= extents[mode];
        return count;
    }

    // crd2idx: the offset of the element at coordinates[0 .. rank).
    template <class Index>
    constexpr Index offset(const Index* coordinates) const {
        Index total = term(coordinates[0], 0);
        for (int mode = 1; mode < rank; ++mode) total = total + term(coordinates[mode], mode);
        return total;
    }
    template <class Index, class... More>
    constexpr Index operator()(Index first, More... rest) const {
        const Index coordinates[] = {first, Index(rest)...};
        return offset(coordinates);
    }

    // idx2crd: the coordinates of the element at `at` in [0, size()), for the compact layouts
    // below (each such offset holds exactly one element). The outermost mode needs no modulo and
    // a stride of 1 no division: on Exprs, neither is left for Halide to simplify away.
    template <class Index>
    constexpr void coordinates(Index at, Index* out) const {
        std::int64_t outermost = 0;  // the largest stride: its quotient needs no modulo
        for (int mode = 0; mode < rank; ++mode) {
            if (extents[mode] > 1) outermost = std::max(outermost, strides[mode]);
            if (tiles[mode] != 0) outermost = std::max(outermost, tile_strides[mode]);
        }
        for (int mode = 0; mode < rank; ++mode) {
            if (extents[mode] == 1) {
                out[mode] = Index(0);
                continue;
            }
            if (tiles[mode] == 0) {
                out[mode] = part(at, strides[mode], extents[mode], outermost);
                continue;
            }
            out[mode] = part(at, strides[mode], tiles[mode], outermost) +
                        detail::times(part(at, tile_strides[mode], extents[mode] / tiles[mode], outermost), tiles[mode]);
        }
    }

    friend constexpr bool operator==(const Layout&, const Layout&) = default;

private:
    template <class Index>
    constexpr Index term(Index coordinate, int mode) const {
        if (tiles[mode] == 0) return detail::times(coordinate, strides[mode]);
        return detail::times(detail::modulo(coordinate, tiles[mode]), strides[mode]) +
               detail::times(detail::divided(coordinate, tiles[mode]), tile_strides[mode]);
    }
    // The coordinate that a stride and extent read from an offset.
    template <class Index>
    static constexpr Index part(Index at, std::int64_t stride, std::int64_t extent, std::int64_t outermost) {
        Index quotient = stride == 1 ? at : detail::divided(at, stride);
        return stride == outermost ? quotient : detail::modulo(quotient, extent);
    }
};

// PyTorch's layout of every tensor: row-major, the last mode fastest.
constexpr Layout row_major(int rank, const std::int64_t* extents) {
    Layout layout{.rank = rank};
    std::int64_t stride = 1;
    for (int mode = rank - 1; mode >= 0; --mode) {
        layout.extents[mode] = extents[mode];
        layout.strides[mode] = stride;
        stride *= extents[mode];
    }
    return layout;
}

// The modes' extents stored in the order `innermost_first` (mode indices, fastest first).
constexpr Layout ordered(int rank, const std::int64_t* extents, const int* innermost_first) {
    Layout layout{.rank = rank};
    std::int64_t stride = 1;
    for (int k = 0; k < rank; ++k) {
        const int mode = innermost_first[k];
        layout.extents[mode] = extents[mode];
        layout.strides[mode] = stride;
        stride *= extents[mode];
    }
    return layout;
}

// An image (n, c, y, x) stored NHWC, or features (n, f).
constexpr Layout image_layout(Shape shape) {
    if (!shape.is_image()) {
        const std::int64_t extents[] = {shape.n(), shape.c()};
        return row_major(2, extents);
    }
    const std::int64_t extents[] = {shape.n(), shape.c(), shape.h(), shape.w()};
    const int order[] = {1, 3, 2, 0};  // c, x, y, n
    return ordered(4, extents, order);
}

// How the target wants weights packed: the order of the reduction's operands in memory.
enum class Packing : std::uint8_t {
    output_innermost,  // output channel (unit) fastest: vector loads across output channels on CPUs,
                       // coalesced loads across a GPU block's threads, which own output channels
    input_innermost,   // input channel (feature) fastest, then the kernel taps, output outermost
    output_blocked,    // as output_innermost, but a conv's output channels in blocks of
                       // `output_block` (when it divides them), each block's weights contiguous
};

// A CPU conv tile's output channels (4 AVX-512 vectors): with the blocked packing, the thread that
// owns a tile reads its weights as one stream. Unblocked, a tile of a 512-channel conv reads 256
// bytes every 2 KB, two per 4 KB page, and the prefetchers give up: the course ResNet-18's 3x3 512->512
// conv (9.4 MB of weights, 9 outputs) took 1.46 ms against 0.89 ms blocked, weights cycling
// through L3 as in a network (1 thread).
inline constexpr std::int64_t output_block = 64;

// Whether `channels` are packed in blocks of output_block: more than one block, and whole ones.
constexpr bool in_blocks(std::int64_t channels) { return channels > output_block && channels % output_block == 0; }

// The layouts of one tensor of an op: as PyTorch stores it, and as snc packs it.
struct TensorLayout {
    Layout source;  // PyTorch's memory, the state_dict's tensor
    Layout packed;  // snc's: the packed inference weights and the training buffers
};

namespace detail {
// Feature modes (c, y, x) of a flattened image, or (f) of plain features.
constexpr int feature_modes(const Shape& flatten_source, std::int64_t features, std::int64_t* extents) {
    if (!flatten_source.is_image()) {
        extents[0] = features;
        return 1;
    }
    extents[0] = flatten_source.c(), extents[1] = flatten_source.h(), extents[2] = flatten_source.w();
    return 3;
}
}  // namespace detail

// Where feature (c, y, x) of a flattened image sits among snc's features, which follow NHWC memory
// (C fastest); or feature (f) of plain features.
constexpr Layout feature_layout(const Shape& flatten_source, std::int64_t features) {
    std::int64_t extents[3]{};
    const int modes = detail::feature_modes(flatten_source, features, extents);
    const int order[] = {0, 2, 1};  // c, x, y
    return ordered(modes, extents, order);
}

constexpr TensorLayout tensor_layout(const Op& op, const TensorSpec& tensor, Packing packing) {
    const bool output_innermost = packing != Packing::input_innermost;
    if (tensor.role == TensorRole::weight && tensor.rank == 4) {  // conv: (co, ci, ky, kx)
        const int order_output[] = {0, 1, 3, 2}, order_input[] = {1, 3, 2, 0};  // co, ci, kx, ky | ci, kx, ky, co
        Layout packed = ordered(4, tensor.dims, output_innermost ? order_output : order_input);
        const std::int64_t outputs = tensor.dims[0];
        if (packing == Packing::output_blocked && in_blocks(outputs)) {
            // (co % block, ci, kx, ky, co / block): the strides of ordered() with a block for co.
            for (int mode = 1; mode < 4; ++mode) packed.strides[mode] = packed.strides[mode] / outputs * output_block;
            packed.tiles[0] = output_block;
            packed.tile_strides[0] = packed.size() / outputs * output_block;
        }
        return {row_major(4, tensor.dims), packed};
    }
    if (tensor.role == TensorRole::weight) {  // dense: (u, c, y, x) or (u, f)
        std::int64_t extents[4] = {tensor.dims[0]};
        const int modes = 1 + detail::feature_modes(op.flatten_source, tensor.dims[1], extents + 1);
        // snc's features run (c, x, y), C fastest: the order of a flattened NHWC image.
        const int order_output[] = {0, 1, 3, 2}, order_input[] = {1, 3, 2, 0};
        const int order_output_plain[] = {0, 1}, order_input_plain[] = {1, 0};
        const int* order = modes == 4 ? (output_innermost ? order_output : order_input)
                                      : (output_innermost ? order_output_plain : order_input_plain);
        return {row_major(modes, extents), ordered(modes, extents, order)};
    }
    if (tensor.role == TensorRole::bias) return {row_major(1, tensor.dims), row_major(1, tensor.dims)};
    // Batch norm's vectors, one value per input channel or feature, packed in snc's feature order.
    const Layout features = feature_layout(op.flatten_source, tensor.dims[0]);
    return {row_major(features.rank, features.extents), features};
}

inline TensorLayout tensor_layout(const Op& op, int slot, Packing packing) {
    return tensor_layout(op, op.tensors.items[slot], packing);
}

// For every element of a tensor, in packed order: f(packed offset, offset in PyTorch's tensor).
template <class Visit>
void for_each_element(const TensorLayout& layout, Visit&& visit) {
    std::int64_t coordinates[4]{};
    for (std::int64_t packed = 0; packed < layout.packed.size(); ++packed) {
        layout.packed.coordinates(packed, coordinates);
        visit(packed, layout.source.offset(coordinates));
    }
}

}  // namespace snc
