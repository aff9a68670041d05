// The plain C++ reference: every op as loops over NHWC arrays, in double, with PyTorch's tensors
// as they come (no folding). Tests check every Halide stage and whole networks against it before
// anything is timed. Slow on purpose: it is the definition, not an implementation.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <snc/io/tensor.hpp>
#include <snc/weights.hpp>

namespace snc::reference {

using Values = std::vector<double>;  // one NHWC (or NF) array

// conv: out(n, y, x, co) = b(co) + sum over ky, kx, ci of w(co, ci, ky, kx) * in(n, y*s + ky - pt, x*s + kx - pl, ci)
inline Values conv(const Op& op, const Values& in, const Tensor& w, const Tensor* b) {
    const Shape i = op.in, o = op.out;
    const Window& win = op.spec.window;
    Values out(std::size_t(o.elements()));
    for (std::int64_t n = 0; n < o.n(); ++n)
        for (std::int64_t y = 0; y < o.h(); ++y)
            for (std::int64_t x = 0; x < o.w(); ++x)
                for (std::int64_t co = 0; co < o.c(); ++co) {
                    double sum = b ? b->data[std::size_t(co)] : 0.0;
                    for (std::int64_t ky = 0; ky < win.kernel; ++ky) {
                        std::int64_t iy = y * win.stride + ky - win.pad_top;  // rows of the padded input
                        if (iy < 0 || iy >= i.h()) continue;
                        for (std::int64_t kx = 0; kx < win.kernel; ++kx) {
                            std::int64_t ix = x * win.stride + kx - win.pad_left;
                            if (ix < 0 || ix >= i.w()) continue;
                            for (std::int64_t ci = 0; ci < i.c(); ++ci)
                                sum += double(w.data[std::size_t(((co * i.c() + ci) * win.kernel + ky) * win.kernel + kx)]) *
                                       in[std::size_t(((n * i.h() + iy) * i.w() + ix) * i.c() + ci)];
                        }
                    }
                    out[std::size_t(((n * o.h() + y) * o.w() + x) * o.c() + co)] = sum;
                }
    return out;
}

// max or average over each window; padding pixels are skipped (max) or counted only with
// count_include_pad (average).
inline Values pool(const Op& op, const Values& in) {
    const Shape i = op.in, o = op.out;
    const Window& win = op.spec.window;
    bool is_max = op.spec.kind == OpKind::max_pool;
    Values out(std::size_t(o.elements()));
    for (std::int64_t n = 0; n < o.n(); ++n)
        for (std::int64_t y = 0; y < o.h(); ++y)
            for (std::int64_t x = 0; x < o.w(); ++x)
                for (std::int64_t c = 0; c < o.c(); ++c) {
                    double acc = is_max ? -std::numeric_limits<double>::infinity() : 0.0;
                    std::int64_t count = 0;
                    for (std::int64_t ky = 0; ky < win.kernel; ++ky)
                        for (std::int64_t kx = 0; kx < win.kernel; ++kx) {
                            std::int64_t iy = y * win.stride + ky - win.pad_top, ix = x * win.stride + kx - win.pad_left;
                            if (iy < 0 || iy >= i.h() || ix < 0 || ix >= i.w()) continue;
                            double v = in[std::size_t(((n * i.h() + iy) * i.w() + ix) * i.c() + c)];
                            acc = is_max ? std::max(acc, v) : acc + v;
                            ++count;
                        }
                    if (!is_max) acc /= double(op.spec.count_include_pad ? win.kernel * win.kernel : count);
                    out[std::size_t(((n * o.h() + y) * o.w() + x) * o.c() + c)] = acc;
                }
    return out;
}

// Inference batch norm with the running statistics, per channel (images) or per feature.
inline Values batch_norm(const Op& op, const Values& in, const StateDict& tensors) {
    detail::Folding folding = detail::batch_norm_folding(op, tensors);
    Values out(in.size());
    std::int64_t channels = op.in.c();
    for (std::size_t k = 0; k < in.size(); ++k)
        out[k] = in[k] * folding.scale[k % std::size_t(channels)] + folding.shift[k % std::size_t(channels)];
    return out;
}

// out(n, u) = b(u) + sum over f of w(u, torch_feature(f)) * in(n, f)
inline Values dense(const Op& op, const Values& in, const Tensor& w, const Tensor* b) {
    std::int64_t features = op.in.features(), units = op.out.c();
    Values out(std::size_t(op.out.elements()));
    for (std::int64_t n = 0; n < op.in.n(); ++n)
        for (std::int64_t u = 0; u < units; ++u) {
            double sum = b ? b->data[std::size_t(u)] : 0.0;
            for (std::int64_t f = 0; f < features; ++f)
                sum += double(w.data[std::size_t(u * features + detail::torch_feature(f, op.flatten_source))]) *
                       in[std::size_t(n * features + f)];
            out[std::size_t(n * units + u)] = sum;
        }
    return out;
}

// Runs one op on the values computed so far.
inline Values run_op(const Op& op, const std::vector<Values>& values, const StateDict& tensors) {
    const Values& in = values[std::size_t(op.input)];
    auto tensor = [&](int k) { return &tensors.at(op.tensor_name(op.tensors.items[k])); };
    switch (op.spec.kind) {
        case OpKind::conv: return conv(op, in, *tensor(0), op.spec.bias ? tensor(1) : nullptr);
        case OpKind::dense: return dense(op, in, *tensor(0), op.spec.bias ? tensor(1) : nullptr);
        case OpKind::batch_norm: return batch_norm(op, in, tensors);
        case OpKind::max_pool:
        case OpKind::avg_pool: return pool(op, in);
        case OpKind::flatten: return in;  // NHWC is already (N, H*W*C) in memory
        case OpKind::global_avg_pool: {
            Values out(std::size_t(op.out.elements()), 0.0);
            std::int64_t pixels = op.in.h() * op.in.w(), c = op.in.c();
            for (std::size_t k = 0; k < in.size(); ++k)
                out[std::size_t(std::int64_t(k) / (pixels * c) * c + std::int64_t(k) % c)] += in[k] / double(pixels);
            return out;
        }
        case OpKind::add: {
            Values out = in;
            const Values& other = values[std::size_t(op.shortcut)];
            for (std::size_t k = 0; k < out.size(); ++k) out[k] += other[k];
            return out;
        }
        case OpKind::relu: {
            Values out = in;
            for (double& v : out) v = std::max(v, 0.0);
            return out;
        }
        case OpKind::sigmoid: {
            Values out = in;
            for (double& v : out) v = 1.0 / (1.0 + std::exp(-v));
            return out;
        }
        case OpKind::tanh: {
            Values out = in;
            for (double& v : out) v = std::tanh(v);
            return out;
        }
    }
    return {};
}

// Every value of the network: values[0] is the input, values[i + 1] the output of graph.ops[i].
inline std::vector<Values> forward_values(const Graph& graph, const StateDict& tensors, const Tensor& input) {
    std::vector<Values> values;
    values.emplace_back(input.data.begin(), input.data.end());
    for (const Op& op : graph.ops) values.push_back(run_op(op, values, tensors));
    return values;
}

inline Tensor forward(const Graph& graph, const StateDict& tensors, const Tensor& input) {
    std::vector<Values> values = forward_values(graph, tensors, input);
    Tensor out(dims_of(graph.shape_of(graph.output)));
    std::transform(values[std::size_t(graph.output)].begin(), values[std::size_t(graph.output)].end(), out.begin(),
                   [](double v) { return float(v); });
    return out;
}

}  // namespace snc::reference
