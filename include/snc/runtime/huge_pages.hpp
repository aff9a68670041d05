// Packed weights on 2 MB pages where the kernel grants them (transparent huge pages in "madvise"
// mode, Debian's default). A conv tile reads its weights as one stream (layout.hpp: blocked
// packing); on 4 KB pages that stream crosses a page every 64 cache lines, where the hardware
// prefetcher stops and the TLB misses. Measured with bench/profile_stages (1 thread, JIT, runs
// interleaved, the weights madvised or not): the course's ResNet-18 at batch 1 6.3-8.1 ms on 4 KB
// pages, 5.8-6.3 ms on 2 MB ones; torchvision ResNet-18 19.7-21.7 ms against 18.2-18.9 ms.
// Without huge pages (THP "never") the memory is ordinary: the advice is only advice.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <memory>

namespace snc::runtime {

inline constexpr std::size_t huge_page_bytes = std::size_t(2) << 20;

// `bytes` of memory (not zeroed), on 2 MB pages where the kernel grants them when a page or more
// is asked for, 128-byte aligned otherwise; freed with std::free. For the training step's buffers
// and the pipelines' large intermediates: the course's ResNet-18 step at batch 128 first touches
// about 1.5 GB, and on 4 KB pages its first step took 397,000 page faults and 2.7 s of system
// time (2.95 s the step, against 1.27 s for each step after it).
inline void* allocate_on_huge_pages(std::size_t bytes) {
    if (bytes < huge_page_bytes) return std::aligned_alloc(128, (bytes + 127) / 128 * 128);
    const std::size_t rounded = (bytes + huge_page_bytes - 1) / huge_page_bytes * huge_page_bytes;
    void* memory = std::aligned_alloc(huge_page_bytes, rounded);
    if (memory) ::madvise(memory, rounded, MADV_HUGEPAGE);  // before the first touch, which places the pages
    return memory;
}

class HugePageFloats {
public:
    HugePageFloats() = default;
    // `count` floats, zeroed; empty() when the memory cannot be had.
    explicit HugePageFloats(std::size_t count) {
        if (count == 0) return;
        void* memory = allocate_on_huge_pages(std::max(count * sizeof(float), huge_page_bytes));
        if (!memory) return;
        data_.reset(static_cast<float*>(memory));
        count_ = count;
        for (std::size_t i = 0; i < count; ++i) data_[i] = 0.0f;
    }

    float* data() { return data_.get(); }
    const float* data() const { return data_.get(); }
    std::size_t size() const { return count_; }
    bool empty() const { return count_ == 0; }

private:
    struct Free {
        void operator()(float* memory) const { std::free(memory); }
    };
    std::unique_ptr<float[], Free> data_;
    std::size_t count_ = 0;
};

}  // namespace snc::runtime
