#pragma once

#include <thread>

#include "core/clock.h"
#include "core/l1_store.h"

namespace tiercache {

// Reclaims expired L1 entries that nothing touches, every `interval`, on a thread of its
// own, so that memory follows expiry even when the server is idle (lookups and writes
// reclaim what they meet; this takes the rest). Runs from construction to destruction.
class ExpirySweeper {
 public:
  // Entries looked at per shard and pass: from the most, halved after each pass that
  // found under a tenth of them expired and doubled after each that found over a quarter,
  // so that a cache with little expiring costs little to watch and one with much is
  // swept quickly. At most kMaxBudgetPerShard, so that one pass holds no shard lock long.
  static constexpr size_t kMinBudgetPerShard = 256;
  static constexpr size_t kMaxBudgetPerShard = 4096;

  ExpirySweeper(L1Store& store, Duration interval);
  ExpirySweeper(const ExpirySweeper&) = delete;
  ExpirySweeper& operator=(const ExpirySweeper&) = delete;

 private:
  std::jthread thread_;  // stops and joins on destruction
};

}  // namespace tiercache
