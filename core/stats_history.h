#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/scheduler.h"
#include "core/thread_annotations.h"
#include "core/tiered_cache.h"

namespace tiercache {

// A lower tier's state when a sample was taken.
struct TierStateSample {
  std::string name;
  TierState state = TierState::kUp;
};

// What the server looked like over one sampling interval (about a second). Rates and the
// percentile are over that interval only; nullopt where it had nothing to measure (no
// GETs, no L1 lookups, /proc unreadable), so a chart shows a gap rather than a false zero.
struct StatsSample {
  WallTime time;                         // end of the interval, in whole milliseconds
  std::optional<double> hit_rate;        // GETs answered by any tier / GETs that hit or missed
  std::optional<double> l1_hit_rate;     // L1 lookups that found a live entry
  double requests_per_second = 0;        // every request of every front end
  std::optional<double> get_p99_seconds; // GET latency in the service, interpolated in its bucket
  uint64_t l1_bytes = 0;                 // at the end of the interval
  uint64_t l1_entries = 0;
  std::optional<uint64_t> resident_bytes;  // the process's resident memory
  std::vector<TierStateSample> tiers;      // lower tiers, in read order
};

// The last `capacity` samples in a fixed ring: adding to a full history drops the oldest.
// Memory is bounded by the capacity whatever the uptime. Thread-safe.
class StatsHistory {
 public:
  // 15 minutes of one-second samples.
  static constexpr size_t kDefaultCapacity = 900;

  explicit StatsHistory(size_t capacity = kDefaultCapacity);  // capacity 0 is taken as 1
  StatsHistory(const StatsHistory&) = delete;
  StatsHistory& operator=(const StatsHistory&) = delete;

  void Add(StatsSample sample) TC_EXCLUDES(mu_);
  // Every sample held, oldest first.
  std::vector<StatsSample> Snapshot() const TC_EXCLUDES(mu_);
  // The samples taken after `after`, oldest first, for pollers that already hold the rest.
  // All of them if `after` is later than the newest sample (the wall clock went back, or
  // `after` came from before a restart): a poller whose first new sample is no newer than
  // what it holds knows to start again from these.
  std::vector<StatsSample> Since(WallTime after) const TC_EXCLUDES(mu_);
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable Mutex mu_;
  std::vector<StatsSample> ring_ TC_GUARDED_BY(mu_);  // grows to capacity_, then wraps
  size_t next_ TC_GUARDED_BY(mu_) = 0;                // where the next sample goes once full
};

}  // namespace tiercache
