#pragma once

#include "core/clock.h"

namespace tiercache {

// Settings of the adaptive strategy (strategies.adaptive in YAML).
struct AdaptiveOptions {
  Duration base_timeout = std::chrono::seconds(300);  // lifetime of a key read about once
  Duration min_timeout = std::chrono::seconds(60);    // floor for keys that cool down
  Duration max_timeout = std::chrono::seconds(3600);  // ceiling for hot keys
};

// How "hot" a key is: a read count that halves every `half_life` without reads, so a key
// read often recently scores high and one read long ago decays toward zero.
double DecayedHeat(double heat, Duration since_last_read, Duration half_life);

// The lifetime an adaptive key gets after a read, given the heat of its earlier reads:
// base × log2(1 + heat), clamped to [min_timeout, max_timeout]. The store uses a
// half-life of base. A key's first read, or a read after a long idle (heat near 0), gives
// min_timeout; a key read about once per half-life (heat 1 to 2) lives about base; a key
// read 100 times recently lives about 6.7 × base, up to max_timeout. A new entry lives
// base until its first read.
Duration AdaptiveTimeout(double heat, Duration base, const AdaptiveOptions& options);

}  // namespace tiercache
