// Host tensors for weights and data files, and the one error type of snc's I/O.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <snc/shape.hpp>

namespace snc {

// A file or a tensor that snc refuses: the message names the file and what is wrong with it.
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Tensor {
    std::vector<std::int64_t> shape;
    std::vector<float> data;

    Tensor() = default;
    explicit Tensor(std::vector<std::int64_t> dims) : shape(std::move(dims)), data(std::size_t(elements_of(shape))) {}

    static std::int64_t elements_of(const std::vector<std::int64_t>& dims) {
        std::int64_t count = 1;
        for (std::int64_t d : dims) count *= d;
        return count;
    }
    std::int64_t elements() const { return elements_of(shape); }
    float* begin() { return data.data(); }
    float* end() { return data.data() + data.size(); }
};

// Parameters and buffers by their PyTorch names, as a state_dict.
using StateDict = std::map<std::string, Tensor>;

inline std::string dims_text(const std::vector<std::int64_t>& dims) {
    std::string text = "(";
    for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
    return text + (dims.size() == 1 ? ",)" : ")");
}

inline std::vector<std::int64_t> dims_of(const Shape& shape) {
    return std::vector<std::int64_t>(shape.dims, shape.dims + shape.rank);
}

}  // namespace snc
