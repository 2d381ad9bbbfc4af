#pragma once
// Log-linear latency histogram (the HdrHistogram layout with 64 sub-buckets per power of two,
// so a reported value is within 1/64 = 1.6% of the true one). Fixed storage: recording a
// sample never allocates.

#include <array>
#include <cstdint>

namespace ferry::bench {

class LatencyHistogram {
public:
    void record(uint64_t nanoseconds);
    uint64_t count() const { return count_; }
    uint64_t max() const { return max_; }
    // Smallest recorded bucket value v such that a fraction q of samples is <= v; 0 if empty.
    uint64_t quantile(double q) const;

private:
    static constexpr int kSubBits = 6;
    static constexpr int kSub = 1 << kSubBits;
    static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

    static int bucketOf(uint64_t value);
    static uint64_t bucketUpperValue(int bucket);

    std::array<uint64_t, kBuckets> counts_{};
    uint64_t count_ = 0;
    uint64_t max_ = 0;
};

} // namespace ferry::bench
