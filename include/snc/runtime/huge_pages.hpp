// Packed weights on 2 MB pages where the kernel grants them (transparent huge pages in "madvise"
// mode, Debian's default). A conv tile reads its weights as one stream (layout.hpp: blocked
// packing); on 4 KB pages that stream crosses a page every 64 cache lines, where the hardware
// prefetcher stops and the TLB misses. Measured with bench/profile_stages (1 thread, JIT, runs
// interleaved, the weights madvised or not): the course's ResNet-18 at batch 1 6.3-8.1 ms on 4 KB
// pages, 5.8-6.3 ms on 2 MB ones; torchvision ResNet-18 19.7-21.7 ms against 18.2-18.9 ms.
// Without huge pages (THP "never") the memory is ordinary: the advice is only advice.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace snc::runtime {

class HugePageFloats {
public:
    HugePageFloats() = default;
    // `count` floats, zeroed; empty() when the memory cannot be had.
    explicit HugePageFloats(std::size_t count) {
        if (count == 0) return;
        const std::size_t bytes = (count * sizeof(float) + page - 1) / page * page;
        void* memory = std::aligned_alloc(page, bytes);
        if (!memory) return;
        ::madvise(memory, bytes, MADV_HUGEPAGE);  // before the first touch, which places the pages
        data_.reset(static_cast<float*>(memory));
        count_ = count;
        for (std::size_t i = 0; i < count; ++i) data_[i] = 0.0f;
    }

    float* data() { return data_.get(); }
    const float* data() const { return data_.get(); }
    std::size_t size() const { return count_; }
    bool empty() const { return count_ == 0; }

private:
    static constexpr std::size_t page = std::size_t(2) << 20;
    struct Free {
        void operator()(float* memory) const { std::free(memory); }
    };
    std::unique_ptr<float[], Free> data_;
    std::size_t count_ = 0;
};

}  // namespace snc::runtime
