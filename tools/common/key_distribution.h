#pragma once

#include <cstdint>
#include <vector>

namespace tierbench {

enum class Distribution { kUniform, kZipf };

// Which key a benchmark touches next: uniform over the key ranks, or Zipf (rank 0 the
// hottest). Built once, then read-only and shared by every thread.
class KeyDistribution {
 public:
  KeyDistribution(Distribution d, uint64_t keys, double zipf_s);
  // The key rank for `u`, uniform in [0, 1).
  uint64_t Pick(double u) const;
  uint64_t keys() const { return keys_; }

 private:
  Distribution dist_;
  uint64_t keys_;
  std::vector<double> cdf_;  // cumulative, Zipf only
};

}  // namespace tierbench
