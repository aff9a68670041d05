// snc-import's core (onnx_import.hpp): reading the ONNX graph, walking it into snc's layers,
// writing the declaration.
#include "onnx_import.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <onnx/onnx_pb.h>

#include <snc/io/file.hpp>
#include <snc/layers/window.hpp>

namespace snc::onnx_import {

namespace {

// ---------------------------------------------------------------------------------------------
// Reading: tensors and attributes.

struct Problems {
    std::vector<std::string> lines;
    void add(const onnx::NodeProto& node, const std::string& what) {
        lines.push_back("node '" + (node.name().empty() ? node.output(0) : node.name()) + "' (" + node.op_type() + "): " + what);
    }
};

// A constant: the float data of an initializer or a Constant node, or its int64 data (pads, shapes).
struct Constant {
    std::vector<std::int64_t> dims;
    std::vector<float> floats;
    std::vector<std::int64_t> integers;
    bool is_float = false;
};

Constant read_tensor(const onnx::TensorProto& tensor, const std::filesystem::path& directory, const std::string& model) {
    Constant out;
    out.dims.assign(tensor.dims().begin(), tensor.dims().end());
    std::uint64_t count = 1;
    for (std::int64_t d : out.dims) {
        if (d < 0 || (d && count > (std::uint64_t(1) << 40) / std::uint64_t(d)))
            throw Error(model + ": tensor '" + tensor.name() + "' has an absurd shape");
        count *= std::uint64_t(d);
    }
    std::string raw = tensor.raw_data();
    if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {  // torch writes these for models over 2 GB
        std::string location;
        std::uint64_t offset = 0, length = 0;
        auto number = [&](const std::string& key, const std::string& text) {
            std::uint64_t value = 0;
            if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
                throw Error(model + ": tensor '" + tensor.name() + "' has external data whose " + key + " is not a number: '" + text + "'");
            for (char c : text) value = value * 10 + std::uint64_t(c - '0');
            return value;
        };
        for (const auto& entry : tensor.external_data()) {
            if (entry.key() == "location") location = entry.value();
            if (entry.key() == "offset") offset = number("offset", entry.value());
            if (entry.key() == "length") length = number("length", entry.value());
        }
        // As ONNX's checker requires: a file beside the model or below it, never one elsewhere
        // (an absolute path, "..", a device such as /dev/zero).
        const std::filesystem::path relative(location);
        if (location.empty() || relative.is_absolute() ||
            std::any_of(relative.begin(), relative.end(), [](const std::filesystem::path& part) { return part == ".."; }))
            throw Error(model + ": tensor '" + tensor.name() + "' has external data at '" + location +
                        "', which is not a path inside the model's folder");
        const std::string file = (directory / relative).string();
        std::error_code status;
        if (!std::filesystem::is_regular_file(file, status))
            throw Error(file + ": the external data of tensor '" + tensor.name() + "' is not a regular file");
        std::vector<char> bytes = io::read_file(file);
        if (!length) length = bytes.size() - std::min<std::uint64_t>(offset, bytes.size());
        if (offset > bytes.size() || length > bytes.size() - offset)
            throw Error(file + ": the external data of tensor '" + tensor.name() + "' runs past its end");
        raw.assign(bytes.data() + offset, length);
    }
    auto take = [&](auto& values, std::size_t element, const auto& typed) {
        using T = typename std::decay_t<decltype(values)>::value_type;
        if (!raw.empty()) {
            if (raw.size() != count * element)
                throw Error(model + ": tensor '" + tensor.name() + "' holds " + std::to_string(raw.size()) + " bytes, its shape needs " +
                            std::to_string(count * element));
            values.resize(count);
            for (std::size_t i = 0; i < count; ++i) {
                T v;
                std::memcpy(&v, raw.data() + i * element, sizeof v);
                values[i] = v;
            }
        } else {
            if (std::uint64_t(typed.size()) != count)
                throw Error(model + ": tensor '" + tensor.name() + "' holds " + std::to_string(typed.size()) + " values, its shape needs " +
                            std::to_string(count));
            values.assign(typed.begin(), typed.end());
        }
    };
    switch (tensor.data_type()) {
        case onnx::TensorProto::FLOAT:
            out.is_float = true;
            take(out.floats, 4, tensor.float_data());
            break;
        case onnx::TensorProto::INT64: take(out.integers, 8, tensor.int64_data()); break;
        case onnx::TensorProto::INT32: {
            std::vector<std::int32_t> narrow;
            take(narrow, 4, tensor.int32_data());
            out.integers.assign(narrow.begin(), narrow.end());
            break;
        }
        default: break;  // other types: refused where they are used
    }
    return out;
}

const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const std::string& name) {
    for (const auto& a : node.attribute())
        if (a.name() == name) return &a;
    return nullptr;
}
std::int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback) {
    const auto* a = attribute(node, name);
    return a ? a->i() : fallback;
}
float float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback) {
    const auto* a = attribute(node, name);
    return a ? a->f() : fallback;
}
std::string string_attribute(const onnx::NodeProto& node, const std::string& name, const std::string& fallback) {
    const auto* a = attribute(node, name);
    return a ? a->s() : fallback;
}
std::optional<std::vector<std::int64_t>> ints_attribute(const onnx::NodeProto& node, const std::string& name) {
    const auto* a = attribute(node, name);
    if (!a) return std::nullopt;
    return std::vector<std::int64_t>(a->ints().begin(), a->ints().end());
}

// ---------------------------------------------------------------------------------------------
// The layers, as a tree that prints as snc's declaration and names tensors as snc does.

struct Layer {
    std::string code;     // "snc::Conv<64, 7, snc::Stride<2>, snc::Pad<3>, snc::NoBias>"; empty for a residual
    std::string source;   // the ONNX nodes it comes from
    std::vector<std::pair<std::string, Tensor>> tensors;  // "weight", "bias", ...
    std::vector<Layer> body, shortcut;                     // a residual's branches
    bool residual() const { return code.empty(); }
};

std::string float_text(float value) {
    std::ostringstream os;
    os.precision(9);
    os << value;
    std::string text = os.str();
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    return text + "f";
}

// The window's options as snc writes them: Stride<S> (always: ONNX's default differs from the
// pools'), then Pad<P> for equal sides or Pads<T, L, B, R>.
std::string window_options(int stride, const Window& w, bool always_stride) {
    std::string text;
    if (always_stride || stride != 1) text += ", snc::Stride<" + std::to_string(stride) + ">";
    if (w.pad_top == w.pad_left && w.pad_top == w.pad_bottom && w.pad_top == w.pad_right) {
        if (w.pad_top) text += ", snc::Pad<" + std::to_string(w.pad_top) + ">";
    } else {
        text += ", snc::Pads<" + std::to_string(w.pad_top) + ", " + std::to_string(w.pad_left) + ", " + std::to_string(w.pad_bottom) +
                ", " + std::to_string(w.pad_right) + ">";
    }
    return text;
}

