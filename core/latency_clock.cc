#include "core/latency_clock.h"

#include <chrono>
#include <fstream>
#include <string>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

namespace tiercache {

namespace {

uint64_t SteadyNanos() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

struct Scale {
  bool tsc = false;
  double nanos_per_tick = 1.0;
};

#if defined(__x86_64__)
// The kernel trusts the counter only if it is synchronized across cores and constant.
bool KernelKeepsTimeWithTsc() {
  std::ifstream in("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string source;
  return static_cast<bool>(in >> source) && source == "tsc";
}

bool InvariantTsc() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0x80000007, &a, &b, &c, &d) == 0) return false;
  return (d & (1u << 8)) != 0;
}
#endif

Scale Calibrate() {
  Scale scale;
#if defined(__x86_64__)
  if (!InvariantTsc() || !KernelKeepsTimeWithTsc()) return scale;
  // Ticks per nanosecond over 5 ms: the reads' own jitter is then below 1e-5 of it.
  const uint64_t n0 = SteadyNanos();
  const uint64_t t0 = __rdtsc();
  uint64_t n1 = n0;
  while (n1 - n0 < 5'000'000) n1 = SteadyNanos();
  const uint64_t t1 = __rdtsc();
  if (t1 <= t0) return scale;
  scale.tsc = true;
  scale.nanos_per_tick = static_cast<double>(n1 - n0) / static_cast<double>(t1 - t0);
#endif
  return scale;
}

// Calibrated once, before main: the hot path reads a constant.
const Scale kScale = Calibrate();

}  // namespace

LatencyClock::Point LatencyClock::Now() {
#if defined(__x86_64__)
  if (kScale.tsc) return __rdtsc();
#endif
  return SteadyNanos();
}

Duration LatencyClock::Between(Point start, Point end) {
  if (end <= start) return Duration::zero();
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::nano>(
      static_cast<double>(end - start) * kScale.nanos_per_tick));
}

bool LatencyClock::UsesTsc() { return kScale.tsc; }

}  // namespace tiercache
