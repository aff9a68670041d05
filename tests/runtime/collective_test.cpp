// The synchronized batch norm's extern stage (include/snc/runtime/collective.hpp), called as a
// compiled step calls it: Halide's bounds query, the copy when no collective is installed, the mean
// over processes, and the backward pass's replay of the forward pass's value. The whole path, under
// mpirun, is tests/mpi/data_parallel_test.py's.
#include <doctest/doctest.h>

#include <vector>

#include <HalideBuffer.h>

#include <snc/runtime/collective.hpp>

namespace {

// Two processes, the other one's values given: sum adds them (as MPI_Allreduce would).
class TwoProcesses final : public snc::runtime::Collective {
public:
    explicit TwoProcesses(std::vector<double> other) : other_(std::move(other)) {}
    int rank() const override { return 0; }
    int size() const override { return 2; }
    void sum(float* values, std::size_t count) override {
        ++calls;
        for (std::size_t k = 0; k < count; ++k) values[k] += float(other_[k]);
    }
    void sum(double* values, std::size_t count) override {
        ++calls;
        for (std::size_t k = 0; k < count; ++k) values[k] += other_[k];
    }
    void broadcast(float*, std::size_t) override {}
    int calls = 0;

private:
    std::vector<double> other_;
};

template <class T>
std::vector<T> call(int key, bool replay, std::vector<T> values) {
    Halide::Runtime::Buffer<T> in(values.data(), int(values.size())), out(int(values.size()));
    REQUIRE(snc_collective_mean(key, replay ? 1 : 0, in.raw_buffer(), out.raw_buffer()) == 0);
    return std::vector<T>(out.data(), out.data() + out.number_of_elements());
}

}  // namespace

TEST_CASE("the synchronized batch norm's stage: bounds query, copy, mean over processes, replay") {
    // Halide asks which channels the stage reads: the ones it writes.
    Halide::Runtime::Buffer<float> out(4);
    out.raw_buffer()->dim[0].min = 2;
    halide_buffer_t query{};
    halide_dimension_t dimension{};
    query.dimensions = 1;
    query.dim = &dimension;
    query.type = halide_type_of<float>();
    REQUIRE(snc_collective_mean(0, 0, &query, out.raw_buffer()) == 0);
    CHECK(dimension.min == 2);
    CHECK(dimension.extent == 4);

    // No collective: the values themselves, in float and in double (the gradient checks).
    CHECK(call<float>(4, false, {1, 2, 3}) == std::vector<float>{1, 2, 3});
    CHECK(call<double>(4, false, {1, 2, 3}) == std::vector<double>{1, 2, 3});

    TwoProcesses two({3, 4, 5});
    snc::runtime::synchronize_batch_norm(&two);
    CHECK(snc::runtime::batch_norm_synchronized());
    CHECK(call<float>(8, false, {1, 2, 3}) == std::vector<float>{2, 3, 4});  // (1 + 3) / 2, ...
    CHECK(two.calls == 1);
    // The backward pass's recomputed forward: the forward pass's mean, without communicating, even
    // where its own sums came out otherwise (another schedule adds in another order).
    CHECK(call<float>(8, true, {1.5f, 2, 3}) == std::vector<float>{2, 3, 4});
    CHECK(two.calls == 1);
    // A key never communicated is not replayed; double works the same.
    CHECK(call<double>(12, true, {-3, 0, 1}) == std::vector<double>{0, 2, 3});
    CHECK(two.calls == 2);
    snc::runtime::synchronize_batch_norm(nullptr);
    CHECK_FALSE(snc::runtime::batch_norm_synchronized());
    CHECK(call<float>(8, true, {7, 8, 9}) == std::vector<float>{7, 8, 9});
}
