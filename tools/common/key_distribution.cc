#include "tools/common/key_distribution.h"

#include <algorithm>
#include <cmath>

namespace tierbench {

KeyDistribution::KeyDistribution(Distribution d, uint64_t keys, double zipf_s)
    : dist_(d), keys_(std::max<uint64_t>(keys, 1)) {
  if (dist_ != Distribution::kZipf) return;
  cdf_.resize(keys_);
  double sum = 0;
  for (uint64_t k = 0; k < keys_; ++k) {
    sum += 1.0 / std::pow(static_cast<double>(k + 1), zipf_s);
    cdf_[k] = sum;
  }
  for (auto& c : cdf_) c /= sum;
  cdf_.back() = 1.0;
}

uint64_t KeyDistribution::Pick(double u) const {
  if (dist_ == Distribution::kUniform) {
    const auto k = static_cast<uint64_t>(u * static_cast<double>(keys_));
    return k < keys_ ? k : keys_ - 1;
  }
  const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
  const auto k = static_cast<uint64_t>(it - cdf_.begin());
  return k < keys_ ? k : keys_ - 1;
}

}  // namespace tierbench
