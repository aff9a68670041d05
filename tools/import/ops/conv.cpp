// Conv (dense, grouped, depthwise, dilated, rectangular) and the zero Pad folded into it.
#include <algorithm>

#include "ops.hpp"

namespace snc::onnx_import::ops {

std::optional<Window> window_of(Importer& im, const Node& nd, std::optional<std::array<int, 2>> kernel_from_weights) {
    Window w;
    if (auto kernel = ints_attribute(nd, "kernel_shape")) {
        if (kernel->size() != 2 || (*kernel)[0] < 1 || (*kernel)[1] < 1) {
            im.problem(nd, "a kernel that is not 2-D");
            return std::nullopt;
        }
        if (kernel_from_weights && ((*kernel)[0] != (*kernel_from_weights)[0] || (*kernel)[1] != (*kernel_from_weights)[1])) {
            im.problem(nd, "a kernel_shape its weights contradict");
            return std::nullopt;
        }
        w.kernel = int((*kernel)[0]);
        w.kernel_columns = (*kernel)[1] == (*kernel)[0] ? 0 : int((*kernel)[1]);
    } else if (kernel_from_weights) {
        w.kernel = (*kernel_from_weights)[0];
        w.kernel_columns = (*kernel_from_weights)[1] == w.kernel ? 0 : (*kernel_from_weights)[1];
    } else {
        im.problem(nd, "no kernel_shape");
        return std::nullopt;
    }
    auto strides = ints_attribute(nd, "strides").value_or(std::vector<std::int64_t>{1, 1});
    if (strides.size() != 2 || strides[0] != strides[1] || strides[0] < 1) {
        im.problem(nd, "strides that are not equal along both axes");
        return std::nullopt;
    }
    w.stride = int(strides[0]);
    auto dilations = ints_attribute(nd, "dilations").value_or(std::vector<std::int64_t>{1, 1});
    if (dilations.size() != 2 || dilations[0] != dilations[1] || dilations[0] < 1) {
        im.problem(nd, "dilations that are not equal along both axes");
        return std::nullopt;
    }
    w.dilation = int(dilations[0]);
    return w;
}

bool resolve_pads(Importer& im, const Node& nd, const Shape& in, Window& w, std::array<int, 4> extra) {
    const std::string auto_pad = string_attribute(nd, "auto_pad", "NOTSET");
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        SidePads rows = same_pads(in.h(), w.span_rows(), w.stride), cols = same_pads(in.w(), w.span_columns(), w.stride);
        if (auto_pad == "SAME_LOWER") std::swap(rows.before, rows.after), std::swap(cols.before, cols.after);
        w.pad_top = rows.before, w.pad_bottom = rows.after, w.pad_left = cols.before, w.pad_right = cols.after;
    } else if (auto_pad == "NOTSET") {
        auto pads = ints_attribute(nd, "pads").value_or(std::vector<std::int64_t>{0, 0, 0, 0});
        if (pads.size() != 4) {
            im.problem(nd, "pads that are not those of a 2-D window");
            return false;
        }
        w.pad_top = int(pads[0]), w.pad_left = int(pads[1]), w.pad_bottom = int(pads[2]), w.pad_right = int(pads[3]);
    } else if (auto_pad != "VALID") {
        im.problem(nd, "auto_pad " + auto_pad);
        return false;
    }
    w.pad_top += extra[0], w.pad_left += extra[1], w.pad_bottom += extra[2], w.pad_right += extra[3];
    if (std::min({w.pad_top, w.pad_left, w.pad_bottom, w.pad_right}) < 0) {
        im.problem(nd, "negative pads");
        return false;
    }
    if (in.h() + w.pad_top + w.pad_bottom < w.span_rows() || in.w() + w.pad_left + w.pad_right < w.span_columns()) {
        im.problem(nd, "a window larger than its padded input " + shape_text(in));
        return false;
    }
    return true;
}

