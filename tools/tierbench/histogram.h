#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace tierbench {

// A log-linear latency histogram in nanoseconds, in the spirit of HdrHistogram: values
// below 128 ns are exact, above that every power-of-two range is split into 128 linear
// buckets, so a recorded value is off by less than 1/128 (0.8 %) of itself. Covers 0 ns
// to about 68 s (2^36 ns); larger values land in the last bucket. Not thread-safe: each
// client thread records into its own histogram and they are merged after the run.
class LatencyHistogram {
 public:
  static constexpr int kSubBits = 7;                     // 128 sub-buckets per octave
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  static constexpr int kMaxBits = 36;                    // 2^36 ns ~ 68.7 s
  static constexpr size_t kBuckets = kSub * (kMaxBits - kSubBits + 1);

  void Record(uint64_t ns) {
    counts_[Index(ns)]++;
    total_++;
    if (ns > max_) max_ = ns;
    if (ns < min_) min_ = ns;
    sum_ += ns;
  }

  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return total_; }
  uint64_t max_ns() const { return total_ ? max_ : 0; }
  uint64_t min_ns() const { return total_ ? min_ : 0; }
  double mean_ns() const { return total_ ? static_cast<double>(sum_) / total_ : 0.0; }

  // The value at percentile `p` (0..100): the highest value equivalent to the bucket that
  // holds the ceil(p% × count)-th smallest sample, never above the recorded maximum.
  uint64_t Percentile(double p) const;

  static size_t Index(uint64_t ns) {
    if (ns < kSub) return static_cast<size_t>(ns);
    const int e = static_cast<int>(std::bit_width(ns)) - (kSubBits + 1);  // ns >> e is in [128, 256)
    const size_t idx = kSub * static_cast<size_t>(e) + static_cast<size_t>(ns >> e);
    return idx < kBuckets ? idx : kBuckets - 1;
  }
  // Highest value that maps to bucket `idx`.
  static uint64_t HighestEquivalent(size_t idx) {
    if (idx < kSub) return idx;
    const uint64_t e = idx / kSub - 1;
    const uint64_t m = idx - kSub * e;
    return ((m + 1) << e) - 1;
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t sum_ = 0;
};

}  // namespace tierbench
