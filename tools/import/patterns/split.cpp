// Split (torch's chunk and split at some opsets) as one node per output, each the Slice of its
// channels: the branches of a block start at the Split's input, as they do after Slices.
#include "patterns.hpp"

namespace snc::onnx_import::patterns {

bool split(Importer& im, int n) {
    const Node split = im.node(n);
    if (split.op != "Split" || split.outputs.size() < 2) return false;
    std::vector<Node> parts;
    for (std::size_t k = 0; k < split.outputs.size(); ++k) {
        Node part{.op = "snc.SplitPart", .name = split.label() + ":" + std::to_string(k), .inputs = split.inputs,
                  .outputs = {split.outputs[k]}, .proto = split.proto};
        part.numbers["index"] = double(k);
        part.numbers["parts"] = double(split.outputs.size());
        parts.push_back(std::move(part));
    }
    im.split(n, std::move(parts));
    return true;
}

}  // namespace snc::onnx_import::patterns
