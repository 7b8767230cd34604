#include "core/expiry_sweeper.h"

#include <condition_variable>
#include <mutex>

namespace tiercache {

ExpirySweeper::ExpirySweeper(L1Store& store, Duration interval)
    : thread_([&store, interval](std::stop_token stop) {
        std::mutex mu;
        std::condition_variable_any cv;
        std::unique_lock lock(mu);
        // wait_for returns the predicate's value, false on timeout and on stop alike.
        while (!cv.wait_for(lock, stop, interval, [&stop] { return stop.stop_requested(); })) {
          store.ReclaimExpired(kBudgetPerShard);
        }
      }) {}

}  // namespace tiercache
