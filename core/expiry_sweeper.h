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
  // Entries reclaimed per shard and pass at most, so that one pass holds no shard lock
  // for long.
  static constexpr size_t kBudgetPerShard = 4096;

  ExpirySweeper(L1Store& store, Duration interval);
  ExpirySweeper(const ExpirySweeper&) = delete;
  ExpirySweeper& operator=(const ExpirySweeper&) = delete;

 private:
  std::jthread thread_;  // stops and joins on destruction
};

}  // namespace tiercache