std::string conv_padded(Importer& im, int n, const std::string& in_value, std::array<int, 4> extra, Layers& layers, const std::string& folded) {
    const Node& nd = im.node(n);
    const Constant* w = im.constant(nd.input(1));
    if (!w || !w->is_float || w->dims.size() != 4) return im.refuse(nd, "weights that are not a float32 OIHW constant");
    const Constant* b = im.constant(nd.input(2));
    if (!nd.input(2).empty() && (!b || !b->is_float || b->floats.size() != std::size_t(w->dims[0])))
        return im.refuse(nd, "a bias that is not a float32 constant, one per filter");
    const std::int64_t groups = int_attribute(nd, "group", 1), filters = w->dims[0];
    if (groups < 1 || filters % groups) return im.refuse(nd, "group " + std::to_string(groups) + ", which does not divide its " + std::to_string(filters) + " filters");
    auto window = window_of(im, nd, std::array<int, 2>{int(w->dims[2]), int(w->dims[3])});
    if (!window) return "";
    const Shape& in = im.shape(in_value);
    if (!in.is_image() || im.axes(in_value) != Axes::channels_first) return im.refuse(nd, "an input that is not an (N, C, H, W) image");
    if (w->dims[1] * groups != in.c())
        return im.refuse(nd, "weights for " + std::to_string(w->dims[1] * groups) + " input channels, given " + std::to_string(in.c()));
    if (!resolve_pads(im, nd, in, *window, extra)) return "";
    std::string code = "snc::Conv<" + std::to_string(filters) + ", " + std::to_string(window->rows());
    if (window->kernel_columns) code += ", snc::KernelWidth<" + std::to_string(window->kernel_columns) + ">";
    code += window_options(*window, false);
    if (groups > 1) code += ", snc::Groups<" + std::to_string(groups) + ">";
    if (window->dilation > 1) code += ", snc::Dilation<" + std::to_string(window->dilation) + ">";
    code += std::string(b ? "" : ", snc::NoBias") + ">";
    std::vector<std::pair<std::string, Tensor>> tensors{{"weight", tensor_of(*w)}};
    if (b) tensors.emplace_back("bias", tensor_of(*b));
    return leaf(im, nd, layers, code, detail::window_output(*window, in, filters), Axes::channels_first, std::move(tensors), "",
                folded.empty() ? nd.label() : folded + " + " + nd.label());
}

std::string conv(Importer& im, int n, const std::string& in, Layers& layers) { return conv_padded(im, n, in, {}, layers, ""); }

// A constant zero Pad of the spatial axes: folded into the Conv or AveragePool that alone reads it.
std::string pad(Importer& im, int n, const std::string& in_value, Layers& layers) {
    const Node& nd = im.node(n);
    if (string_attribute(nd, "mode", "constant") != "constant") return im.refuse(nd, "a mode other than constant");
    std::vector<std::int64_t> pads;
    if (auto attr = ints_attribute(nd, "pads")) pads = *attr;
    else if (const Constant* c = im.constant(nd.input(1)); c && !c->is_float) pads = c->integers;
    else return im.refuse(nd, "pads that are not a constant");
    float fill = float_attribute(nd, "value", 0.0f);
    if (!nd.input(2).empty()) {
        std::optional<float> value = scalar(im, nd.input(2));
        if (!value) return im.refuse(nd, "a fill value that is not a constant");
        fill = *value;
    }
    if (fill != 0.0f) return im.refuse(nd, "a fill value other than 0");
    if (pads.size() != 8 || pads[0] || pads[1] || pads[4] || pads[5]) return im.refuse(nd, "pads of other axes than an image's height and width");
    const std::array<int, 4> extra{int(pads[2]), int(pads[3]), int(pads[6]), int(pads[7])};  // top, left, bottom, right
    const std::vector<int>& readers = im.readers(nd.outputs[0]);
    if (readers.size() == 1 && im.node(readers[0]).op == "Conv") return conv_padded(im, readers[0], in_value, extra, layers, nd.label());
    if (readers.size() == 1 && im.node(readers[0]).op == "AveragePool") return pool_padded(im, readers[0], in_value, extra, layers, nd.label());
    return im.refuse(nd, "a Pad that no Conv or AveragePool alone reads; snc pads inside those");
}

}  // namespace snc::onnx_import::ops