Tensor tensor_of(const Constant& c) {
    Tensor t(c.dims);
    t.data = c.floats;
    return t;
}

// ---------------------------------------------------------------------------------------------
// The graph walk.

class Importer {
public:
    Importer(const onnx::ModelProto& model, const std::string& path, const Options& options)
        : model_(model), graph_(model.graph()), path_(path), options_(options) {}

    Result run() {
        check_structure();
        collect_constants();
        const std::string input = find_input();
        for (int i = 0; i < graph_.node_size(); ++i) {
            const auto& node = graph_.node(i);
            for (const std::string& value : node.output()) producer_[value] = i;
            // Constants, and the Shape of a value (which reads its extents, not its data), are folded
            // where they are used (constant()); the walk follows the data.
            if (node.op_type() == "Constant" || node.op_type() == "Shape") continue;
            for (const std::string& value : node.input())
                if (!value.empty() && !constants_.count(value)) consumers_[value].push_back(i);
        }
        if (graph_.output_size() != 1) throw Error(path_ + ": the model has " + std::to_string(graph_.output_size()) + " outputs; snc's networks have one");
        output_ = graph_.output(0).name();
        std::string end;
        std::vector<Layer> layers = chain(input, -1, end);
        if (problems_.lines.empty() && end != output_)
            throw Error(path_ + ": the walk from the input ended at '" + end + "', not at the output '" + output_ + "'");
        if (!problems_.lines.empty()) {
            std::string message = path_ + ": " + std::to_string(problems_.lines.size()) + " node" +
                                  (problems_.lines.size() > 1 ? "s" : "") + " snc cannot express:";
            for (const std::string& line : problems_.lines) message += "\n  " + line;
            throw Error(message);
        }
        // Network<Input<...>> with no layer is no network to compile (and the writer below needs one).
        if (layers.empty()) throw Error(path_ + ": the model computes nothing from its input (its output is the input, '" + output_ + "'); snc compiles networks of at least one layer");
        return write(layers);
    }

private:
    // What every later step takes for granted of the graph, as ONNX defines it: a node has one
    // output at least, named; an input at least (but for a Constant), two for the products; it
    // reads only values written before it (the graph's inputs, initializers, earlier nodes: ONNX
    // sorts nodes topologically), and no value is written twice. The fuzzer found the first and the
    // third missing: a node without outputs aborted snc-import in protobuf's bounds check, a node
    // reading its own output sent the residual walk round the cycle until the stack overflowed.
    void check_structure() const {
        std::set<std::string> written;
        for (const auto& value : graph_.input()) written.insert(value.name());
        for (const auto& tensor : graph_.initializer()) written.insert(tensor.name());
        for (int i = 0; i < graph_.node_size(); ++i) {
            const auto& nd = graph_.node(i);
            const std::string& op = nd.op_type();
            const std::string which = "node " + std::to_string(i) + (nd.name().empty() ? "" : " '" + nd.name() + "'") + " (" + op + ")";
            if (nd.output_size() < 1 || nd.output(0).empty()) throw Error(path_ + ": " + which + " has no output");
            const int needed = op == "Constant" ? 0 : op == "Gemm" || op == "MatMul" || op == "Conv" || op == "Add" ? 2 : 1;
            if (nd.input_size() < needed || (needed && nd.input(0).empty()))
                throw Error(path_ + ": " + which + " has " + std::to_string(nd.input_size()) + " inputs; " + op + " takes at least " +
                            std::to_string(needed));
            for (const std::string& value : nd.input())
                if (!value.empty() && !written.count(value))
                    throw Error(path_ + ": " + which + " reads '" + value +
                                "', which no earlier node writes (ONNX sorts a graph's nodes so that each reads what is already written)");
            for (const std::string& value : nd.output())
                if (!value.empty() && !written.insert(value).second) throw Error(path_ + ": " + which + " writes '" + value + "' again");
        }
    }

    // Constants: initializers and Constant nodes.
    void collect_constants() {
        const std::filesystem::path directory = std::filesystem::path(path_).parent_path();
        for (const auto& tensor : graph_.initializer()) constants_[tensor.name()] = read_tensor(tensor, directory, path_);
        for (const auto& node : graph_.node())
            if (node.op_type() == "Constant") {
                if (const auto* value = attribute(node, "value"); value && value->has_t())
                    constants_[node.output(0)] = read_tensor(value->t(), directory, path_);
                else
                    problems_.add(node, "a Constant other than a tensor 'value'");
            }
    }

    // The one input that is data, not a constant: NCHW images or (N, F) features.
    std::string find_input() {
        std::vector<const onnx::ValueInfoProto*> data;
        for (const auto& input : graph_.input())
            if (!constants_.count(input.name())) data.push_back(&input);
        if (data.size() != 1) throw Error(path_ + ": the model has " + std::to_string(data.size()) + " data inputs; snc's networks have one");
        const auto& type = data[0]->type();
        if (!type.has_tensor_type() || type.tensor_type().elem_type() != onnx::TensorProto::FLOAT)
            throw Error(path_ + ": the input '" + data[0]->name() + "' is not a float32 tensor");
        std::vector<std::int64_t> dims;
        std::string batch_name;
        for (const auto& dim : type.tensor_type().shape().dim()) {
            if (dim.has_dim_value()) dims.push_back(dim.dim_value());
            else {
                dims.push_back(-1);
                if (dims.size() == 1) batch_name = dim.dim_param();
                else throw Error(path_ + ": the input '" + data[0]->name() + "' has a dynamic extent other than the batch");
            }
        }
        if (dims.size() != 4 && dims.size() != 2)
            throw Error(path_ + ": the input '" + data[0]->name() + "' has rank " + std::to_string(dims.size()) +
                        "; snc takes (N, C, H, W) images or (N, F) features");
        std::int64_t batch = options_.batch ? options_.batch : dims[0];
        if (batch <= 0)
            throw Error(path_ + ": the model's batch is dynamic ('" + batch_name + "'): give --batch N");
        input_shape_ = dims.size() == 4 ? Shape{batch, dims[2], dims[3], dims[1]} : Shape{batch, dims[1]};
        if (!input_shape_.all_positive()) throw Error(path_ + ": the input's extents must be positive");
        shapes_[data[0]->name()] = input_shape_;
        return data[0]->name();
    }

