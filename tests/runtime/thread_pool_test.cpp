// The banded thread pool that the AOT programs install (include/snc/runtime/thread_pool.hpp):
// every iteration once, each thread one contiguous band, the caller the first; errors returned;
// nested and concurrent loops run serially rather than wait.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <snc/runtime/thread_pool.hpp>

namespace {

// What one loop saw: which thread ran each iteration (by its order of first appearance: the
// caller 0), and how often.
struct Record {
    int min = 0;
    std::vector<std::thread::id> ran_by;
    std::vector<int> times;
    std::mutex mutex;
    int fail_at = -1000000;
    snc::runtime::BandedThreadPool* nested = nullptr;  // started again inside each iteration
    std::atomic<int> nested_iterations{0};

    Record(int first, int size) : min(first), ran_by(std::size_t(size)), times(std::size_t(size), 0) {}
};

int record_iteration(void* user_context, int i, std::uint8_t*) {
    auto& r = *static_cast<Record*>(user_context);
    if (r.nested) {
        int inner = r.nested->run(
            &r.nested_iterations,
            [](void* counter, int, std::uint8_t*) {
                static_cast<std::atomic<int>*>(counter)->fetch_add(1);
                return 0;
            },
            0, 4, nullptr);
        if (inner != 0) return inner;
    }
    std::lock_guard<std::mutex> lock(r.mutex);
    r.ran_by[std::size_t(i - r.min)] = std::this_thread::get_id();
    ++r.times[std::size_t(i - r.min)];
    return i == r.fail_at ? -7 : 0;
}

// The number of contiguous runs of one thread in `ran_by`.
int bands(const std::vector<std::thread::id>& ran_by) {
    int count = ran_by.empty() ? 0 : 1;
    for (std::size_t i = 1; i < ran_by.size(); ++i) count += ran_by[i] != ran_by[i - 1];
    return count;
}

}  // namespace

TEST_CASE("banded thread pool: every iteration once, one contiguous band a thread, the caller's first") {
    snc::runtime::BandedThreadPool pool(3);
    CHECK(pool.threads() == 3);
    for (int size : {2, 3, 7, 64, 1001}) {
        for (int min : {0, -5, 12}) {
            Record r(min, size);
            REQUIRE(pool.run(&r, record_iteration, min, size, nullptr) == 0);
            CHECK(std::all_of(r.times.begin(), r.times.end(), [](int t) { return t == 1; }));
            CHECK(bands(r.ran_by) == std::min(size, 3));
            CHECK(r.ran_by.front() == std::this_thread::get_id());
            // The bands' lengths differ by one at most: size 7 on 3 threads is 2, 2, 3.
            std::vector<int> lengths{1};
            for (std::size_t i = 1; i < r.ran_by.size(); ++i) {
                if (r.ran_by[i] == r.ran_by[i - 1]) ++lengths.back();
                else lengths.push_back(1);
            }
            const auto [shortest, longest] = std::minmax_element(lengths.begin(), lengths.end());
            CHECK(*longest - *shortest <= 1);
        }
    }
}

TEST_CASE("banded thread pool: loops of 0 and 1 iterations, and one thread, run in the caller") {
    snc::runtime::BandedThreadPool pool(2);
    Record empty(0, 0);
    CHECK(pool.run(&empty, record_iteration, 0, 0, nullptr) == 0);
    Record one(4, 1);
    CHECK(pool.run(&one, record_iteration, 4, 1, nullptr) == 0);
    CHECK(one.times[0] == 1);
    CHECK(one.ran_by[0] == std::this_thread::get_id());

    snc::runtime::BandedThreadPool alone(1);
    Record r(0, 50);
    CHECK(alone.run(&r, record_iteration, 0, 50, nullptr) == 0);
    CHECK(bands(r.ran_by) == 1);
    CHECK(r.ran_by[0] == std::this_thread::get_id());
}

TEST_CASE("banded thread pool: a failing iteration's result is returned, in either band") {
    snc::runtime::BandedThreadPool pool(2);
    for (int fail_at : {3, 97}) {
        Record r(0, 100);
        r.fail_at = fail_at;
        CHECK(pool.run(&r, record_iteration, 0, 100, nullptr) == -7);
        CHECK(r.times[std::size_t(fail_at)] == 1);
        // The band that failed stopped there; the other ran whole.
        const bool first_band = fail_at < 50;
        CHECK(r.times[first_band ? 4 : 98] == 0);
        CHECK(r.times[first_band ? 60 : 10] == 1);
    }
    Record after(0, 10);  // the pool still works after a failure
    CHECK(pool.run(&after, record_iteration, 0, 10, nullptr) == 0);
    CHECK(std::count(after.times.begin(), after.times.end(), 1) == 10);
}

TEST_CASE("banded thread pool: a loop inside an iteration runs serially in that iteration's thread") {
    snc::runtime::BandedThreadPool pool(2);
    Record r(0, 20);
    r.nested = &pool;
    CHECK(pool.run(&r, record_iteration, 0, 20, nullptr) == 0);
    CHECK(r.nested_iterations.load() == 20 * 4);
    CHECK(std::all_of(r.times.begin(), r.times.end(), [](int t) { return t == 1; }));
}

TEST_CASE("banded thread pool: loops from two callers at once all complete") {
    snc::runtime::BandedThreadPool pool(2);
    std::vector<std::thread> callers;
    std::atomic<int> failures{0};
    std::vector<std::unique_ptr<Record>> owned;
    for (int c = 0; c < 4; ++c) owned.push_back(std::make_unique<Record>(0, 300));
    for (int c = 0; c < 4; ++c)
        callers.emplace_back([&, c] {
            for (int round = 0; round < 50; ++round) {
                Record& r = *owned[std::size_t(c)];
                if (pool.run(&r, record_iteration, 0, 300, nullptr) != 0) failures.fetch_add(1);
            }
        });
    for (std::thread& caller : callers) caller.join();
    CHECK(failures.load() == 0);
    for (const auto& r : owned) CHECK(std::all_of(r->times.begin(), r->times.end(), [](int t) { return t == 50; }));
}
