// MaxPool and AveragePool (ceil_mode too), GlobalAveragePool, and ReduceMean over height and width.
#include <algorithm>

#include "ops.hpp"

namespace snc::onnx_import::ops {

std::string pool_padded(Importer& im, int n, const std::string& in_value, std::array<int, 4> extra, Layers& layers, const std::string& folded) {
    const Node& nd = im.node(n);
    const bool is_max = nd.op == "MaxPool";
    const bool ceil_mode = int_attribute(nd, "ceil_mode", 0) != 0;
    if (is_max && int_attribute(nd, "storage_order", 0)) return im.refuse(nd, "storage_order 1");
    auto window = window_of(im, nd, std::nullopt);
    if (!window) return "";
    if (window->kernel_columns) return im.refuse(nd, "a window that is not square; snc's pools are");
    if (window->dilation != 1) return im.refuse(nd, "dilations; snc's pools are dense");
    const Shape& in = im.shape(in_value);
    if (!in.is_image() || im.axes(in_value) != Axes::channels_first) return im.refuse(nd, "an input that is not an (N, C, H, W) image");
    if (!resolve_pads(im, nd, in, *window, extra)) return "";
    bool include_pad = false;
    if (!is_max) {
        const bool own_pads = window->pad_top - extra[0] || window->pad_left - extra[1] || window->pad_bottom - extra[2] ||
                              window->pad_right - extra[3];
        const bool counts_pads = int_attribute(nd, "count_include_pad", 0) != 0;
        const bool after_pad = std::any_of(extra.begin(), extra.end(), [](int p) { return p; });
        if (own_pads && !counts_pads && after_pad) return im.refuse(nd, "pads of its own that it does not count, after a Pad whose zeros it does");
        if (after_pad && ceil_mode) return im.refuse(nd, "ceil_mode after a Pad whose zeros it counts");
        include_pad = counts_pads || after_pad;
    }
    std::string code = std::string(is_max ? "snc::MaxPool<" : "snc::AvgPool<") + std::to_string(window->rows()) + window_options(*window, true) +
                       (include_pad && window->padded() ? ", snc::CountIncludePad" : "") + (ceil_mode ? ", snc::CeilMode" : "") + ">";
    return leaf(im, nd, layers, code, detail::window_output(*window, in, in.c(), ceil_mode), Axes::channels_first, {}, "",
                folded.empty() ? nd.label() : folded + " + " + nd.label());
}

std::string pool(Importer& im, int n, const std::string& in, Layers& layers) { return pool_padded(im, n, in, {}, layers, ""); }

namespace {
// The mean over height and width: GlobalAvgPool, (N, C), where what reads it flattens it anyway
// (a classifier's head); AdaptiveAvgPool<1>, (N, 1, 1, C), where an image goes on (squeeze-
// excitation's 1x1 convs, ConvNeXt's head norm).
std::string spatial_mean(Importer& im, const Node& nd, const std::string& in_value, bool keep_dims, Layers& layers) {
    const Shape& in = im.shape(in_value);
    if (!in.is_image() || im.axes(in_value) != Axes::channels_first) return im.refuse(nd, "an input that is not an (N, C, H, W) image");
    bool flattened = !keep_dims || nd.outputs[0] == im.output();
    if (!flattened) {
        const std::vector<int>& readers = im.readers(nd.outputs[0]);
        flattened = !readers.empty() && std::all_of(readers.begin(), readers.end(), [&](int r) {
            const std::string& op = im.node(r).op;
            return op == "Flatten" || op == "Reshape" || op == "Squeeze";
        });
    }
    if (flattened) return leaf(im, nd, layers, "snc::GlobalAvgPool", Shape{in.n(), in.c()});
    if (in.h() != in.w()) return im.refuse(nd, "a mean over a " + std::to_string(in.h()) + "x" + std::to_string(in.w()) +
                                                   " image kept as an image; snc's AdaptiveAvgPool averages square blocks");
    return leaf(im, nd, layers, "snc::AdaptiveAvgPool<1>", Shape{in.n(), 1, 1, in.c()});
}
}  // namespace

std::string global_average_pool(Importer& im, int n, const std::string& in, Layers& layers) {
    return spatial_mean(im, im.node(n), in, true, layers);
}

std::string reduce_mean(Importer& im, int n, const std::string& in, Layers& layers) {
    const Node& nd = im.node(n);
    std::optional<std::vector<std::int64_t>> axes = ints_attribute(nd, "axes");
    if (!axes && !nd.input(1).empty()) {  // opset 18: the axes are an input
        if (const Constant* c = im.constant(nd.input(1)); c && !c->is_float) axes = c->integers;
        else return im.refuse(nd, "axes that are not a constant");
    }
    std::set<std::int64_t> set;
    for (std::int64_t a : axes.value_or(std::vector<std::int64_t>{})) set.insert(a < 0 ? a + 4 : a);
    if (set != std::set<std::int64_t>{2, 3} || im.axes(in) != Axes::channels_first)
        return im.refuse(nd, "a mean over other axes than an image's height and width");
    return spatial_mean(im, nd, in, int_attribute(nd, "keepdims", 1) != 0, layers);
}

}  // namespace snc::onnx_import::ops