    const onnx::NodeProto& node(int i) const { return graph_.node(i); }
    std::vector<int> consumers(const std::string& value) const {
        auto found = consumers_.find(value);
        return found == consumers_.end() ? std::vector<int>{} : found->second;
    }
    // A constant: an initializer, a Constant node, or what the exporter computes from those (and
    // from values' shapes) with integer ops, folded here: torch writes F.pad's pads and
    // x.view(x.size(0), -1)'s shape that way.
    const Constant* constant(const std::string& name) {
        if (auto found = constants_.find(name); found != constants_.end()) return &found->second;
        auto producer = producer_.find(name);
        if (producer == producer_.end() || folding_.count(name)) return nullptr;
        folding_.insert(name);
        std::optional<Constant> folded = fold(node(producer->second));
        folding_.erase(name);
        if (!folded || !consistent(*folded)) return nullptr;
        return &(constants_[name] = std::move(*folded));
    }

    // The product of `dims`, when every one is 0 or more and the product stays under 2^40 elements.
    static std::optional<std::int64_t> checked_product(const std::vector<std::int64_t>& dims) {
        std::int64_t product = 1;
        for (std::int64_t d : dims)
            if (d < 0 || __builtin_mul_overflow(product, d, &product) || product > (std::int64_t(1) << 40)) return std::nullopt;
        return product;
    }
    // What every fold may take for granted of its inputs, and must give: as many values as the
    // dims say. The fuzzer found folds that read past a constant whose dims claimed more.
    static bool consistent(const Constant& c) {
        std::optional<std::int64_t> count = checked_product(c.dims);
        return count && std::size_t(*count) == (c.is_float ? c.floats.size() : c.integers.size());
    }

    // The integer ops of shape arithmetic, on constants. None: not foldable.
    std::optional<Constant> fold(const onnx::NodeProto& nd) {
        const std::string& op = nd.op_type();
        std::vector<const Constant*> in;
        if (op == "Shape") {
            auto shape = shapes_.find(nd.input(0));
            if (shape == shapes_.end()) return std::nullopt;
            const Shape& s = shape->second;  // ONNX's order: (N, C, H, W)
            Constant c{.dims = {s.rank}};
            c.integers = s.is_image() ? std::vector<std::int64_t>{s.n(), s.c(), s.h(), s.w()} : std::vector<std::int64_t>{s.n(), s.c()};
            return c;
        }
        for (const std::string& input : nd.input()) {
            if (input.empty()) {
                in.push_back(nullptr);
                continue;
            }
            const Constant* c = constant(input);
            if (!c) return std::nullopt;
            in.push_back(c);
        }
        auto ints = [&](std::size_t k) -> const std::vector<std::int64_t>& { return in[k]->integers; };
        if (op == "Identity" || op == "Cast") {
            Constant c = *in[0];
            const std::int64_t to = int_attribute(nd, "to", onnx::TensorProto::INT64);
            if (op == "Cast" && to == onnx::TensorProto::FLOAT && !c.is_float) {
                c.floats.assign(c.integers.begin(), c.integers.end());
                c.integers.clear();
                c.is_float = true;
            } else if (op == "Cast" && (to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32) && c.is_float) {
                for (float v : c.floats)
                    if (!(std::abs(v) < 4.6e18f)) return std::nullopt;  // NaN, infinity, or past int64
                c.integers.assign(c.floats.begin(), c.floats.end());
                c.floats.clear();
                c.is_float = false;
            }
            return c;
        }
        if (in.empty() || !in[0] || in[0]->is_float) return std::nullopt;  // the rest: integer tensors
        const Constant& x = *in[0];
        if (op == "ConstantOfShape") {
            std::optional<std::int64_t> count = checked_product(ints(0));
            if (!count || *count > (1 << 20)) return std::nullopt;
            Constant c{.dims = ints(0)};
            const auto* value = attribute(nd, "value");
            const Constant fill = value && value->has_t() ? read_tensor(value->t(), {}, path_) : Constant{.integers = {0}};
            if (fill.is_float ? fill.floats.empty() : fill.integers.empty()) return std::nullopt;
            if (fill.is_float) c.floats.assign(std::size_t(*count), fill.floats.at(0)), c.is_float = true;
            else c.integers.assign(std::size_t(*count), fill.integers.at(0));
            return c;
        }
        if (op == "Concat") {
            Constant c{.dims = {0}};
            for (const Constant* part : in) {
                if (!part || part->is_float || part->dims.size() != 1) return std::nullopt;
                c.integers.insert(c.integers.end(), part->integers.begin(), part->integers.end());
            }
            c.dims[0] = std::int64_t(c.integers.size());
            return c;
        }
        if (op == "Reshape" || op == "Unsqueeze" || op == "Squeeze") {
            Constant c = x;
            std::int64_t count = std::int64_t(x.integers.size());
            if (op == "Reshape") {
                if (in.size() < 2 || !in[1] || in[1]->is_float) return std::nullopt;
                std::vector<std::int64_t> dims = ints(1);
                std::int64_t known = 1, unknown = -1;
                for (std::size_t k = 0; k < dims.size(); ++k) {
                    if (dims[k] == 0 && k < x.dims.size()) dims[k] = x.dims[k];
                    if (dims[k] < -1 || (dims[k] == -1 && unknown >= 0)) return std::nullopt;  // as ONNX: one -1 at most
                    if (dims[k] == -1) unknown = std::int64_t(k);
                    else if (__builtin_mul_overflow(known, dims[k], &known)) return std::nullopt;
                }
                if (unknown >= 0) dims[std::size_t(unknown)] = known ? count / known : 0;
                c.dims = dims;
            } else {
                std::vector<std::int64_t> axes = in.size() > 1 && in[1] ? ints(1) : ints_attribute(nd, "axes").value_or(std::vector<std::int64_t>{});
                if (op == "Squeeze") {
                    c.dims.clear();
                    for (std::size_t k = 0; k < x.dims.size(); ++k)
                        if (std::find(axes.begin(), axes.end(), std::int64_t(k)) == axes.end() &&
                            std::find(axes.begin(), axes.end(), std::int64_t(k) - std::int64_t(x.dims.size())) == axes.end())
                            c.dims.push_back(x.dims[k]);
                } else {
                    for (std::int64_t axis : axes) {
                        if (axis < 0) axis += std::int64_t(c.dims.size()) + 1;
                        if (axis < 0) return std::nullopt;
                        c.dims.insert(c.dims.begin() + std::min<std::ptrdiff_t>(axis, std::ptrdiff_t(c.dims.size())), 1);
                    }
                }
            }
            std::optional<std::int64_t> product = checked_product(c.dims);
            if (!product || *product != count) return std::nullopt;
            return c;
        }
        if (op == "Gather") {
            if (x.dims.size() != 1 || int_attribute(nd, "axis", 0) != 0 || in.size() < 2 || !in[1] || in[1]->is_float) return std::nullopt;
            Constant c{.dims = in[1]->dims};
            for (std::int64_t index : ints(1)) {
                if (index < 0) index += std::int64_t(x.integers.size());
                if (index < 0 || index >= std::int64_t(x.integers.size())) return std::nullopt;
                c.integers.push_back(x.integers[std::size_t(index)]);
            }
            return c;
        }
        if (op == "Transpose") {
            if (x.dims.size() != 2) return std::nullopt;
            Constant c{.dims = {x.dims[1], x.dims[0]}};
            for (std::int64_t j = 0; j < x.dims[1]; ++j)
                for (std::int64_t i = 0; i < x.dims[0]; ++i) c.integers.push_back(x.integers[std::size_t(i * x.dims[1] + j)]);
            return c;
        }
        if (op == "Slice") return slice(x, in);
        return std::nullopt;
    }

