// What moves values rather than computing them: Identity, Dropout, a one-input Concat (nothing);
// Flatten and the Reshape that flattens; Transpose between channels first and last; the channel
// shuffle's Reshape / Transpose / Reshape; Slice and Split along the channels.
#include <algorithm>

#include "ops.hpp"

namespace snc::onnx_import::ops {

std::string leaf(Importer& im, const Node& nd, Layers& layers, std::string code, const Shape& shape, Axes axes,
                 std::vector<std::pair<std::string, Tensor>> tensors, const std::string& out, const std::string& source) {
    Layer layer;
    layer.code = std::move(code);
    layer.source = source.empty() ? nd.label() : source;
    layer.tensors = std::move(tensors);
    layers.push_back(std::move(layer));
    const std::string& value = out.empty() ? nd.outputs[0] : out;
    im.set_shape(value, shape, axes);
    return value;
}

std::string same(Importer& im, const std::string& in, const std::string& out) {
    im.set_shape(out, im.shape(in), im.axes(in));
    return out;
}

std::optional<float> scalar(Importer& im, const std::string& name) {
    const Constant* c = im.constant(name);
    if (!c || c->size() != 1) return std::nullopt;
    return c->is_float ? c->floats[0] : float(c->integers[0]);
}

std::string pass(Importer& im, int n, const std::string& in, Layers&) {
    const Node& nd = im.node(n);
    if (nd.op == "Concat" && nd.inputs.size() != 1) return im.refuse(nd, "a Concat of a computed value and constants");
    return same(im, in, nd.outputs[0]);
}

std::string dropout(Importer& im, int n, const std::string& in, Layers& layers) {
    const Node& nd = im.node(n);
    float ratio = float_attribute(nd, "ratio", 0.5f);
    if (!nd.input(1).empty()) {
        std::optional<float> r = scalar(im, nd.input(1));
        if (!r) return im.refuse(nd, "a ratio that is not a constant");
        ratio = *r;
    }
    if (!(ratio >= 0.0f && ratio < 1.0f)) return im.refuse(nd, "a ratio outside [0, 1)");
    return leaf(im, nd, layers, "snc::Dropout<" + float_text(ratio) + ">", im.shape(in), im.axes(in));
}

namespace {
std::string flatten_value(Importer& im, const Node& nd, const std::string& in_value, const std::string& out, Layers& layers,
                          const std::string& source = "") {
    const Shape& in = im.shape(in_value);
    if (!in.is_image()) return same(im, in_value, out);  // already (N, F): a GlobalAveragePool's (N, C, 1, 1) flattened
    if (im.axes(in_value) != Axes::channels_first && in.h() * in.w() != 1)
        return im.refuse(nd, "a flatten of an (N, H, W, C) image; snc flattens (N, C, H, W) ones");
    return leaf(im, nd, layers, "snc::Flatten", Shape{in.n(), in.features()}, Axes::channels_first, {}, out, source);
}
}  // namespace

std::string flatten(Importer& im, int n, const std::string& in, Layers& layers) {
    const Node& nd = im.node(n);
    if (nd.op == "Squeeze") {
        std::vector<std::int64_t> axes = ints_attribute(nd, "axes").value_or(std::vector<std::int64_t>{});
        if (const Constant* c = im.constant(nd.input(1)); c && !c->is_float) axes = c->integers;
        for (std::int64_t& a : axes) a = a < 0 ? a + 4 : a;
        std::sort(axes.begin(), axes.end());
        const Shape& s = im.shape(in);
        if (!s.is_image() || s.h() != 1 || s.w() != 1 || im.axes(in) != Axes::channels_first ||
            (axes != std::vector<std::int64_t>{2, 3} && !axes.empty()))
            return im.refuse(nd, "a squeeze other than of an (N, C, 1, 1) image's last two axes");
        return flatten_value(im, nd, in, nd.outputs[0], layers);
    }
    const std::int64_t axis = int_attribute(nd, "axis", 1);
    const Shape& s = im.shape(in);
    if (axis != 1 && !(s.is_image() && axis == -3) && !(!s.is_image() && axis == -1))
        return im.refuse(nd, "axis " + std::to_string(axis) + "; snc flattens all but the batch axis");
    return flatten_value(im, nd, in, nd.outputs[0], layers);
}

namespace {
// torchvision's channel_shuffle: x.view(N, g, C/g, H, W).transpose(1, 2).view(N, C, H, W), as
// Reshape / Transpose (0, 2, 1, 3, 4) / Reshape. The first Reshape's node, its target shape.
std::string channel_shuffle(Importer& im, const Node& nd, const std::string& in_value, const Constant& target, Layers& layers) {
    const Shape& in = im.shape(in_value);
    const std::vector<int>& first = im.readers(nd.outputs[0]);
    if (first.size() != 1 || im.node(first[0]).op != "Transpose") return "";
    const Node& transpose = im.node(first[0]);
    if (ints_attribute(transpose, "perm") != std::vector<std::int64_t>{0, 2, 1, 3, 4}) return "";
    const std::vector<int>& second = im.readers(transpose.outputs[0]);
    if (second.size() != 1 || im.node(second[0]).op != "Reshape") return "";
    const Node& back = im.node(second[0]);
    const Constant* shape = im.constant(back.input(1));
    const std::int64_t groups = target.integers[1];
    if (!shape || shape->is_float || shape->integers.size() != 4 || target.integers[2] * groups != in.c() ||
        target.integers[3] != in.h() || target.integers[4] != in.w())
        return "";
    const std::vector<std::int64_t>& d = shape->integers;
    if ((d[0] != in.n() && d[0] != 0) || (d[1] != in.c() && d[1] != -1) || d[2] != in.h() || d[3] != in.w()) return "";
    return leaf(im, nd, layers, "snc::ChannelShuffle<" + std::to_string(groups) + ">", in, Axes::channels_first, {}, back.outputs[0],
                nd.label() + " + " + transpose.label() + " + " + back.label());
}
}  // namespace

std::string reshape(Importer& im, int n, const std::string& in_value, Layers& layers) {
    const Node& nd = im.node(n);
    const Constant* target = im.constant(nd.input(1));
    if (!target || target->is_float) return im.refuse(nd, "a shape computed at run time, not a constant");
    const Shape& in = im.shape(in_value);
    const std::vector<std::int64_t>& t = target->integers;
    if (t.size() == 2 && (t[0] == in.n() || t[0] == 0) && (t[1] == -1 || t[1] == in.features()))
        return flatten_value(im, nd, in_value, nd.outputs[0], layers);
    if (in.is_image() && im.axes(in_value) == Axes::channels_first && t.size() == 5 && (t[0] == in.n() || t[0] == 0) && t[1] > 0) {
        std::string out = channel_shuffle(im, nd, in_value, *target, layers);
        if (!out.empty()) return out;
    }
    if (in.is_image() && im.axes(in_value) == Axes::channels_first && t.size() == 4 && (t[0] == in.n() || t[0] == 0) &&
        (t[1] == in.c() || t[1] == -1) && t[2] == in.h() && t[3] == in.w())
        return same(im, in_value, nd.outputs[0]);
    return im.refuse(nd, "a reshape other than (N, -1) (a Flatten) or a channel shuffle's");
}

// snc's layout is NHWC whatever ONNX's axes: a Transpose between channels first and last is
// no layer, only a change in how the next nodes' axes read.
std::string transpose(Importer& im, int n, const std::string& in, Layers&) {
    const Node& nd = im.node(n);
    const std::optional<std::vector<std::int64_t>> perm = ints_attribute(nd, "perm");
    const Shape& s = im.shape(in);
    if (s.is_image() && perm == std::vector<std::int64_t>{0, 2, 3, 1} && im.axes(in) == Axes::channels_first) {
        im.set_shape(nd.outputs[0], s, Axes::channels_last);
        return nd.outputs[0];
    }
    if (s.is_image() && perm == std::vector<std::int64_t>{0, 3, 1, 2} && im.axes(in) == Axes::channels_last) {
        im.set_shape(nd.outputs[0], s, Axes::channels_first);
        return nd.outputs[0];
    }
    return im.refuse(nd, "a permutation other than between (N, C, H, W) and (N, H, W, C)");
}

namespace {
// The channel axis of a value, as ONNX numbers it.
std::int64_t channel_axis(Importer& im, const std::string& value) {
    const Shape& s = im.shape(value);
    return !s.is_image() ? 1 : im.axes(value) == Axes::channels_last ? 3 : 1;
}

std::string channel_range(Importer& im, const Node& nd, const std::string& in, std::int64_t begin, std::int64_t end, Layers& layers) {
    const Shape& s = im.shape(in);
    if (begin == 0 && end == s.c()) return same(im, in, nd.outputs[0]);
    if (begin >= end) return im.refuse(nd, "an empty range of channels");
    Shape out = s;
    out.dims[std::size_t(out.rank - 1)] = end - begin;
    return leaf(im, nd, layers, "snc::Slice<" + std::to_string(begin) + ", " + std::to_string(end) + ">", out, im.axes(in));
}
}  // namespace

// Slice along the channels, step 1 (torchvision's chunk as torch 1.13 exports it).
std::string slice(Importer& im, int n, const std::string& in, Layers& layers) {
    const Node& nd = im.node(n);
    const Constant *starts = im.constant(nd.input(1)), *ends = im.constant(nd.input(2));
    const Constant* axes = im.constant(nd.input(3));
    const Constant* steps = im.constant(nd.input(4));
    if (!starts || !ends || starts->is_float || ends->is_float || starts->integers.size() != 1 || ends->integers.size() != 1 ||
        (!nd.input(3).empty() && (!axes || axes->integers.size() != 1)) ||
        (!nd.input(4).empty() && (!steps || steps->integers.size() != 1 || steps->integers[0] != 1)))
        return im.refuse(nd, "a slice other than of one axis, step 1, by constant bounds");
    const Shape& s = im.shape(in);
    std::int64_t axis = axes ? axes->integers[0] : 0;
    if (axis < 0) axis += s.rank;
    if (axis != channel_axis(im, in)) return im.refuse(nd, "a slice of another axis than the channels");
    auto clamp = [&](std::int64_t v) { return std::clamp<std::int64_t>(v < 0 ? v + s.c() : v, 0, s.c()); };
    return channel_range(im, nd, in, clamp(starts->integers[0]), clamp(ends->integers[0]), layers);
}

// One output of a Split along the channels (patterns/split.cpp gives each its node).
std::string split_part(Importer& im, int n, const std::string& in, Layers& layers) {
    const Node& nd = im.node(n);
    const std::size_t index = std::size_t(nd.numbers.at("index")), parts = std::size_t(nd.numbers.at("parts"));
    const Shape& s = im.shape(in);
    std::int64_t axis = int_attribute(nd, "axis", 0);
    if (axis < 0) axis += s.rank;
    if (axis != channel_axis(im, in)) return im.refuse(nd, "a split of another axis than the channels");
    std::vector<std::int64_t> sizes;
    if (const Constant* c = im.constant(nd.input(1)); c && !c->is_float) sizes = c->integers;
    else if (auto attr = ints_attribute(nd, "split")) sizes = *attr;
    else if (!nd.input(1).empty()) return im.refuse(nd, "sizes that are not constants");
    else sizes.assign(parts, (s.c() + std::int64_t(parts) - 1) / std::int64_t(parts));  // ONNX: equal parts, the last smaller
    if (sizes.size() != parts) return im.refuse(nd, "sizes for another number of outputs");
    std::int64_t begin = 0;
    for (std::size_t k = 0; k < index; ++k) begin += sizes[k];
    const std::int64_t end = std::min(begin + sizes[index], s.c());
    return channel_range(im, nd, in, begin, end, layers);
}

}  // namespace snc::onnx_import::ops
