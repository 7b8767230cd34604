#pragma once

// Driving components that run threads on a FakeClock (core/clock.h) without sleeping: the
// test advances the clock, then waits until the components' threads have reacted and wait
// on the clock again. Every wait here is bounded in real time so that a broken component
// fails its test instead of hanging it.

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>

#include "core/clock.h"

namespace tiercache::test {

inline constexpr Duration kRealTimeBound = std::chrono::seconds(10);

// A flag one thread sets and others wait for. Declare it before the threads that use it
// (a scheduler), so that it outlives them.
class Flag {
 public:
  // Notifies under the lock: a waiter may destroy the flag as soon as its Wait returns.
  void Set() {
    std::lock_guard lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  bool is_set() {
    std::lock_guard lock(mu_);
    return set_;
  }
  // False if it is not set within `timeout` of real time.
  bool Wait(Duration timeout = kRealTimeBound) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// Advances `clock` for components whose `idle_waiters` threads all wait on it when they have
// nothing to do (a scheduler's timer and workers, a tier prober): once that many wait, every
// consequence of the clock's last move has played out.
class ClockDriver {
 public:
  ClockDriver(FakeClock& clock, size_t idle_waiters)
      : clock_(clock), idle_waiters_(idle_waiters) {}

  FakeClock& clock() { return clock_; }

  // Waits until the threads are idle.
  void Settle() { REQUIRE(clock_.AwaitWaiters(idle_waiters_)); }
  // Moves the clock by `d`, then waits until the threads are idle.
  void Advance(Duration d) {
    clock_.Advance(d);
    Settle();
  }
  // Moves the clock by `total`, `step` at a time, settling after each step.
  void AdvanceBy(Duration total, Duration step) {
    for (Duration moved{0}; moved < total; moved += step) Advance(step);
  }
  // Moves the clock `step` at a time, settling after each, until `done` holds; false if it
  // does not within `limit` of clock time. `done` may come true while the threads are busy
  // (a job that blocks, say): it is checked while waiting for them too.
  bool AdvanceUntil(const std::function<bool()>& done, Duration step,
                    Duration limit = std::chrono::seconds(10)) {
    const TimePoint end = clock_.Now() + limit;
    while (true) {
      if (!DoneOrIdle(done)) return false;
      if (done()) return true;
      if (clock_.Now() >= end) return false;
      clock_.Advance(step);
    }
  }

 private:
  bool DoneOrIdle(const std::function<bool()>& done) {
    const auto bound = std::chrono::steady_clock::now() + kRealTimeBound;
    while (!done()) {
      if (clock_.AwaitWaiters(idle_waiters_, std::chrono::milliseconds(1))) return true;
      if (std::chrono::steady_clock::now() > bound) return false;
    }
    return true;
  }

  FakeClock& clock_;
  const size_t idle_waiters_;
};

}  // namespace tiercache::test
