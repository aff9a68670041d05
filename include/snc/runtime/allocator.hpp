// A caching allocator for AOT-compiled snc pipelines (halide_set_custom_malloc/free).
//
// A pipeline allocates the same buffers, of the same sizes, at every run. Through malloc, the large
// ones come from fresh pages each time (mmap, or a heap top that glibc trims back): the kernel
// zeroes and maps them again on first touch. Measured on the FashionCNN training step: 33 buffers,
// 94 MB a step, 7.6 ms in halide_free alone and the page faults on top. Kept here, freed blocks wait
// for the next run's request of the same size; those of 2 MB or more on huge pages
// (runtime/huge_pages.hpp). Thread-safe: Halide allocates from worker threads.
#pragma once

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <HalideRuntime.h>

#include <snc/runtime/huge_pages.hpp>

namespace snc::runtime {

class BlockCache {
public:
    static constexpr std::size_t alignment = 128;  // at least halide_malloc_alignment() on every target

    void* allocate(std::size_t bytes) {
        std::size_t size = (bytes + alignment - 1) / alignment * alignment;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto found = free_.find(size);
            if (found != free_.end() && !found->second.empty()) {
                void* block = found->second.back();
                found->second.pop_back();
                return block;
            }
        }
        void* block = allocate_on_huge_pages(size);
        if (block) {
            std::lock_guard<std::mutex> lock(mutex_);
            sizes_[block] = size;
        }
        return block;
    }

    void release(void* block) {
        if (!block) return;
        std::lock_guard<std::mutex> lock(mutex_);
        free_[sizes_.at(block)].push_back(block);
    }

    // Never destroyed: Halide may free blocks while static destructors run, and the blocks kept
    // stay reachable (not leaks) for LeakSanitizer until the process ends.
    static BlockCache& instance() {
        static BlockCache* cache = new BlockCache;
        return *cache;
    }

private:
    std::mutex mutex_;
    std::unordered_map<std::size_t, std::vector<void*>> free_;
    std::unordered_map<void*, std::size_t> sizes_;
};

// Routes every Halide allocation of this program through the cache.
inline void cache_pipeline_allocations() {
    halide_set_custom_malloc([](void*, std::size_t bytes) { return BlockCache::instance().allocate(bytes); });
    halide_set_custom_free([](void*, void* block) { BlockCache::instance().release(block); });
    // A GPU pipeline's intermediate buffers, and the input and output copies of each call, are
    // device allocations; cudaMalloc and cudaFree synchronize the device, so Halide keeps freed
    // blocks for reuse instead (no effect on CPU-only programs).
    halide_reuse_device_allocations(nullptr, true);
}

}  // namespace snc::runtime
