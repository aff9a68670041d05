// The joins that end a block (structure.cpp): Add (a Residual), Concat along the channels (a
// Concat), Mul of the block's input by what a branch makes of it (a Gate: squeeze-excitation).
#include "ops.hpp"

namespace snc::onnx_import::ops {

namespace {
std::string block(Importer& im, const Node& nd, const std::string& out, Layer::Kind kind, std::vector<Layers> branches,
                  const Shape& shape, Axes axes, Layers& layers) {
    Layer layer;
    layer.kind = kind;
    layer.source = nd.label();
    layer.branches = std::move(branches);
    layers.push_back(std::move(layer));
    im.set_shape(out, shape, axes);
    return out;
}
}  // namespace

std::string residual(Importer& im, int n, const std::string&, std::vector<Branch>& branches, const std::string& out, Layers& layers) {
    const Node& nd = im.node(n);
    if (branches.size() != 2) return im.refuse(nd, "adds " + std::to_string(branches.size()) + " values; a residual adds two");
    const Shape a = im.shape(branches[0].end), b = im.shape(branches[1].end);
    if (!(a == b) || im.axes(branches[0].end) != im.axes(branches[1].end))
        return im.refuse(nd, "adds values of different shapes, " + shape_text(a) + " and " + shape_text(b) + "; a residual's agree");
    // The body is the longer branch (the shortcut is the identity, or a 1x1 conv and its norm).
    const bool first_is_body = branches[0].layers.size() >= branches[1].layers.size();
    std::vector<Layers> parts{std::move(branches[first_is_body ? 0 : 1].layers), std::move(branches[first_is_body ? 1 : 0].layers)};
    return block(im, nd, out, Layer::Kind::residual, std::move(parts), a, im.axes(branches[0].end), layers);
}

std::string concat(Importer& im, int n, const std::string&, std::vector<Branch>& branches, const std::string& out, Layers& layers) {
    const Node& nd = im.node(n);
    if (im.data_inputs(nd).size() != nd.inputs.size()) return im.refuse(nd, "a Concat of constants, or of one value twice");
    const Shape first = im.shape(branches[0].end);
    const Axes axes = im.axes(branches[0].end);
    std::int64_t axis = int_attribute(nd, "axis", 1);
    if (axis < 0) axis += first.rank;
    if (axis != (first.is_image() && axes == Axes::channels_last ? 3 : 1)) return im.refuse(nd, "a concat along another axis than the channels");
    Shape shape = first;
    std::int64_t channels = 0;
    std::vector<Layers> parts;
    for (Branch& branch : branches) {
        const Shape s = im.shape(branch.end);
        if (s.rank != first.rank || s.n() != first.n() || s.h() != first.h() || s.w() != first.w() || im.axes(branch.end) != axes)
            return im.refuse(nd, "joins " + shape_text(first) + " and " + shape_text(s) + ", which differ in more than their channels");
        channels += s.c();
        parts.push_back(std::move(branch.layers));
    }
    shape.dims[std::size_t(shape.rank - 1)] = channels;
    return block(im, nd, out, Layer::Kind::concat, std::move(parts), shape, axes, layers);
}

// x · f(x) with f(x) of shape (N, C, 1, 1) or (N, C): squeeze-excitation's gate.
std::string gate(Importer& im, int n, const std::string& in, std::vector<Branch>& branches, const std::string& out, Layers& layers) {
    const Node& nd = im.node(n);
    if (branches.size() != 2 || (branches[0].identity() == branches[1].identity()))
        return im.refuse(nd, "multiplies two computed values; snc's products are gates x · f(x), f(x) one value per channel");
    Branch& made = branches[0].identity() ? branches[1] : branches[0];
    const Shape x = im.shape(in), g = im.shape(made.end);
    const bool per_channel = g.c() == x.c() && g.n() == x.n() && (!g.is_image() || (g.h() == 1 && g.w() == 1));
    if (!x.is_image() || !per_channel || im.axes(in) != Axes::channels_first || (g.is_image() && im.axes(made.end) != Axes::channels_first))
        return im.refuse(nd, "multiplies " + shape_text(x) + " by " + shape_text(g) + "; a gate multiplies an image by one value per channel");
    std::vector<Layers> parts{std::move(made.layers)};
    return block(im, nd, out, Layer::Kind::gate, std::move(parts), x, Axes::channels_first, layers);
}

}  // namespace snc::onnx_import::ops
