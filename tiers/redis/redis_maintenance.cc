#include "tiers/redis/redis_maintenance.h"

#include <algorithm>
#include <chrono>

namespace tiercache::redis {

namespace {
// After a failed sweep (Redis down), try again this soon at most.
constexpr Duration kSweepRetry = std::chrono::seconds(1);
}  // namespace

Maintenance::Maintenance(Duration sweep_interval, Sweep sweep)
    : sweep_interval_(sweep_interval), sweep_(std::move(sweep)) {
  thread_ = std::thread([this] { Run(); });
}

Maintenance::~Maintenance() { Join(); }

void Maintenance::Post(Walk walk, Abort abort) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_.load()) {
      walks_.push_back({std::move(walk), std::move(abort)});
      cv_.notify_one();
      return;
    }
  }
  abort(Status::Unavailable("the tier is shutting down"));
}

void Maintenance::Stop() {
  std::lock_guard lock(mu_);
  stopping_.store(true);
  cv_.notify_one();
}

void Maintenance::Join() {
  Stop();
  if (thread_.joinable()) thread_.join();
  std::deque<Pending> never_ran;
  {
    std::lock_guard lock(mu_);
    never_ran.swap(walks_);
  }
  for (Pending& p : never_ran) p.abort(Status::Unavailable("the tier is shutting down"));
}

void Maintenance::Run() {
  // The first sweep at once: tag_index() is measured as soon as Redis answers.
  auto next_sweep = std::chrono::steady_clock::now();
  while (true) {
    Pending pending;
    bool sweep_due = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_sweep, [&] { return stopping_.load() || !walks_.empty(); });
      if (stopping_.load()) return;
      // A due sweep goes first, so that a stream of walks cannot starve it.
      sweep_due = std::chrono::steady_clock::now() >= next_sweep;
      if (!sweep_due) {
        pending = std::move(walks_.front());
        walks_.pop_front();
      }
    }
    if (!sweep_due) {
      pending.walk(stopping_);
      continue;
    }
    const bool swept = sweep_(stopping_);
    next_sweep = std::chrono::steady_clock::now() +
                 (swept ? sweep_interval_ : std::min(sweep_interval_, kSweepRetry));
  }
}

}  // namespace tiercache::redis
