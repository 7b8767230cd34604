#include "core/stats_history.h"

#include <algorithm>
#include <utility>

namespace tiercache {

StatsHistory::StatsHistory(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

void StatsHistory::Add(StatsSample sample) {
  MutexLock lock(mu_);
  if (ring_.size() < capacity_) {
    // Grown on demand, so a daemon that just started holds only what it sampled.
    ring_.push_back(std::move(sample));
    return;
  }
  ring_[next_] = std::move(sample);
  next_ = (next_ + 1) % capacity_;
}

std::vector<StatsSample> StatsHistory::Snapshot() const {
  return Since(WallTime::min());
}

std::vector<StatsSample> StatsHistory::Since(WallTime after) const {
  MutexLock lock(mu_);
  // Until the ring is full next_ stays 0, so position i is the i-th oldest in both cases.
  const auto at = [this](size_t i) TC_REQUIRES(mu_) -> const StatsSample& {
    return ring_[(next_ + i) % ring_.size()];
  };
  size_t first = ring_.size();
  // Walked from the newest: a poller asks for the last second or two, not the whole ring.
  while (first > 0 && at(first - 1).time > after) --first;
  if (first == ring_.size() && !ring_.empty() && at(ring_.size() - 1).time < after) first = 0;
  std::vector<StatsSample> out;
  out.reserve(ring_.size() - first);
  for (size_t i = first; i < ring_.size(); ++i) out.push_back(at(i));
  return out;
}

}  // namespace tiercache
