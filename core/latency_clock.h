#pragma once

#include <cstdint>

#include "core/clock.h"

namespace tiercache {

// The clock request latencies are measured with: every request on every front end reads it
// twice. Where the CPU's time-stamp counter is invariant and the kernel keeps time with it
// (x86-64 Linux, "tsc" clocksource), a read is the counter itself, about 10 ns against 25 for
// steady_clock on a virtual machine; elsewhere it is steady_clock. Points are opaque: only
// the Duration between two of them means anything.
class LatencyClock {
 public:
  using Point = uint64_t;
  static Point Now();
  // Zero if `end` is not after `start` (two cores' counters a few ticks apart).
  static Duration Between(Point start, Point end);
  // Whether Now() reads the time-stamp counter.
  static bool UsesTsc();
};

}  // namespace tiercache