    // ONNX's Slice on a row-major integer tensor: starts, ends, axes, steps, clamped as the spec says.
    static std::optional<Constant> slice(const Constant& x, const std::vector<const Constant*>& in) {
        const std::size_t rank = x.dims.size();
        if (in.size() < 3 || !in[1] || !in[2]) return std::nullopt;
        const std::vector<std::int64_t>&starts = in[1]->integers, &ends = in[2]->integers;
        std::vector<std::int64_t> axes(starts.size()), steps(starts.size(), 1);
        for (std::size_t k = 0; k < axes.size(); ++k) axes[k] = std::int64_t(k);
        if (in.size() > 3 && in[3]) axes = in[3]->integers;
        if (in.size() > 4 && in[4]) steps = in[4]->integers;
        if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) return std::nullopt;
        if (std::optional<std::int64_t> count = checked_product(x.dims); !count || *count > (1 << 20)) return std::nullopt;
        std::vector<std::vector<std::int64_t>> picks(rank);
        for (std::size_t d = 0; d < rank; ++d)
            for (std::int64_t i = 0; i < x.dims[d]; ++i) picks[d].push_back(i);
        for (std::size_t k = 0; k < starts.size(); ++k) {
            std::int64_t axis = axes[k] < 0 ? axes[k] + std::int64_t(rank) : axes[k];
            if (axis < 0 || axis >= std::int64_t(rank) || steps[k] == 0) return std::nullopt;
            const std::int64_t dim = x.dims[std::size_t(axis)], step = steps[k];
            std::int64_t start = starts[k] < 0 ? starts[k] + dim : starts[k], end = ends[k] < 0 ? ends[k] + dim : ends[k];
            if (step > 0) start = std::clamp<std::int64_t>(start, 0, dim), end = std::clamp<std::int64_t>(end, 0, dim);
            else start = std::clamp<std::int64_t>(start, 0, dim - 1), end = std::clamp<std::int64_t>(end, -1, dim - 1);
            picks[std::size_t(axis)].clear();
            for (std::int64_t i = start; step > 0 ? i < end : i > end; i += step) {
                picks[std::size_t(axis)].push_back(i);
                if (step > 0 ? end - i <= step : i - end <= -step) break;  // the next i would pass end (or overflow)
            }
        }
        Constant c;
        for (const auto& p : picks) c.dims.push_back(std::int64_t(p.size()));
        std::vector<std::size_t> at(rank, 0);
        std::int64_t total = 1;
        for (std::int64_t d : c.dims) total *= d;
        for (std::int64_t e = 0; e < total; ++e) {
            std::int64_t offset = 0, rest = e;
            for (std::size_t d = rank; d-- > 0;) {
                at[d] = std::size_t(rest % c.dims[d]);
                rest /= c.dims[d];
            }
            for (std::size_t d = 0; d < rank; ++d) offset = offset * x.dims[d] + picks[d][at[d]];
            c.integers.push_back(x.integers[std::size_t(offset)]);
        }
        return c;
    }
    bool is_merge(int n) {
        const auto& add = node(n);
        return add.op_type() == "Add" && add.input_size() == 2 && !constant(add.input(0)) && !constant(add.input(1));
    }

    // Layers from `value` on, until the node `merge` (the Add that ends a residual branch) or the
    // graph's output; `end` receives the value reached.
    std::vector<Layer> chain(std::string value, int merge, std::string& end) {
        std::vector<Layer> layers;
        while (true) {
            std::vector<int> readers = consumers(value);
            if (readers.empty() || value == output_) {
                end = value;
                return layers;
            }
            if (readers.size() == 1) {
                const int n = readers[0];
                if (n == merge) {
                    end = value;
                    return layers;
                }
                if (is_merge(n)) {  // an Add whose branches did not split at a value this walk saw
                    problems_.add(node(n), "adds two values that do not branch from one earlier value; snc's adds are residual blocks");
                    end = value;
                    return layers;
                }
                value = convert(n, value, layers);
                if (value.empty()) {  // refused: the walk cannot go on through it
                    end = output_;
                    return layers;
                }
                continue;
            }
            if (readers.size() > 2) {
                problems_.add(node(readers[0]), "its input '" + value + "' is read by " + std::to_string(readers.size()) +
                                                    " nodes; snc's blocks branch in two (a residual)");
                end = output_;
                return layers;
            }
            value = residual(value, readers, layers);
            if (value.empty()) {
                end = output_;
                return layers;
            }
        }
    }

    // A value read by two nodes: the two branches up to the Add where they meet.
    std::string residual(const std::string& value, const std::vector<int>& readers, std::vector<Layer>& layers) {
        auto reachable = [&](int start) {
            std::set<int> seen;
            std::vector<int> stack{start};
            while (!stack.empty()) {
                int n = stack.back();
                stack.pop_back();
                if (!seen.insert(n).second) continue;
                for (const std::string& out : node(n).output())
                    for (int next : consumers(out)) stack.push_back(next);
            }
            return seen;
        };
        const std::set<int> a = reachable(readers[0]), b = reachable(readers[1]);
        int merge = -1;
        for (int n : a)
            if (b.count(n) && (merge < 0 || n < merge)) merge = n;  // ONNX lists nodes in topological order
        if (merge < 0) {
            problems_.add(node(readers[0]), "branches from '" + value + "' never meet again; snc's blocks are residual");
            return "";
        }
        if (!is_merge(merge)) {
            const std::string& op = node(merge).op_type();
            problems_.add(node(merge), op == "Add" || op == "Mul" || op == "Sum" ? "joins two branches other than as a residual Add"
                                                                                : "snc has no layer for it");
            return "";
        }
        Layer block;
        block.source = node(merge).name();
        std::string end_a, end_b;
        std::vector<Layer> first = branch(readers[0], value, merge, end_a), second = branch(readers[1], value, merge, end_b);
        if (!problems_.lines.empty()) return "";
        const Shape shape_a = shapes_.at(end_a), shape_b = shapes_.at(end_b);
        if (!(shape_a == shape_b)) {
            problems_.add(node(merge), "adds values of different shapes");
            return "";
        }
        // The body is the longer branch (the shortcut is the identity, or a 1x1 conv and its norm).
        if (first.size() >= second.size()) block.body = std::move(first), block.shortcut = std::move(second);
        else block.body = std::move(second), block.shortcut = std::move(first);
        layers.push_back(std::move(block));
        const std::string out = node(merge).output(0);
        shapes_[out] = shape_a;
        return out;
    }

    std::vector<Layer> branch(int start, const std::string& value, int merge, std::string& end) {
        if (start == merge) {
            end = value;
            return {};
        }
        std::vector<Layer> layers;
        const std::string next = convert(start, value, layers);
        if (next.empty()) {
            end = value;
            return layers;
        }
        std::vector<Layer> rest = chain(next, merge, end);
        for (Layer& layer : rest) layers.push_back(std::move(layer));
        return layers;
    }

    // ---------------------------------------------------------------------------------------
    // One node (with what folds into it) to layers; returns the value produced, or "" if refused.

    std::string convert(int n, const std::string& in_value, std::vector<Layer>& layers) {
        const auto& nd = node(n);
        const std::string& op = nd.op_type();
        const Shape in = shapes_.at(in_value);
        const std::string out_value = nd.output(0);
        for (int k = 1; k < nd.output_size(); ++k)
            if (!nd.output(k).empty() && !consumers(nd.output(k)).empty()) {
                problems_.add(nd, "its output " + std::to_string(k) + " is used; snc's layers have one output");
                return "";
            }
        auto leaf = [&](std::string code, Shape out, std::vector<std::pair<std::string, Tensor>> tensors = {}) {
            layers.push_back(Layer{std::move(code), nd.name(), std::move(tensors), {}, {}});
            shapes_[out_value] = out;
            return out_value;
        };
        if (op == "Relu") return leaf("snc::ReLU", in);
        if (op == "Sigmoid") return leaf("snc::Sigmoid", in);
        if (op == "Tanh") return leaf("snc::Tanh", in);
        if (op == "Identity") {
            shapes_[out_value] = in;
            return out_value;
        }
        if (op == "Dropout") {
            float ratio = float_attribute(nd, "ratio", 0.5f);
            if (nd.input_size() > 1 && !nd.input(1).empty()) {
                const Constant* r = constant(nd.input(1));
                if (!r || !r->is_float || r->floats.size() != 1) return refuse(nd, "a ratio that is not a constant");
                ratio = r->floats[0];
            }
            if (!(ratio >= 0.0f && ratio < 1.0f)) return refuse(nd, "a ratio outside [0, 1)");
            return leaf("snc::Dropout<" + float_text(ratio) + ">", in);
        }
        if (op == "Pad") return pad(n, in_value, layers);
        if (op == "Conv") return conv(n, in_value, {}, layers);
        if (op == "MaxPool" || op == "AveragePool") return pool(n, in_value, {}, layers);
        if (op == "GlobalAveragePool") {
            if (!in.is_image()) return refuse(nd, "an input that is not an image");
            return leaf("snc::GlobalAvgPool", Shape{in.n(), in.c()});
        }
        if (op == "ReduceMean") {
            auto axes = ints_attribute(nd, "axes");
            if (!in.is_image() || !axes || std::set<std::int64_t>(axes->begin(), axes->end()) != std::set<std::int64_t>{2, 3})
                return refuse(nd, "a mean over other axes than an image's height and width");
            return leaf("snc::GlobalAvgPool", Shape{in.n(), in.c()});
        }
        if (op == "Flatten") {
            const std::int64_t axis = int_attribute(nd, "axis", 1);
            if (axis != 1 && !(in.is_image() && axis == -3) && !(!in.is_image() && axis == -1))
                return refuse(nd, "axis " + std::to_string(axis) + "; snc flattens all but the batch axis");
            if (!in.is_image()) {  // already (N, F): a GlobalAveragePool's (N, C, 1, 1) flattened
                shapes_[out_value] = in;
                return out_value;
            }
            return leaf("snc::Flatten", Shape{in.n(), in.features()});
        }
        if (op == "Reshape") {
            const Constant* shape = nd.input_size() > 1 ? constant(nd.input(1)) : nullptr;
            const bool flattening = shape && shape->integers.size() == 2 && (shape->integers[0] == in.n() || shape->integers[0] == 0) &&
                                    (shape->integers[1] == -1 || shape->integers[1] == in.features());
            if (!flattening) return refuse(nd, "a reshape other than (N, -1), a Flatten");
            if (!in.is_image()) {
                shapes_[out_value] = in;
                return out_value;
            }
            return leaf("snc::Flatten", Shape{in.n(), in.features()});
        }
        if (op == "BatchNormalization") return batch_norm(n, in_value, layers);
        if (op == "Gemm") return gemm(n, in_value, layers);
        if (op == "MatMul") return matmul(n, in_value, layers);
        return refuse(nd, "snc has no layer for it");
    }

    std::string refuse(const onnx::NodeProto& nd, const std::string& what) {
        problems_.add(nd, what);
        return "";
    }

    // A square kernel, equal strides, no dilation: what snc's windows are.
    std::optional<std::pair<int, int>> window_of(const onnx::NodeProto& nd, std::optional<int> kernel_from_weights) {
        auto kernel = ints_attribute(nd, "kernel_shape");
        int k = 0;
        if (kernel) {
            if (kernel->size() != 2 || (*kernel)[0] != (*kernel)[1]) {
                problems_.add(nd, "a kernel that is not 2-D and square");
                return std::nullopt;
            }
            k = int((*kernel)[0]);
        } else if (kernel_from_weights) {
            k = *kernel_from_weights;
        } else {
            problems_.add(nd, "no kernel_shape");
            return std::nullopt;
        }
        auto strides = ints_attribute(nd, "strides").value_or(std::vector<std::int64_t>{1, 1});
        if (strides.size() != 2 || strides[0] != strides[1] || strides[0] < 1) {
            problems_.add(nd, "strides that are not equal along both axes");
            return std::nullopt;
        }
        auto dilations = ints_attribute(nd, "dilations").value_or(std::vector<std::int64_t>{1, 1});
        if (std::any_of(dilations.begin(), dilations.end(), [](std::int64_t d) { return d != 1; })) {
            problems_.add(nd, "dilations; snc's windows are dense");
            return std::nullopt;
        }
        return std::pair{k, int(strides[0])};
    }

    // ONNX's pads (or auto_pad) of a window, resolved to pixels on each side for input `in`.
    std::optional<Window> padding_of(const onnx::NodeProto& nd, const Shape& in, int k, int s, std::array<int, 4> extra) {
        Window w{.kernel = k, .stride = s};
        const std::string auto_pad = string_attribute(nd, "auto_pad", "NOTSET");
        if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
            SidePads rows = same_pads(in.h(), k, s), cols = same_pads(in.w(), k, s);
            if (auto_pad == "SAME_LOWER") std::swap(rows.before, rows.after), std::swap(cols.before, cols.after);
            w.pad_top = rows.before, w.pad_bottom = rows.after, w.pad_left = cols.before, w.pad_right = cols.after;
        } else if (auto_pad == "NOTSET") {
            auto pads = ints_attribute(nd, "pads").value_or(std::vector<std::int64_t>{0, 0, 0, 0});
            if (pads.size() != 4) {
                problems_.add(nd, "pads that are not those of a 2-D window");
                return std::nullopt;
            }
            w.pad_top = int(pads[0]), w.pad_left = int(pads[1]), w.pad_bottom = int(pads[2]), w.pad_right = int(pads[3]);
        } else if (auto_pad != "VALID") {
            problems_.add(nd, "auto_pad " + auto_pad);
            return std::nullopt;
        }
        w.pad_top += extra[0], w.pad_left += extra[1], w.pad_bottom += extra[2], w.pad_right += extra[3];
        if (std::min({w.pad_top, w.pad_left, w.pad_bottom, w.pad_right}) < 0) {
            problems_.add(nd, "negative pads");
            return std::nullopt;
        }
        if (in.h() + w.pad_top + w.pad_bottom < k || in.w() + w.pad_left + w.pad_right < k) {
            problems_.add(nd, "a window larger than its padded input");
            return std::nullopt;
        }
        return w;
    }

    static Shape window_output(const Shape& in, const Window& w, std::int64_t channels) {
        return Shape{in.n(), window_extent(in.h(), w.kernel, w.stride, w.pad_top, w.pad_bottom),
                     window_extent(in.w(), w.kernel, w.stride, w.pad_left, w.pad_right), channels};
    }

    // A constant zero Pad of the spatial axes: folded into the Conv or AveragePool that alone reads it.
    std::string pad(int n, const std::string& in_value, std::vector<Layer>& layers) {
        const auto& nd = node(n);
        const Shape in = shapes_.at(in_value);
        if (string_attribute(nd, "mode", "constant") != "constant") return refuse(nd, "a mode other than constant");
        std::vector<std::int64_t> pads;
        if (auto attr = ints_attribute(nd, "pads")) pads = *attr;
        else if (nd.input_size() > 1 && constant(nd.input(1))) pads = constant(nd.input(1))->integers;
        else return refuse(nd, "pads that are not a constant");
        float fill = float_attribute(nd, "value", 0.0f);
        if (nd.input_size() > 2 && !nd.input(2).empty()) {
            const Constant* value = constant(nd.input(2));
            if (!value || !value->is_float || value->floats.size() != 1) return refuse(nd, "a fill value that is not a constant");
            fill = value->floats[0];
        }
        if (fill != 0.0f) return refuse(nd, "a fill value other than 0");
        if (!in.is_image() || pads.size() != 8 || pads[0] || pads[1] || pads[4] || pads[5])
            return refuse(nd, "pads of other axes than an image's height and width");
        const std::array<int, 4> extra{int(pads[2]), int(pads[3]), int(pads[6]), int(pads[7])};  // top, left, bottom, right
        const std::vector<int> readers = consumers(nd.output(0));
        if (readers.size() == 1 && node(readers[0]).op_type() == "Conv") return conv(readers[0], in_value, extra, layers, nd.name());
        if (readers.size() == 1 && node(readers[0]).op_type() == "AveragePool")
            return pool(readers[0], in_value, extra, layers, nd.name());
        return refuse(nd, "a Pad that no Conv or AveragePool alone reads; snc pads inside those");
    }

    std::string conv(int n, const std::string& in_value, std::array<int, 4> extra, std::vector<Layer>& layers, const std::string& folded = "") {
        const auto& nd = node(n);
        const Shape in = shapes_.at(in_value);
        if (!in.is_image()) return refuse(nd, "an input that is not an image");
        if (int_attribute(nd, "group", 1) != 1) return refuse(nd, "groups; snc's convs are dense");
        const Constant* w = nd.input_size() > 1 ? constant(nd.input(1)) : nullptr;
        if (!w || !w->is_float || w->dims.size() != 4) return refuse(nd, "weights that are not a float32 OIHW constant");
        if (w->dims[2] != w->dims[3]) return refuse(nd, "a kernel that is not square");
        if (w->dims[1] != in.c()) return refuse(nd, "weights for " + std::to_string(w->dims[1]) + " input channels, given " + std::to_string(in.c()));
        auto window = window_of(nd, int(w->dims[2]));
        if (!window) return "";
        auto padding = padding_of(nd, in, window->first, window->second, extra);
        if (!padding) return "";
        const Constant* b = nd.input_size() > 2 && !nd.input(2).empty() ? constant(nd.input(2)) : nullptr;
        if (nd.input_size() > 2 && !nd.input(2).empty() && (!b || !b->is_float)) return refuse(nd, "a bias that is not a float32 constant");
        const std::int64_t filters = w->dims[0];
        std::string code = "snc::Conv<" + std::to_string(filters) + ", " + std::to_string(window->first) +
                           window_options(window->second, *padding, false) + (b ? "" : ", snc::NoBias") + ">";
        std::vector<std::pair<std::string, Tensor>> tensors{{"weight", tensor_of(*w)}};
        if (b) tensors.emplace_back("bias", tensor_of(*b));
        layers.push_back(Layer{code, folded.empty() ? nd.name() : folded + " + " + nd.name(), std::move(tensors), {}, {}});
        shapes_[nd.output(0)] = window_output(in, *padding, filters);
        return nd.output(0);
    }

    std::string pool(int n, const std::string& in_value, std::array<int, 4> extra, std::vector<Layer>& layers, const std::string& folded = "") {
        const auto& nd = node(n);
        const Shape in = shapes_.at(in_value);
        const bool is_max = nd.op_type() == "MaxPool";
        if (!in.is_image()) return refuse(nd, "an input that is not an image");
        if (int_attribute(nd, "ceil_mode", 0)) return refuse(nd, "ceil_mode; snc's windows floor");
        if (is_max && int_attribute(nd, "storage_order", 0)) return refuse(nd, "storage_order 1");
        auto window = window_of(nd, std::nullopt);
        if (!window) return "";
        auto padding = padding_of(nd, in, window->first, window->second, extra);
        if (!padding) return "";
        bool include_pad = false;
        if (!is_max) {
            const bool own_pads = padding->pad_top - extra[0] || padding->pad_left - extra[1] || padding->pad_bottom - extra[2] ||
                                  padding->pad_right - extra[3];
            const bool counts_pads = int_attribute(nd, "count_include_pad", 0) != 0;
            if (own_pads && !counts_pads && std::any_of(extra.begin(), extra.end(), [](int p) { return p; }))
                return refuse(nd, "pads of its own that it does not count, after a Pad whose zeros it does");
            include_pad = counts_pads || std::any_of(extra.begin(), extra.end(), [](int p) { return p; });
        }
        std::string code = std::string(is_max ? "snc::MaxPool<" : "snc::AvgPool<") + std::to_string(window->first) +
                           window_options(window->second, *padding, true) +
                           (include_pad && (padding->pad_top || padding->pad_left || padding->pad_bottom || padding->pad_right)
                                ? ", snc::CountIncludePad" : "") + ">";
        layers.push_back(Layer{code, folded.empty() ? nd.name() : folded + " + " + nd.name(), {}, {}, {}});
        shapes_[nd.output(0)] = window_output(in, *padding, in.c());
        return nd.output(0);
    }

    // BatchNormalization in inference mode. ONNX's momentum weighs the old statistics (0.9),
    // PyTorch's and snc's the new (0.1).
    std::string batch_norm(int n, const std::string& in_value, std::vector<Layer>& layers) {
        const auto& nd = node(n);
        const Shape in = shapes_.at(in_value);
        if (int_attribute(nd, "training_mode", 0)) return refuse(nd, "training_mode 1; export the model in eval mode");
        if (nd.input_size() != 5) return refuse(nd, "other inputs than X, scale, B, mean, var");
        std::vector<std::pair<std::string, Tensor>> tensors;
        const char* names[] = {"weight", "bias", "running_mean", "running_var"};
        for (int k = 0; k < 4; ++k) {
            const Constant* c = constant(nd.input(k + 1));
            if (!c || !c->is_float || c->floats.size() != std::size_t(in.c()))
                return refuse(nd, std::string(names[k]) + " is not a float32 constant of " + std::to_string(in.c()) + " values");
            tensors.emplace_back(names[k], tensor_of(*c));
            tensors.back().second.shape = {in.c()};
        }
        const float epsilon = float_attribute(nd, "epsilon", 1e-5f), momentum = 1.0f - float_attribute(nd, "momentum", 0.9f);
        std::string options;
        if (epsilon != 1e-5f) options += "snc::Epsilon<" + float_text(epsilon) + ">";
        if (std::abs(momentum - 0.1f) > 1e-6f) options += std::string(options.empty() ? "" : ", ") + "snc::Momentum<" + float_text(momentum) + ">";
        layers.push_back(Layer{"snc::BatchNorm<" + options + ">", nd.name(), std::move(tensors), {}, {}});
        shapes_[nd.output(0)] = in;
        return nd.output(0);
    }

    // Adds the Dense layer; false (and a problem) when its weights do not fit the input.
    bool dense(const onnx::NodeProto& nd, const std::string& source, const Shape& in, const std::vector<float>& weight,
               std::int64_t units, const std::vector<float>* bias, std::vector<Layer>& layers) {
        const std::int64_t features = std::int64_t(weight.size()) / units;
        if (in.is_image() || features != in.features()) {
            problems_.add(nd, "weights for " + std::to_string(features) + " features, given " + shape_text(in));
            return false;
        }
        Tensor w({units, features});
        w.data = weight;
        std::vector<std::pair<std::string, Tensor>> tensors{{"weight", std::move(w)}};
        if (bias) {
            Tensor b({units});
            b.data = *bias;
            tensors.emplace_back("bias", std::move(b));
        }
        layers.push_back(Layer{"snc::Dense<" + std::to_string(units) + (bias ? "" : ", snc::NoBias") + ">", source, std::move(tensors), {}, {}});
        return true;
    }

    static std::string shape_text(const Shape& s) {
        std::ostringstream os;
        os << s;
        return os.str();
    }

    // Gemm: Y = alpha A B' + beta C, with A the features, B the weights and C a bias per unit.
    std::string gemm(int n, const std::string& in_value, std::vector<Layer>& layers) {
        const auto& nd = node(n);
        const Shape in = shapes_.at(in_value);
        if (int_attribute(nd, "transA", 0)) return refuse(nd, "transA; the features come first");
        const Constant* b = constant(nd.input(1));
        if (!b || !b->is_float || b->dims.size() != 2) return refuse(nd, "B that is not a float32 constant matrix");
        const bool trans_b = int_attribute(nd, "transB", 0) != 0;
        const std::int64_t units = trans_b ? b->dims[0] : b->dims[1], features = trans_b ? b->dims[1] : b->dims[0];
        const float alpha = float_attribute(nd, "alpha", 1.0f), beta = float_attribute(nd, "beta", 1.0f);
        std::vector<float> weight(std::size_t(units * features));
        for (std::int64_t u = 0; u < units; ++u)
            for (std::int64_t f = 0; f < features; ++f)
                weight[std::size_t(u * features + f)] = alpha * b->floats[std::size_t(trans_b ? u * features + f : f * units + u)];
        std::optional<std::vector<float>> bias;
        if (nd.input_size() > 2 && !nd.input(2).empty()) {
            const Constant* c = constant(nd.input(2));
            if (!c || !c->is_float || (c->floats.size() != 1 && c->floats.size() != std::size_t(units)))
                return refuse(nd, "C that is not one bias per unit");
            bias = std::vector<float>(std::size_t(units));
            for (std::int64_t u = 0; u < units; ++u) (*bias)[std::size_t(u)] = beta * c->floats[c->floats.size() == 1 ? 0 : std::size_t(u)];
        }
        if (!dense(nd, nd.name(), in, weight, units, bias ? &*bias : nullptr, layers)) return "";
        shapes_[nd.output(0)] = Shape{in.n(), units};
        return nd.output(0);
    }

    // MatMul by a constant (features, units) matrix, and the Add of a bias per unit that alone reads it.
    std::string matmul(int n, const std::string& in_value, std::vector<Layer>& layers) {
        const auto& nd = node(n);
        const Shape in = shapes_.at(in_value);
        const Constant* b = constant(nd.input(1));
        if (nd.input(0) != in_value || !b || !b->is_float || b->dims.size() != 2)
            return refuse(nd, "a product other than the features by a float32 constant matrix");
        const std::int64_t features = b->dims[0], units = b->dims[1];
        std::vector<float> weight(std::size_t(units * features));
        for (std::int64_t u = 0; u < units; ++u)
            for (std::int64_t f = 0; f < features; ++f) weight[std::size_t(u * features + f)] = b->floats[std::size_t(f * units + u)];
        std::string out = nd.output(0), source = nd.name();
        const std::vector<float>* bias = nullptr;
        const std::vector<int> readers = consumers(out);
        if (readers.size() == 1 && node(readers[0]).op_type() == "Add") {
            const auto& add = node(readers[0]);
            const std::string other = add.input(0) == out ? add.input(1) : add.input(0);
            const Constant* c = constant(other);
            if (c && c->is_float && c->floats.size() == std::size_t(units)) {
                bias = &c->floats;
                out = add.output(0);
                source += " + " + add.name();
            }
        }
        if (!dense(nd, source, in, weight, units, bias, layers)) return "";
        shapes_[out] = Shape{in.n(), units};
        return out;
    }

    // ---------------------------------------------------------------------------------------
    // Writing: the declaration and the weights under snc's names for it.

    Result write(const std::vector<Layer>& layers) {
        Result result;
        const std::string& name = options_.network;
        const std::size_t split = name.rfind("::");
        const std::string space = split == std::string::npos ? "" : name.substr(0, split);
        const std::string type = split == std::string::npos ? name : name.substr(split + 2);
        std::ostringstream h;
        h << "// Generated by snc-import from " << std::filesystem::path(path_).filename().string();
        if (!model_.producer_name().empty()) h << " (" << model_.producer_name() << " " << model_.producer_version();
        for (const auto& opset : model_.opset_import())
            if (opset.domain().empty()) h << (model_.producer_name().empty() ? " (" : ", ") << "opset " << opset.version();
        if (!model_.producer_name().empty() || model_.opset_import_size()) h << ")";
        h << ": " << graph_.node_size() << " nodes.\n"
          << "// Its weights, under the names this declaration gives them, are the safetensors file written beside it.\n"
          << "#pragma once\n\n#include <snc/snc.hpp>\n\n";
        if (!space.empty()) h << "namespace " << space << " {\n\n";
        h << "using " << type << " = snc::Network<snc::Input<";
        const Shape s = input_shape_;
        if (s.is_image()) h << s.n() << ", " << s.h() << ", " << s.w() << ", " << s.c();
        else h << s.n() << ", " << s.c();
        h << ">,\n";
        std::vector<Line> lines;
        list(layers, 1, "", lines, result);
        lines.back().code += ">;";
        for (const Line& line : lines) h << line.code << (line.comment.empty() ? "" : "  // " + line.comment) << "\n";
        if (!space.empty()) h << "\n}  // namespace " << space << "\n";
        result.header = h.str();
        return result;
    }

    // The declaration's lines, a comment (the ONNX node) beside each layer.
    struct Line {
        std::string code, comment;
    };

    // Elements of a list, one or more lines each, commas between; `prefix` names them ("", "3.body.").
    void list(const std::vector<Layer>& items, int depth, const std::string& prefix, std::vector<Line>& lines, Result& result) {
        for (std::size_t i = 0; i < items.size(); ++i) {
            element(items[i], depth, prefix + std::to_string(i), lines, result);
            if (i + 1 < items.size()) lines.back().code += ",";
        }
    }

    void element(const Layer& layer, int depth, const std::string& path, std::vector<Line>& lines, Result& result) {
        const std::string indent(std::size_t(depth) * 4, ' ');
        if (!layer.residual()) {
            lines.push_back({indent + layer.code, layer.source});
            for (const auto& [tensor, value] : layer.tensors) {
                result.weights[path + "." + tensor] = value;
                if (tensor == "weight" || tensor == "bias") result.parameters += value.elements();  // not the running statistics
            }
            ++result.layers;
            return;
        }
        lines.push_back({indent + "snc::Residual<", layer.source});
        lines.push_back({indent + "    snc::Seq<", "body"});
        list(layer.body, depth + 2, path + ".body.", lines, result);
        lines.back().code += ">,";
        if (layer.shortcut.empty()) {
            lines.push_back({indent + "    snc::Identity>", "shortcut"});
            return;
        }
        lines.push_back({indent + "    snc::Seq<", "shortcut"});
        list(layer.shortcut, depth + 2, path + ".shortcut.", lines, result);
        lines.back().code += ">>";
    }

    const onnx::ModelProto& model_;
    const onnx::GraphProto& graph_;
    std::string path_;
    Options options_;
    std::map<std::string, Constant> constants_;
    std::set<std::string> folding_;  // values being folded, against cycles
    std::map<std::string, std::vector<int>> consumers_;
    std::map<std::string, int> producer_;
    std::map<std::string, Shape> shapes_;
    std::string output_;
    Shape input_shape_;
    Problems problems_;
};

}  // namespace

Result import_model(const std::string& path, const Options& options) {
    std::vector<char> bytes = io::read_file(path);
    return import_model_bytes(bytes.data(), bytes.size(), path, options);
}

Result import_model_bytes(const char* data, std::size_t size, const std::string& path, const Options& options) {
    onnx::ModelProto model;
    if (size > std::size_t(std::numeric_limits<int>::max()) || !model.ParseFromArray(data, int(size)))
        throw Error(path + ": not an ONNX model (it does not parse as a ModelProto)");
    if (!model.has_graph()) throw Error(path + ": the ONNX model has no graph");
    return Importer(model, path, options).run();
}

}  // namespace snc::onnx_import
