#include "core/clock.h"

#include <algorithm>

namespace tiercache {
namespace {

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
};

}  // namespace

const Clock& Clock::System() {
  static const SystemClock clock;
  return clock;
}

// --- ClockCondition ------------------------------------------------------------------------

ClockCondition::ClockCondition(const Clock& clock)
    : clock_(clock), woken_by_clock_(clock.Attach(this)) {}

ClockCondition::~ClockCondition() { clock_.Detach(this); }

void ClockCondition::Block(std::unique_lock<std::mutex>& inner, Waiter& waiter) {
  waiters_.push_back(&waiter);
  if (woken_by_clock_) {
    clock_.Waiting();
    while (!waiter.woken && clock_.Now() < waiter.deadline) waiter.cv.wait(inner);
  } else if (waiter.deadline == TimePoint::max()) {
    while (!waiter.woken) waiter.cv.wait(inner);
  } else {
    while (!waiter.woken && std::chrono::steady_clock::now() < waiter.deadline) {
      waiter.cv.wait_until(inner, waiter.deadline);
    }
  }
  waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &waiter));
}

void ClockCondition::NotifyOne() {
  std::lock_guard lock(mu_);
  for (Waiter* waiter : waiters_) {
    if (waiter->woken) continue;
    waiter->woken = true;
    waiter->cv.notify_one();
    return;
  }
}

void ClockCondition::NotifyAll() {
  std::lock_guard lock(mu_);
  for (Waiter* waiter : waiters_) {
    waiter->woken = true;
    waiter->cv.notify_one();
  }
}

void ClockCondition::WakeExpired(TimePoint now) {
  std::lock_guard lock(mu_);
  for (Waiter* waiter : waiters_) {
    if (waiter->deadline <= now) waiter->cv.notify_one();
  }
}

size_t ClockCondition::Sleeping(TimePoint now) {
  std::lock_guard lock(mu_);
  return static_cast<size_t>(std::count_if(waiters_.begin(), waiters_.end(), [&](Waiter* w) {
    return !w->woken && w->deadline > now;
  }));
}

// --- FakeClock -----------------------------------------------------------------------------

FakeClock::FakeClock()
    : now_(TimePoint(std::chrono::hours(24))),
      wall_offset_ns_(std::chrono::nanoseconds(std::chrono::seconds(1'700'000'000) -
                                                std::chrono::hours(24))
                          .count()) {}

FakeClock::~FakeClock() = default;

WallTime FakeClock::WallNow() const {
  const auto ns = Now().time_since_epoch() +
                  std::chrono::nanoseconds(wall_offset_ns_.load(std::memory_order_acquire));
  return WallTime(std::chrono::duration_cast<WallTime::duration>(ns));
}

void FakeClock::Advance(Duration d) {
  TimePoint expected = now_.load();
  while (!now_.compare_exchange_weak(expected, expected + d)) {
  }
  // Each condition's mutex is taken after the move: a waiter that read the old time is
  // already blocked (it holds that mutex from its look at the clock until it blocks).
  std::lock_guard lock(mu_);
  const TimePoint now = Now();
  for (ClockCondition* condition : conditions_) condition->WakeExpired(now);
}

void FakeClock::JumpWall(Duration d) {
  wall_offset_ns_.fetch_add(d.count(), std::memory_order_acq_rel);
}

bool FakeClock::Attach(ClockCondition* condition) const {
  std::lock_guard lock(mu_);
  conditions_.push_back(condition);
  return true;
}

void FakeClock::Detach(ClockCondition* condition) const {
  std::lock_guard lock(mu_);
  conditions_.erase(std::find(conditions_.begin(), conditions_.end(), condition));
}

void FakeClock::Waiting() const {
  {
    std::lock_guard lock(waiters_mu_);
    ++waits_started_;
  }
  waiters_changed_.notify_all();
}

size_t FakeClock::SleepingWaiters() const {
  std::lock_guard lock(mu_);
  const TimePoint now = Now();
  size_t n = 0;
  for (ClockCondition* condition : conditions_) n += condition->Sleeping(now);
  return n;
}

bool FakeClock::AwaitWaiters(size_t n, Duration timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    uint64_t seen;
    {
      std::lock_guard lock(waiters_mu_);
      seen = waits_started_;
    }
    // Counted without waiters_mu_ (a waiter takes it under its condition's mutex, which
    // counting takes too); a wait that starts meanwhile moves waits_started_ past `seen`.
    if (SleepingWaiters() >= n) return true;
    std::unique_lock lock(waiters_mu_);
    if (!waiters_changed_.wait_until(lock, deadline, [&] { return waits_started_ != seen; })) {
      return false;
    }
  }
}

}  // namespace tiercache
