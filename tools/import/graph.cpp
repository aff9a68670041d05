// snc-import's reading of an ONNX graph: tensors, attributes, the structure ONNX promises, the
// constants (folding the integer arithmetic torch writes for shapes), and the data flow's index.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <snc/io/file.hpp>

#include "importer.hpp"

namespace snc::onnx_import {

Constant read_tensor(const onnx::TensorProto& tensor, const std::string& folder, const std::string& model) {
    const std::filesystem::path directory(folder);
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

namespace {
const onnx::AttributeProto* attribute(const Node& node, const std::string& name) {
    if (!node.proto) return nullptr;
    for (const auto& a : node.proto->attribute())
        if (a.name() == name) return &a;
    return nullptr;
}
}  // namespace

std::int64_t int_attribute(const Node& node, const std::string& name, std::int64_t fallback) {
    if (auto found = node.numbers.find(name); found != node.numbers.end()) return std::int64_t(found->second);
    const auto* a = attribute(node, name);
    return a ? a->i() : fallback;
}
float float_attribute(const Node& node, const std::string& name, float fallback) {
    if (auto found = node.numbers.find(name); found != node.numbers.end()) return float(found->second);
    const auto* a = attribute(node, name);
    return a ? a->f() : fallback;
}
std::string string_attribute(const Node& node, const std::string& name, const std::string& fallback) {
    const auto* a = attribute(node, name);
    return a ? a->s() : fallback;
}
std::optional<std::vector<std::int64_t>> ints_attribute(const Node& node, const std::string& name) {
    const auto* a = attribute(node, name);
    if (!a) return std::nullopt;
    return std::vector<std::int64_t>(a->ints().begin(), a->ints().end());
}

std::string float_text(float value) {
    std::ostringstream os;
    os.precision(9);
    os << value;
    std::string text = os.str();
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    return text + "f";
}

std::string shape_text(const Shape& s) {
    std::ostringstream os;
    os << s;
    return os.str();
}

Tensor tensor_of(const Constant& c) {
    Tensor t(c.dims);
    t.data = c.floats;
    return t;
}

std::string window_options(const Window& w, bool always_stride) {
    std::string text;
    if (always_stride || w.stride != 1) text += ", snc::Stride<" + std::to_string(w.stride) + ">";
    if (w.pad_top == w.pad_left && w.pad_top == w.pad_bottom && w.pad_top == w.pad_right) {
        if (w.pad_top) text += ", snc::Pad<" + std::to_string(w.pad_top) + ">";
    } else {
        text += ", snc::Pads<" + std::to_string(w.pad_top) + ", " + std::to_string(w.pad_left) + ", " + std::to_string(w.pad_bottom) +
                ", " + std::to_string(w.pad_right) + ">";
    }
    return text;
}

namespace {
// The product of `dims`, when every one is 0 or more and the product stays under 2^40 elements.
std::optional<std::int64_t> checked_product(const std::vector<std::int64_t>& dims) {
    std::int64_t product = 1;
    for (std::int64_t d : dims)
        if (d < 0 || __builtin_mul_overflow(product, d, &product) || product > (std::int64_t(1) << 40)) return std::nullopt;
    return product;
}
// What every fold may take for granted of its inputs, and must give: as many values as the
// dims say. The fuzzer found folds that read past a constant whose dims claimed more.
bool consistent(const Constant& c) {
    std::optional<std::int64_t> count = checked_product(c.dims);
    return count && std::size_t(*count) == (c.is_float ? c.floats.size() : c.integers.size());
}

// The integer ops of shape arithmetic, on constants. None: not foldable.
// ONNX's Slice on a row-major integer tensor: starts, ends, axes, steps, clamped as the spec says.
std::optional<Constant> slice(const Constant& x, const std::vector<const Constant*>& in) {
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
}  // namespace

std::optional<Constant> Importer::fold(const Node& nd) {
    const std::string& op = nd.op;
    std::vector<const Constant*> in;
    if (op == "Shape") {
        auto shape = shapes_.find(nd.input(0));
        if (shape == shapes_.end() || unknown_.count(nd.input(0))) return std::nullopt;
        const Shape& s = shape->second;  // ONNX's order: (N, C, H, W), or (N, H, W, C) after a Transpose
        Constant c{.dims = {s.rank}};
        if (!s.is_image()) c.integers = {s.n(), s.c()};
        else if (axes(nd.input(0)) == Axes::channels_last) c.integers = {s.n(), s.h(), s.w(), s.c()};
        else c.integers = {s.n(), s.c(), s.h(), s.w()};
        return c;
    }
    for (const std::string& input : nd.inputs) {
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
        const onnx::AttributeProto* value = nullptr;
        if (nd.proto)
            for (const auto& a : nd.proto->attribute())
                if (a.name() == "value") value = &a;
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
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {  // torch's x.size(1) // 2 and the like
        if (in.size() != 2 || !in[1] || in[1]->is_float) return std::nullopt;
        const Constant& y = *in[1];
        const bool x_scalar = x.integers.size() == 1, y_scalar = y.integers.size() == 1;
        if (!x_scalar && !y_scalar && x.integers.size() != y.integers.size()) return std::nullopt;
        Constant c = x_scalar && !y_scalar ? y : x;
        for (std::size_t k = 0; k < c.integers.size(); ++k) {
            const std::int64_t a = x.integers[x_scalar ? 0 : k], b = y.integers[y_scalar ? 0 : k];
            std::int64_t r = 0;
            if (op == "Add" ? __builtin_add_overflow(a, b, &r) : op == "Sub" ? __builtin_sub_overflow(a, b, &r)
                : op == "Mul" ? __builtin_mul_overflow(a, b, &r) : false) return std::nullopt;
            if (op == "Div") {
                if (b == 0 || (a == INT64_MIN && b == -1)) return std::nullopt;
                r = a / b;
                if ((a % b != 0) && ((a < 0) != (b < 0))) --r;  // ONNX's integer Div floors as numpy's
            }
            c.integers[k] = r;
        }
        return c;
    }
    return std::nullopt;
}


Importer::Importer(const onnx::ModelProto& model, const std::string& path, const Options& options)
    : model_(model), graph_(model.graph()), path_(path), options_(options) {}

// What every later step takes for granted of the graph, as ONNX defines it: a node has one
// output at least, named; an input at least (but for a Constant), two for the products; it
// reads only values written before it (the graph's inputs, initializers, earlier nodes: ONNX
// sorts nodes topologically), and no value is written twice. The fuzzer found the first and the
// third missing: a node without outputs aborted snc-import in protobuf's bounds check, a node
// reading its own output sent the walk round the cycle until the stack overflowed.
void Importer::check_structure() const {
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

void Importer::read_nodes() {
    for (const auto& nd : graph_.node()) {
        Node node{.op = nd.op_type(), .name = nd.name(), .inputs = {nd.input().begin(), nd.input().end()},
                  .outputs = {nd.output().begin(), nd.output().end()}, .proto = &nd};
        if (!nd.domain().empty() && nd.domain() != "ai.onnx") node.op = nd.domain() + "." + nd.op_type();  // never one of snc's patterns
        nodes_.push_back(std::move(node));
    }
}

// Constants: initializers and Constant nodes.
void Importer::collect_constants() {
    const std::string directory = std::filesystem::path(path_).parent_path().string();
    for (const auto& tensor : graph_.initializer()) constants_[tensor.name()] = read_tensor(tensor, directory, path_);
    for (const Node& node : nodes_)
        if (node.op == "Constant") {
            const auto* value = attribute(node, "value");
            if (value && value->has_t()) constants_[node.outputs[0]] = read_tensor(value->t(), directory, path_);
            else problem(node, "a Constant other than a tensor 'value'");
        }
    for (int i = 0; i < node_count(); ++i)
        for (const std::string& value : nodes_[std::size_t(i)].outputs) producer_[value] = i;
}

// The one input that is data, not a constant: NCHW images or (N, F) features.
std::string Importer::find_input() {
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
    if (batch <= 0) throw Error(path_ + ": the model's batch is dynamic ('" + batch_name + "'): give --batch N");
    input_shape_ = dims.size() == 4 ? Shape{batch, dims[2], dims[3], dims[1]} : Shape{batch, dims[1]};
    if (!input_shape_.all_positive()) throw Error(path_ + ": the input's extents must be positive");
    shapes_[data[0]->name()] = input_shape_;
    return data[0]->name();
}

// A constant: an initializer, a Constant node, or what the exporter computes from those (and
// from values' shapes) with integer ops, folded here: torch writes F.pad's pads, x.view(x.size(0),
// -1)'s shape and chunk's bounds that way.
const Constant* Importer::constant(const std::string& name) {
    if (name.empty()) return nullptr;
    if (auto found = constants_.find(name); found != constants_.end()) return &found->second;
    auto producer = producer_.find(name);
    if (producer == producer_.end() || folding_.count(name)) return nullptr;
    folding_.insert(name);
    std::optional<Constant> folded = fold(nodes_[std::size_t(producer->second)]);
    folding_.erase(name);
    if (!folded || !consistent(*folded)) return nullptr;
    return &(constants_[name] = std::move(*folded));
}

int Importer::producer(const std::string& value) const {
    auto found = producer_.find(value);
    return found == producer_.end() ? -1 : found->second;
}

std::vector<int> Importer::all_readers(const std::string& value) const {
    std::vector<int> out;
    for (int i = 0; i < node_count(); ++i) {
        const Node& n = nodes_[std::size_t(i)];
        if (!n.removed && std::find(n.inputs.begin(), n.inputs.end(), value) != n.inputs.end()) out.push_back(i);
    }
    return out;
}

const std::vector<int>& Importer::readers(const std::string& value) const {
    static const std::vector<int> none;
    auto found = readers_.find(value);
    return found == readers_.end() ? none : found->second;
}

std::vector<std::string> Importer::data_inputs(const Node& node) const {
    std::vector<std::string> out;
    for (const std::string& value : node.inputs)
        if (is_data(value) && std::find(out.begin(), out.end(), value) == out.end()) out.push_back(value);
    return out;
}

void Importer::replace(const std::vector<int>& taken, Node made) {
    const int last = *std::max_element(taken.begin(), taken.end());
    for (int i : taken) nodes_[std::size_t(i)].removed = true;
    made.removed = false;
    nodes_[std::size_t(last)] = std::move(made);
    for (const std::string& value : nodes_[std::size_t(last)].outputs) producer_[value] = last;
}

void Importer::split(int i, std::vector<Node> made) {
    nodes_.erase(nodes_.begin() + i);
    nodes_.insert(nodes_.begin() + i, made.begin(), made.end());
    producer_.clear();
    for (int k = 0; k < node_count(); ++k)
        for (const std::string& value : nodes_[std::size_t(k)].outputs) producer_[value] = k;
}

// The nearest node that post-dominates both a and b (itself included): each climbs its
// post-dominator chain, the one with the lower topological index first.
int Importer::common_post_dominator(int a, int b) const {
    while (a != b) {
        while (a < b) a = post_dominator_[std::size_t(a)];
        while (b < a) b = post_dominator_[std::size_t(b)];
    }
    return a;
}

// Which values are data (computed from the input; a Shape's output is not: it reads extents,
// which are known) and who reads them; then each node's post-dominator, the first node every
// path from it to the output passes through (Cooper, Harvey and Kennedy's intersection, on
// nodes numbered in ONNX's topological order): where the branches from a value meet again.
void Importer::index() {
    data_values_ = {input_};
    readers_.clear();
    for (int i = 0; i < node_count(); ++i) {
        const Node& n = nodes_[std::size_t(i)];
        if (n.removed || n.op == "Constant" || n.op == "Shape") continue;
        bool reads_data = false;
        for (const std::string& value : n.inputs)
            if (data_values_.count(value)) {
                reads_data = true;
                auto& list = readers_[value];
                if (list.empty() || list.back() != i) list.push_back(i);
            }
        if (reads_data)
            for (const std::string& value : n.outputs)
                if (!value.empty()) data_values_.insert(value);
    }
    const int exit = node_count();
    post_dominator_.assign(std::size_t(exit) + 1, exit);
    for (int i = exit - 1; i >= 0; --i) {
        const Node& n = nodes_[std::size_t(i)];
        if (n.removed) continue;
        int dominator = -1;
        bool to_exit = false;
        for (const std::string& value : n.outputs) {
            if (value == output_) to_exit = true;
            for (int next : readers(value)) dominator = dominator < 0 ? next : common_post_dominator(dominator, next);
        }
        if (to_exit || dominator < 0) dominator = exit;
        post_dominator_[std::size_t(i)] = dominator;
    }
}

}  // namespace snc::onnx_import
