#include "core/expiry_sweeper.h"

#include <algorithm>

#include <condition_variable>
#include <mutex>

namespace tiercache {

ExpirySweeper::ExpirySweeper(L1Store& store, Duration interval)
    : thread_([&store, interval](std::stop_token stop) {
        std::mutex mu;
        std::condition_variable_any cv;
        std::unique_lock lock(mu);
        // wait_for returns the predicate's value, false on timeout and on stop alike.
        size_t budget = kMaxBudgetPerShard;
        while (!cv.wait_for(lock, stop, interval, [&stop] { return stop.stop_requested(); })) {
          const uint64_t reclaimed = store.ReclaimExpired(budget);
          const uint64_t looked = budget * store.shard_count();
          if (reclaimed * 10 < looked) budget = std::max(kMinBudgetPerShard, budget / 2);
          if (reclaimed * 4 > looked) budget = std::min(kMaxBudgetPerShard, budget * 2);
        }
      }) {}

}  // namespace tiercache
