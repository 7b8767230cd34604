#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "core/thread_annotations.h"

namespace tiercache {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

// Milliseconds since the Unix epoch, as the APIs and the job store give times.
inline int64_t UnixMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

class ClockCondition;

// Time, injected everywhere TTL, adaptive, health or scheduling logic needs "now" or has to
// wait, so tests advance a FakeClock instead of sleeping (as leveldb's Env does). Two
// readings: Now() is monotonic, for intervals and deadlines; WallNow() is calendar time, for
// due times that persist and times people read, and may jump when the system time is set.
// Waits that a clock must be able to end go through a ClockCondition made on it.
//
// Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  virtual WallTime WallNow() const = 0;

  // steady_clock and system_clock.
  static const Clock& System();

 private:
  friend class ClockCondition;
  // A ClockCondition on this clock is made or destroyed. Attach returns whether the clock
  // ends its conditions' timed waits itself (a FakeClock does, on Advance); otherwise they
  // time out on steady_clock, which Now() must then be.
  virtual bool Attach(ClockCondition*) const { return false; }
  virtual void Detach(ClockCondition*) const {}
  // A thread started waiting on one of this clock's conditions.
  virtual void Waiting() const {}
};

// A condition variable whose timed waits follow a Clock: on Clock::System() it is a plain
// condition variable; on a FakeClock a wait ends when Advance reaches its deadline, and
// never by the passing of real time.
//
// As with any condition variable, the waiter checks its state under its own lock before
// waiting, and the notifier changes that state under the same lock before notifying; then
// no notification is lost. Thread-safe. The clock must outlive the condition.
class ClockCondition {
 public:
  explicit ClockCondition(const Clock& clock);
  ~ClockCondition();
  ClockCondition(const ClockCondition&) = delete;
  ClockCondition& operator=(const ClockCondition&) = delete;

  // REQUIRES: `lock` (a Mutex, or anything with lock() and unlock()) is held. Releases it,
  // blocks until notified or until the clock reads `deadline` (at once if it does already),
  // and holds it again on return.
  void WaitUntil(Mutex& mu, TimePoint deadline) TC_REQUIRES(mu);
  template <class Lock>
  void WaitUntil(Lock& lock, TimePoint deadline);
  // Waits until `done()` holds (checked with `lock` held) or the clock reads `deadline`;
  // returns done().
  template <class Lock, class Predicate>
  bool WaitUntil(Lock& lock, TimePoint deadline, Predicate done);
  // Without a deadline: until notified.
  void Wait(Mutex& mu) TC_REQUIRES(mu) { WaitUntil(mu, TimePoint::max()); }
  template <class Lock>
  void Wait(Lock& lock) {
    WaitUntil(lock, TimePoint::max());
  }

  // Wakes the longest-waiting thread, if any.
  void NotifyOne();
  void NotifyAll();

 private:
  friend class FakeClock;
  struct Waiter;

  // With mu_ held: blocks until `waiter` is woken or its deadline is reached.
  void Block(std::unique_lock<std::mutex>& inner, Waiter& waiter);
  // For FakeClock: wakes the waiters whose deadline `now` reached; counts the others.
  void WakeExpired(TimePoint now);
  size_t Sleeping(TimePoint now);

  const Clock& clock_;
  const bool woken_by_clock_;
  std::mutex mu_;                  // inside the caller's lock: caller's lock, then mu_
  std::vector<Waiter*> waiters_;   // guarded by mu_, longest waiting first
};

// A clock that moves only when told to; it starts at a fixed wall time (2023-11-14).
//
// Advance wakes every wait on a ClockCondition of this clock whose deadline it reaches, so
// a test advances time and then sees what came due happen, without sleeping. AwaitWaiters
// lets it know when the threads it drives have done so and are waiting again.
// Thread-safe. It must outlive the conditions made on it (and the components using it).
class FakeClock final : public Clock {
 public:
  FakeClock();
  ~FakeClock() override;

  TimePoint Now() const override { return now_.load(std::memory_order_acquire); }
  WallTime WallNow() const override;

  // Moves both clocks forward by `d` (>= 0).
  void Advance(Duration d);
  // Sets the wall clock `d` forward or back, leaving the monotonic clock alone, as a person
  // or NTP setting the time would: it wakes nothing.
  void JumpWall(Duration d);

  // Blocks until at least `n` threads wait on this clock's conditions, neither notified nor
  // at their deadline: they have reacted to everything that happened and are idle. False if
  // that takes longer than `timeout` of real time.
  bool AwaitWaiters(size_t n, Duration timeout = std::chrono::seconds(10)) const;

 private:
  bool Attach(ClockCondition* condition) const override;
  void Detach(ClockCondition* condition) const override;
  void Waiting() const override;
  size_t SleepingWaiters() const;

  std::atomic<TimePoint> now_;
  std::atomic<int64_t> wall_offset_ns_;  // wall time minus monotonic time

  // Lock order: mu_, then each condition's own mutex; waiters_mu_ is taken alone.
  mutable std::mutex mu_;
  mutable std::vector<ClockCondition*> conditions_;  // guarded by mu_
  mutable std::mutex waiters_mu_;
  mutable std::condition_variable waiters_changed_;
  mutable uint64_t waits_started_ = 0;  // guarded by waiters_mu_
};

inline Duration Seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// --- ClockCondition's templates ----------------------------------------------------------

struct ClockCondition::Waiter {
  TimePoint deadline;
  bool woken = false;
  std::condition_variable cv;
};

template <class Lock>
void ClockCondition::WaitUntil(Lock& lock, TimePoint deadline) {
  std::unique_lock inner(mu_);
  if (clock_.Now() >= deadline) return;
  Waiter waiter;
  waiter.deadline = deadline;
  lock.unlock();  // after taking mu_: a notifier, who needs `lock` first, cannot slip by
  Block(inner, waiter);
  inner.unlock();
  lock.lock();
}

inline void ClockCondition::WaitUntil(Mutex& mu, TimePoint deadline) {
  struct Adapter {
    Mutex& mu;
    void lock() TC_NO_THREAD_SAFETY_ANALYSIS { mu.Lock(); }
    void unlock() TC_NO_THREAD_SAFETY_ANALYSIS { mu.Unlock(); }
  } adapter{mu};
  WaitUntil(adapter, deadline);
}

template <class Lock, class Predicate>
bool ClockCondition::WaitUntil(Lock& lock, TimePoint deadline, Predicate done) {
  while (!done()) {
    if (clock_.Now() >= deadline) return done();
    WaitUntil(lock, deadline);
  }
  return true;
}

}  // namespace tiercache
