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
  MutexLock lock(mu_);
  std::vector<StatsSample> out;
  out.reserve(ring_.size());
  // Until the ring is full next_ stays 0, so this is the insertion order in both cases.
  for (size_t i = 0; i < ring_.size(); ++i) out.push_back(ring_[(next_ + i) % ring_.size()]);
  return out;
}

}  // namespace tiercache
