// The sliding-window rule shared by Conv, MaxPool and AvgPool.
//
//   out = (in + pad_before + pad_after - span) / stride + 1        (integer division, floor)
//   span = dilation * (taps - 1) + 1                                 (Conv's Dilation<D>; 1 else)
// along each axis, taps the kernel's rows or columns (a Conv's KernelWidth<W> has W columns).
//
// and with CeilMode (pools), PyTorch's rule: the division rounds up, then a last window that would
// start past the input and its first padding is dropped:
//   out = ceil((in + pad_before + pad_after - span) / stride) + 1,  out - 1 if (out - 1) * stride >= in + pad_before
//
// with the paddings of `Same` chosen as TensorFlow does: out = ceil(in / stride),
// pad_total = max((out - 1) * stride + kernel - in, 0), pad_before = pad_total / 2, the rest after.
#pragma once

#include <snc/layers/options.hpp>

namespace snc {

// The rule itself, along one axis; also what snc-import resolves ONNX's paddings with.
constexpr std::int64_t window_extent(std::int64_t in, int kernel, int stride, int pad_before, int pad_after,
                                     bool ceil_mode = false) {
    const std::int64_t room = in + pad_before + pad_after - kernel;
    if (!ceil_mode) return room / stride + 1;
    std::int64_t out = (room + stride - 1) / stride + 1;
    if ((out - 1) * stride >= in + pad_before) --out;
    return out;
}

struct SidePads {
    int before = 0, after = 0;
};

// TensorFlow's (and ONNX's SAME_UPPER) 'same' paddings along one axis; SAME_LOWER swaps them.
constexpr SidePads same_pads(std::int64_t in, int kernel, int stride) {
    std::int64_t out = (in + stride - 1) / stride;
    std::int64_t total = (out - 1) * stride + kernel - in;
    if (total < 0) total = 0;
    return {int(total / 2), int(total - total / 2)};
}

}  // namespace snc

namespace snc::detail {

constexpr Window resolve_window(const LayerOptions& options, int kernel, int default_stride, Shape in) {
    Window window{.kernel = kernel,
                  .stride = options.has_stride ? options.stride : default_stride,
                  .dilation = options.dilation,
                  .kernel_columns = options.kernel_width == kernel ? 0 : options.kernel_width};
    if (options.padding == Padding::explicit_pixels) {
        window.pad_top = options.pad_top, window.pad_left = options.pad_left;
        window.pad_bottom = options.pad_bottom, window.pad_right = options.pad_right;
    } else if (options.padding == Padding::same) {
        SidePads rows = same_pads(in.h(), window.span_rows(), window.stride);
        SidePads cols = same_pads(in.w(), window.span_columns(), window.stride);
        window.pad_top = rows.before, window.pad_bottom = rows.after;
        window.pad_left = cols.before, window.pad_right = cols.after;
    }
    return window;
}

// The checks every windowed layer makes, in the order a reader would: its own numbers, then the input.
constexpr bool check_window(std::string_view kind, const LayerOptions& options, int kernel, int default_stride,
                            Shape in, Complaint& complaint) {
    if (!require_positive(kernel, "the window size", complaint)) return false;
    if (options.has_stride && !require_positive(options.stride, "the stride", complaint)) return false;
    if (!require_positive(options.dilation, "the dilation", complaint)) return false;
    if (options.kernel_width < 0) return require_positive(options.kernel_width, "the kernel width", complaint);
    for (int pad : {options.pad_top, options.pad_left, options.pad_bottom, options.pad_right}) {
        if (pad < 0) {
            complaint << "the padding must not be negative, got " << pad;
            return false;
        }
    }
    if (!require_image(kind, in, complaint)) return false;
    Window window = resolve_window(options, kernel, default_stride, in);
    std::int64_t padded_h = in.h() + window.pad_top + window.pad_bottom;
    std::int64_t padded_w = in.w() + window.pad_left + window.pad_right;
    if (padded_h < window.span_rows() || padded_w < window.span_columns()) {
        complaint << "its " << window.rows() << "x" << window.columns() << " window";
        if (window.dilation > 1) complaint << " (dilated to " << window.span_rows() << "x" << window.span_columns() << ")";
        complaint << " is larger than the padded input " << padded_h << "x" << padded_w << " of " << in;
        return false;
    }
    return true;
}

constexpr Shape window_output(const Window& window, Shape in, std::int64_t channels, bool ceil_mode = false) {
    return Shape{in.n(),
                 window_extent(in.h(), window.span_rows(), window.stride, window.pad_top, window.pad_bottom, ceil_mode),
                 window_extent(in.w(), window.span_columns(), window.stride, window.pad_left, window.pad_right, ceil_mode),
                 channels};
}

}  // namespace snc::detail
