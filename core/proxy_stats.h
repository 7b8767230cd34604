#pragma once

#include <cstdint>
#include <string>

#include "core/metrics.h"

namespace tiercache {

// One route's traffic since start.
struct ProxyRouteStats {
  std::string name;
  uint64_t requests = 0;
  uint64_t hits = 0;          // served fresh from the cache (304s to validators included)
  uint64_t misses = 0;        // fetched from the origin for the cache
  uint64_t stale = 0;         // served stale (while revalidating, or while the origin fails)
  uint64_t revalidated = 0;   // a stale entry the origin confirmed (304)
  uint64_t bypass = 0;        // passed through: bypass / only_if, unsafe methods, ranges
  uint64_t collapsed = 0;     // answered by another request's origin fetch
  uint64_t stored = 0;        // responses written to the cache
  uint64_t not_stored = 0;    // fetched responses the cache may not keep
  uint64_t origin_requests = 0;
  uint64_t origin_errors = 0;  // unreachable, timed out, malformed, or a 5xx
  LatencyHistogram::Counts origin_latency;
};

}  // namespace tiercache
