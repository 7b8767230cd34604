#include "core/histogram_quantile.h"

#include <algorithm>

namespace tiercache {

std::optional<double> HistogramQuantile(std::span<const double> upper_bounds,
                                        std::span<const uint64_t> counts, double q) {
  if (upper_bounds.empty() || counts.size() != upper_bounds.size() + 1) return std::nullopt;
  uint64_t total = 0;
  for (const uint64_t c : counts) total += c;
  if (total == 0) return std::nullopt;

  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  uint64_t below = 0;  // observations in the buckets before b
  for (size_t b = 0; b < upper_bounds.size(); ++b) {
    const uint64_t in_bucket = counts[b];
    if (in_bucket > 0 && static_cast<double>(below + in_bucket) >= rank) {
      const double lower = b == 0 ? 0.0 : upper_bounds[b - 1];
      const double fraction = (rank - static_cast<double>(below)) / static_cast<double>(in_bucket);
      return lower + (upper_bounds[b] - lower) * std::clamp(fraction, 0.0, 1.0);
    }
    below += in_bucket;
  }
  return upper_bounds.back();
}

}  // namespace tiercache
