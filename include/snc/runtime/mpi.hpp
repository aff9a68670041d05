// A data-parallel training job over MPI (Open MPI from Debian, or any MPI 3): the processes that
// `mpirun -n K` started, as the collective a training step needs (runtime/collective.hpp) and the
// exchange of its gradients (runtime/training_step.hpp). Include it only where <mpi.h> is found;
// the trainers do when CMake's FindMPI finds MPI (SNC_HAVE_MPI).
//
// Gradients: each segment's range is summed by a non-blocking allreduce started as soon as the
// segment's backward pass has written it (DDP's overlap with the rest of the backward pass), in
// buckets of at most kBucketFloats; MPI progresses them while the next segments' passes run only
// where its library does so on its own, and in the calls between passes (MPI_Testall). Before SGD
// every bucket is waited for and the sums divided by K. A sum is the same on every process (MPI's
// algorithms reduce each element once and send the result, or add the same two operands, whose
// IEEE sum commutes), so every process keeps the same parameters; the trainers check that with a
// checksum at the end.
//
// Every MPI call comes from the thread that calls the step (Halide's workers call none; the
// synchronized batch norm's stage runs at the root of its pipeline): MPI_THREAD_FUNNELED.
#pragma once

// MPI's C interface only: the deprecated C++ bindings would need libmpi_cxx too.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <snc/runtime/collective.hpp>
#include <snc/runtime/training_step.hpp>

namespace snc::runtime {

class MpiJob final : public Collective, public GradientExchange<float> {
public:
    // DDP's default bucket: 25 MiB of floats.
    static constexpr std::int64_t kBucketFloats = std::int64_t(25) << 18;

    MpiJob(int* argc, char*** argv) {
        int provided = 0;
        MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
        MPI_Comm_size(MPI_COMM_WORLD, &size_);
    }
    ~MpiJob() override { MPI_Finalize(); }
    MpiJob(const MpiJob&) = delete;
    MpiJob& operator=(const MpiJob&) = delete;

    int rank() const override { return rank_; }
    int size() const override { return size_; }

    void sum(float* values, std::size_t count) override { allreduce(values, count, MPI_FLOAT); }
    void sum(double* values, std::size_t count) override { allreduce(values, count, MPI_DOUBLE); }
    void broadcast(float* values, std::size_t count) override {
        for (std::size_t done = 0; done < count;) {
            const int part = int(std::min<std::size_t>(count - done, INT_MAX));
            MPI_Bcast(values + done, part, MPI_FLOAT, 0, MPI_COMM_WORLD);
            done += std::size_t(part);
        }
    }

    // GradientExchange: start the sums of a segment's range, bucket by bucket.
    void ready(float* gradients, FloatRange range) override {
        if (size_ == 1) return;
        for (std::int64_t begin = range.begin; begin < range.end; begin += kBucketFloats) {
            const int count = int(std::min(kBucketFloats, range.end - begin));
            requests_.emplace_back();
            MPI_Iallreduce(MPI_IN_PLACE, gradients + begin, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &requests_.back());
            buckets_.push_back({gradients + begin, count});
        }
        int done = 0;  // gives MPI's progress engine a turn
        MPI_Testall(int(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE);
    }
    void finish() override {
        if (size_ == 1) return;
        MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
        const float scale = 1.0f / float(size_);
        for (const Bucket& bucket : buckets_)
            for (int k = 0; k < bucket.count; ++k) bucket.data[k] *= scale;
        requests_.clear();
        buckets_.clear();
    }

    // Whether every process passed the same value (a checksum of its options and files).
    bool same_everywhere(std::uint64_t value) {
        std::uint64_t low = value, high = value;
        MPI_Allreduce(MPI_IN_PLACE, &low, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, &high, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
        return low == high;
    }

    // After a phase every process runs, each with its exit code (0: it went well): the lowest rank
    // whose code is not 0 (-1 if none), and the highest code.
    std::pair<int, int> agree(int code) {
        int first = code ? rank_ : INT_MAX, highest = code;
        MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, &highest, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        return {first == INT_MAX ? -1 : first, highest};
    }

    // Ends every process of the job: a failure that only this one saw.
    [[noreturn]] void abort(int code) {
        MPI_Abort(MPI_COMM_WORLD, code);
        std::exit(code);  // not reached
    }

private:
    template <class T>
    void allreduce(T* values, std::size_t count, MPI_Datatype type) {
        if (size_ == 1) return;
        for (std::size_t done = 0; done < count;) {
            const int part = int(std::min<std::size_t>(count - done, INT_MAX));
            MPI_Allreduce(MPI_IN_PLACE, values + done, part, type, MPI_SUM, MPI_COMM_WORLD);
            done += std::size_t(part);
        }
    }

    struct Bucket {
        float* data;
        int count;
    };
    int rank_ = 0, size_ = 1;
    std::vector<MPI_Request> requests_;
    std::vector<Bucket> buckets_;
};

}  // namespace snc::runtime
