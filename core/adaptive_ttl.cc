#include "core/adaptive_ttl.h"

#include <algorithm>
#include <cmath>

namespace tiercache {

double DecayedHeat(double heat, Duration since_last_read, Duration half_life) {
  if (half_life <= Duration::zero() || since_last_read <= Duration::zero()) return heat;
  return heat * std::exp2(-ToSeconds(since_last_read) / ToSeconds(half_life));
}

Duration AdaptiveTimeout(double heat, Duration base, const AdaptiveOptions& options) {
  const double seconds = ToSeconds(base) * std::log2(1.0 + std::max(heat, 0.0));
  const Duration timeout = Seconds(seconds);
  return std::clamp(timeout, options.min_timeout, options.max_timeout);
}

}  // namespace tiercache
