// snc-import's walk: from the input to the output, one converter per node, and a block wherever a
// value is read by several nodes. A block ends at the join where its branches meet again, the
// first node every path from them passes through (its post-dominator, see index()); each data
// input of the join is one branch, walked the same way (so blocks nest), and the join's op makes
// the block: Add a Residual, Concat a Concat, Mul a Gate. A node snc cannot express is listed and
// the walk goes on past it, so that one try lists every such node.
#include <algorithm>
#include <map>

#include "importer.hpp"

namespace snc::onnx_import {

Result Importer::run() {
    check_structure();
    read_nodes();
    collect_constants();
    input_ = find_input();
    if (graph_.output_size() != 1) throw Error(path_ + ": the model has " + std::to_string(graph_.output_size()) + " outputs; snc's networks have one");
    output_ = graph_.output(0).name();
    index();
    for (int i = 0; i < node_count(); ++i)
        for (const auto& [name, pattern] : pattern_table())
            if (!node(i).removed && pattern(*this, i)) {
                index();
                break;
            }
    Layers layers;
    const std::string end = sequence(input_, readers(input_), -1, layers);
    if (!problems_.empty()) {
        std::string message = path_ + ": " + std::to_string(problems_.size()) + " node" + (problems_.size() > 1 ? "s" : "") + " snc cannot express:";
        for (const std::string& line : problems_) message += "\n  " + line;
        throw Error(message);
    }
    if (end != output_) throw Error(path_ + ": the walk from the input ended at '" + end + "', not at the output '" + output_ + "'");
    // Network<Input<...>> with no layer is no network to compile (and the writer needs one).
    if (layers.empty())
        throw Error(path_ + ": the model computes nothing from its input (its output is the input, '" + output_ +
                    "'); snc compiles networks of at least one layer");
    return write(layers);
}

void Importer::problem(const Node& node, const std::string& what) {
    const std::string line = "node '" + node.label() + "' (" + node.op + "): " + what;
    if (std::find(problems_.begin(), problems_.end(), line) == problems_.end()) problems_.push_back(line);
}

std::string Importer::refuse(const Node& node, const std::string& what) {
    problem(node, what);
    return "";
}

const Shape& Importer::shape(const std::string& value) const {
    auto found = shapes_.find(value);
    if (unknown_.count(value) || found == shapes_.end()) throw UnknownShape{};
    return found->second;
}

void Importer::set_shape(const std::string& value, const Shape& shape, Axes axes) {
    shapes_[value] = shape;
    axes_[value] = axes;
}

Axes Importer::axes(const std::string& value) const {
    auto found = axes_.find(value);
    return found == axes_.end() ? Axes::channels_first : found->second;
}

// Layers from `value` through `next` (some of its readers) until the value that `stop` reads (the
// join of the block this is a branch of; -1: the graph's output). Returns the value reached.
std::string Importer::sequence(std::string value, std::vector<int> next, int stop, Layers& layers) {
    while (true) {
        if (value == output_) return value;
        std::vector<int> rest;
        bool at_stop = false;
        for (int r : next) {
            if (r == stop) at_stop = true;
            else rest.push_back(r);
        }
        if (at_stop || rest.empty()) {
            if (at_stop && !rest.empty())
                problem(node(rest[0]), "reads '" + value + "', which is also a branch's end in '" + node(stop).label() +
                                           "'; snc's blocks do not read a branch's end elsewhere");
            return value;
        }
        if (rest.size() == 1 && data_inputs(node(rest[0])).size() == 1) value = convert(rest[0], value, layers);
        else value = block(value, rest, stop, layers);
        next = readers(value);
    }
}

int Importer::join_of(const std::vector<int>& nodes) const {
    int join = nodes.at(0);
    for (int n : nodes) join = common_post_dominator(join, n);
    return join;
}

// The nodes reachable from `start` through data, short of `stop`.
std::set<int> Importer::reach(int start, int stop) const {
    std::set<int> seen;
    std::vector<int> stack{start};
    while (!stack.empty()) {
        const int n = stack.back();
        stack.pop_back();
        if (n == stop || !seen.insert(n).second) continue;
        for (const std::string& out : nodes_[std::size_t(n)].outputs)
            for (int next : readers(out)) stack.push_back(next);
    }
    return seen;
}

// The block from `value`, whose readers `first` start its branches, to their join. A reader's
// branch ends in one input of the join, or, for a Concat, in a run of them: torch flattens
// cat([a, cat([b, c])]) into one Concat of a, b and c (Inception v3's InceptionE), which is the
// block Concat<A, Seq<..., Concat<B, C>>>; the inner block is a part of the join's inputs, its
// value named "<join's output>#<first>-<last>". `stop` is the join of the block this one is a
// branch of.
std::string Importer::block(const std::string& value, const std::vector<int>& first, int stop, Layers& layers) {
    const int join = join_of(first);
    if (join >= node_count()) {
        problem(node(first[0]), "reads '" + value + "', whose " + std::to_string(first.size()) +
                                    " readers' branches never meet again; snc's blocks join their branches");
        return "";
    }
    const Node& j = node(join);
    const bool is_concat = j.op == "Concat";
    std::string out = j.outputs[0];
    const std::vector<std::string> inputs = data_inputs(j);
    auto fail = [&](const std::string& what) {
        problem(j, what);
        mark_unknown(out);
        return out;
    };
    // The run of inputs each reader's branch ends in; readers of one run are one branch.
    std::map<std::pair<std::size_t, std::size_t>, std::vector<int>> runs;
    for (int r : first) {
        if (r == join) continue;
        const std::set<int> reached = reach(r, join);
        std::vector<std::size_t> ends;
        for (std::size_t k = 0; k < inputs.size(); ++k)
            if (int p = producer(inputs[k]); p >= 0 && reached.count(p)) ends.push_back(k);
        const bool consecutive = !ends.empty() && ends.back() - ends.front() + 1 == ends.size();
        if (ends.empty() || (ends.size() > 1 && !(is_concat && consecutive)))
            return fail("joins branches from '" + value + "' that also meet before it; snc's blocks nest");
        runs[{ends.front(), ends.back()}].push_back(r);
    }
    std::vector<std::pair<std::size_t, std::size_t>> parts;  // in order: runs, and inputs that are `value` itself
    std::size_t covered = 0;
    for (std::size_t k = 0; k < inputs.size();) {
        auto run = std::find_if(runs.begin(), runs.end(), [&](const auto& entry) { return entry.first.first == k; });
        if (run != runs.end()) {
            parts.push_back(run->first);
            covered += run->first.second - run->first.first + 1;
            k = run->first.second + 1;
            continue;
        }
        if (std::any_of(runs.begin(), runs.end(), [&](const auto& entry) { return entry.first.first < k && k <= entry.first.second; }))
            return fail("joins branches from '" + value + "' that overlap; snc's blocks nest");
        if (inputs[k] == value) {
            parts.push_back({k, k});
            ++covered;
        } else if (!(is_concat && stop == join)) {
            return fail("joins '" + inputs[k] + "', which does not branch from '" + value +
                        "' as the join's other inputs do; snc's blocks join branches of one value");
        }
        ++k;
    }
    if (covered != inputs.size()) {  // a part of a Concat's inputs, inside a branch of the block it ends
        if (parts.empty() || parts.back().second - parts.front().first + 1 != covered)
            return fail("concatenates branches from '" + value + "' that are not side by side among its inputs");
        out += "#" + std::to_string(parts.front().first) + "-" + std::to_string(parts.back().second);
    }
    std::vector<Branch> branches(parts.size());
    bool broken = false;
    for (std::size_t k = 0; k < parts.size(); ++k) {
        const auto [from, to] = parts[k];
        branches[k].end = from == to ? inputs[from] : j.outputs[0] + "#" + std::to_string(from) + "-" + std::to_string(to);
        if (from == to && inputs[from] == value && !runs.count(parts[k])) continue;  // the block's input itself: Identity
        const std::string end = sequence(value, runs.at(parts[k]), join, branches[k].layers);
        if (end != branches[k].end || !known(end)) broken = true;
    }
    const Joiner* joiner = joiner_for(j.op);
    if (!joiner && converter_for(j.op)) {  // a layer whose parameter (a Reshape's shape, a Conv's weights) is computed
        for (std::size_t k = 1; k < j.inputs.size(); ++k)
            if (is_data(j.inputs[k])) return fail("reads '" + j.inputs[k] + "', a value computed from the data, where snc needs a constant");
    }
    if (!joiner) return fail("joins " + std::to_string(inputs.size()) + " branches; snc's joins are Add (a residual), Concat and Mul (a gate)");
    if (broken) {  // what went wrong inside a branch is said; the join's shape is not known
        mark_unknown(out);
        return out;
    }
    try {
        const std::string result = (*joiner)(*this, join, value, branches, out, layers);
        if (!result.empty()) return result;
    } catch (const UnknownShape&) {
    }
    mark_unknown(out);
    return out;
}

std::string Importer::convert(int n, const std::string& value, Layers& layers) {
    const Node& nd = node(n);
    const std::string out = nd.outputs[0];
    for (std::size_t k = 1; k < nd.outputs.size(); ++k)
        if (!nd.outputs[k].empty() && !readers(nd.outputs[k]).empty()) {
            problem(nd, "its output " + std::to_string(k) + " is used; snc's layers have one output");
            mark_unknown(out);
            return out;
        }
    const Converter* converter = converter_for(nd.op);
    if (!converter) {
        problem(nd, "snc has no layer for it");
        mark_unknown(out);
        return out;
    }
    try {
        const std::string result = (*converter)(*this, n, value, layers);
        if (!result.empty()) return result;
    } catch (const UnknownShape&) {
    }
    mark_unknown(out);
    return out;
}

}  // namespace snc::onnx_import
