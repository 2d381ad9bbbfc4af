#include "LatencyHistogram.h"

#include <cmath>

namespace ferry::bench {

int LatencyHistogram::bucketOf(uint64_t value)
{
    if (value < uint64_t(2 * kSub))
        return int(value);
    const int msb = 63 - __builtin_clzll(value);
    const int shift = msb - kSubBits;    // >= 1 here
    const int sub = int(value >> shift); // in [64, 128)
    return (shift + 1) * kSub + (sub - kSub);
}

uint64_t LatencyHistogram::bucketUpperValue(int bucket)
{
    if (bucket < 2 * kSub)
        return uint64_t(bucket);
    const int shift = bucket / kSub - 1;
    const uint64_t sub = uint64_t(kSub + bucket % kSub);
    return ((sub + 1) << shift) - 1;
}

void LatencyHistogram::record(uint64_t nanoseconds)
{
    ++counts_[bucketOf(nanoseconds)];
    ++count_;
    if (nanoseconds > max_)
        max_ = nanoseconds;
}

uint64_t LatencyHistogram::quantile(double q) const
{
    if (count_ == 0)
        return 0;
    uint64_t rank = uint64_t(std::ceil(q * double(count_)));
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
        seen += counts_[b];
        if (seen >= rank) {
            const uint64_t v = bucketUpperValue(b);
            return v < max_ ? v : max_;
        }
    }
    return max_;
}

} // namespace ferry::bench
