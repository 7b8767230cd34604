#pragma once

#include <atomic>
#include <chrono>

namespace tiercache {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

// Monotonic time, injected everywhere TTL, adaptive or scheduling logic needs "now", so
// tests advance a FakeClock instead of sleeping. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;

  // The process-wide steady clock.
  static const Clock& System();
};

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  FakeClock() : now_(TimePoint(std::chrono::hours(24))) {}
  TimePoint Now() const override { return now_.load(std::memory_order_acquire); }
  void Advance(Duration d) {
    TimePoint expected = now_.load();
    while (!now_.compare_exchange_weak(expected, expected + d)) {
    }
  }

 private:
  std::atomic<TimePoint> now_;
};

inline Duration Seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace tiercache
