// DenseNet as torchvision writes it concatenates every earlier feature map again in each layer:
// cat(x0), cat(x0, x1), cat(x0, x1, x2), ... a value read by every later layer of the block, which
// is no nesting of blocks. cat(x0, x1, x2) = cat(cat(x0, x1), x2): each Concat becomes one of the
// longest earlier Concat whose inputs begin its own, and the rest, and the block is a chain of
// Concat<Identity, layer> (snc::nets::torchvision::DenseNet121's own declaration).
#include <algorithm>

#include "patterns.hpp"

namespace snc::onnx_import::patterns {

namespace {
// A Concat's inputs with every input that is itself a Concat (along the same axis) opened up.
std::vector<std::string> opened(Importer& im, const std::string& value, std::int64_t axis, int depth = 0) {
    const int p = im.producer(value);
    if (p < 0 || depth > 64 || im.node(p).removed || im.node(p).op != "Concat" || int_attribute(im.node(p), "axis", 0) != axis) return {value};
    std::vector<std::string> out;
    for (const std::string& input : im.node(p).inputs) {
        std::vector<std::string> part = opened(im, input, axis, depth + 1);
        out.insert(out.end(), part.begin(), part.end());
    }
    return out;
}
}  // namespace

bool concat_prefix(Importer& im, int n) {
    Node& cat = im.node(n);
    if (cat.op != "Concat" || cat.inputs.size() < 2) return false;
    const std::int64_t axis = int_attribute(cat, "axis", 0);
    std::vector<std::string> mine;
    for (const std::string& input : cat.inputs) {
        std::vector<std::string> part = opened(im, input, axis);
        mine.insert(mine.end(), part.begin(), part.end());
    }
    int best = -1;
    std::size_t best_length = 0;
    for (int k = 0; k < n; ++k) {
        const Node& other = im.node(k);
        if (other.removed || other.op != "Concat" || int_attribute(other, "axis", 0) != axis || !im.is_data(other.outputs[0])) continue;
        if (std::find(cat.inputs.begin(), cat.inputs.end(), other.outputs[0]) != cat.inputs.end()) continue;  // already built on it
        const std::vector<std::string> theirs = opened(im, other.outputs[0], axis);
        if (theirs.size() < mine.size() && theirs.size() > best_length && std::equal(theirs.begin(), theirs.end(), mine.begin()))
            best = k, best_length = theirs.size();
    }
    if (best < 0) return false;
    std::vector<std::string> inputs{im.node(best).outputs[0]};
    inputs.insert(inputs.end(), mine.begin() + std::ptrdiff_t(best_length), mine.end());
    cat.inputs = std::move(inputs);
    return true;
}

}  // namespace snc::onnx_import::patterns
