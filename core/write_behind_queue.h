#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/key_pattern.h"
#include "core/tier.h"
#include "core/tier_options.h"

namespace tiercache {

struct WriteBehindStats {
  uint64_t depth = 0;           // writes waiting now
  uint64_t enqueued = 0;        // writes accepted
  uint64_t coalesced = 0;       // writes that replaced a queued write of the same key
  uint64_t flushed = 0;         // writes the tier acknowledged
  uint64_t dropped = 0;         // writes lost to the overflow policy
  uint64_t failed_batches = 0;  // batches the tier refused (their writes are retried)
};

// The write-behind queue of one async tier: writes wait here and a flusher thread sends
// them to the tier in batches. A key waits at most once (a newer write replaces the queued
// one), so a hot key costs the tier one write per batch, not one per request. A batch the
// tier refuses is queued again in front and retried while the tier is usable.
//
// Invalidations must not be overtaken by older writes: the Cancel* methods drop queued
// writes they cover, and RunAfterInFlight delays the tier-side invalidation until a batch
// that may hold older writes of the same keys has landed.
class WriteBehindQueue {
 public:
  // `usable` tells whether the tier is worth a batch now (not marked down).
  WriteBehindQueue(Tier& tier, WriteBehindOptions options, std::function<bool()> usable);
  ~WriteBehindQueue();  // stops the flusher; what is still queued is lost: Drain first
  WriteBehindQueue(const WriteBehindQueue&) = delete;
  WriteBehindQueue& operator=(const WriteBehindQueue&) = delete;

  // Queues `write`; never blocks. When full, the overflow policy decides what is dropped.
  void Push(TierWrite write);

  void CancelKey(std::string_view key);
  void CancelTags(const std::vector<std::string>& tags);
  void CancelMatching(std::shared_ptr<const KeyPattern> pattern);
  void CancelAll();
  // Runs `apply` now if no batch is on its way to the tier, else right after it lands.
  void RunAfterInFlight(std::function<void()> apply);

  // Flushes until the queue is empty or `timeout` has passed, trying even a tier marked
  // down; returns the writes left unflushed.
  uint64_t Drain(Duration timeout);

  WriteBehindStats stats() const;

 private:
  struct Item {
    TierWrite write;
    TimePoint queued_at;
  };
  using List = std::list<Item>;

  void Run();
  void EraseLocked(List::iterator it);
  using Predicate = std::function<bool(const TierWrite&)>;
  void CancelIf(Predicate pred);
  // Sends one batch and waits for the tier's answer; true if it was applied.
  bool Flush(std::vector<Item>& batch);

  Tier& tier_;
  const WriteBehindOptions options_;
  const std::function<bool()> usable_;

  mutable std::mutex mu_;
  std::condition_variable wake_;   // the flusher: work arrived, or stop
  std::condition_variable idle_;   // Drain: queue empty and nothing in flight
  List queue_;
  std::unordered_map<std::string_view, List::iterator> by_key_;  // views into queue_ items
  bool in_flight_ = false;
  bool draining_ = false;
  bool stop_ = false;
  std::vector<std::function<void()>> after_flight_;
  // Cancellations made while a batch was in flight: if the batch fails, its writes are
  // queued again, except those these cover.
  std::vector<Predicate> flight_cancels_;
  WriteBehindStats stats_;

  std::thread flusher_;
};

}  // namespace tiercache
