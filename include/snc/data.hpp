// Fashion-MNIST images as network inputs: pixels scaled to [0, 1], resized when the network wants
// another size (the course's ResNet-18 reads 96x96), batched NHWC.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <snc/io/idx.hpp>
#include <snc/io/tensor.hpp>

namespace snc {

// Bilinear resize with half-pixel centers, as torchvision's transforms.Resize (which d2l uses)
// does for upscaling: source = (dest + 0.5) * in / out - 0.5, clamped to the image.
inline void resize_bilinear(const float* in, std::int64_t in_h, std::int64_t in_w, float* out, std::int64_t out_h,
                            std::int64_t out_w) {
    if (in_h < 1 || in_w < 1) throw Error("resize_bilinear: the source image has no pixels");
    for (std::int64_t y = 0; y < out_h; ++y) {
        double sy = std::clamp((y + 0.5) * double(in_h) / double(out_h) - 0.5, 0.0, double(in_h - 1));
        std::int64_t y0 = std::int64_t(sy), y1 = std::min(y0 + 1, in_h - 1);
        double fy = sy - double(y0);
        for (std::int64_t x = 0; x < out_w; ++x) {
            double sx = std::clamp((x + 0.5) * double(in_w) / double(out_w) - 0.5, 0.0, double(in_w - 1));
            std::int64_t x0 = std::int64_t(sx), x1 = std::min(x0 + 1, in_w - 1);
            double fx = sx - double(x0);
            double top = in[y0 * in_w + x0] * (1 - fx) + in[y0 * in_w + x1] * fx;
            double bottom = in[y1 * in_w + x0] * (1 - fx) + in[y1 * in_w + x1] * fx;
            out[y * out_w + x] = float(top * (1 - fy) + bottom * fy);
        }
    }
}

// Training-time augmentation: each image flipped left-right with probability 1/2 and shifted by up
// to `shift` pixels each way (the uncovered border is zero, Fashion-MNIST's background).
struct Augmentation {
    std::mt19937_64* random = nullptr;
    int shift = 2;
};

inline void augment(float* image, std::int64_t h, std::int64_t w, const Augmentation& augmentation) {
    std::vector<float> source(image, image + h * w);
    std::uniform_int_distribution<int> coin(0, 1), offset(-augmentation.shift, augmentation.shift);
    const bool flip = coin(*augmentation.random);
    const int dx = offset(*augmentation.random), dy = offset(*augmentation.random);
    for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x) {
            std::int64_t sy = y - dy, sx = (flip ? w - 1 - x : x) - dx;
            image[y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? source[std::size_t(sy * w + sx)] : 0.0f;
        }
}

// The images at `indices` [0, count) of `set` into `batch` (N, H, W, 1), N >= count; rows past
// count stay zero. Pixels become value / 255; with an augmentation, each is then flipped and shifted.
inline void fill_batch(const io::LabeledImages& set, const std::int64_t* indices, std::int64_t count, Tensor& batch,
                       const Augmentation* augmentation = nullptr) {
    const std::int64_t h = batch.shape[1], w = batch.shape[2];
    std::fill(batch.begin(), batch.end(), 0.0f);
    std::vector<float> image(std::size_t(set.rows * set.cols));
    for (std::int64_t i = 0; i < count; ++i) {
        const std::uint8_t* pixels = set.pixels.data() + indices[i] * set.rows * set.cols;
        float* out = batch.data.data() + i * h * w;
        if (h == set.rows && w == set.cols) {
            for (std::int64_t k = 0; k < h * w; ++k) out[k] = float(pixels[k]) / 255.0f;
        } else {
            for (std::size_t k = 0; k < image.size(); ++k) image[k] = float(pixels[k]) / 255.0f;
            resize_bilinear(image.data(), set.rows, set.cols, out, h, w);
        }
        if (augmentation) augment(out, h, w, *augmentation);
    }
}

}  // namespace snc
