#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "core/status.h"

namespace tiercache::redis {

// The tier's thread for the walks over its keyspace (clear, pattern invalidation:
// redis_keyspace_walks.h) and for the periodic sweep. Unlike connection threads it may block
// waiting for replies, so each walk is a plain loop of round trips. Walks run one at a time,
// in order; the sweep runs between walks, every `sweep_interval` (sooner again after a
// failed one).
class Maintenance {
 public:
  using Walk = std::function<void(const std::atomic<bool>& stopping)>;
  using Abort = std::function<void(Status)>;
  // Returns whether the sweep could run (Redis reachable).
  using Sweep = std::function<bool(const std::atomic<bool>& stopping)>;

  Maintenance(Duration sweep_interval, Sweep sweep);
  ~Maintenance();
  Maintenance(const Maintenance&) = delete;
  Maintenance& operator=(const Maintenance&) = delete;

  // Runs `walk` on the thread, or `abort` with kUnavailable (here, or at Join) if it never
  // will. A running walk should stop early once `stopping` is set.
  void Post(Walk walk, Abort abort);
  // No further walk starts; the running one sees `stopping`.
  void Stop();
  // Stop(), then waits for the thread; walks that never ran are aborted.
  void Join();

 private:
  struct Pending {
    Walk walk;
    Abort abort;
  };
  void Run();

  const Duration sweep_interval_;
  const Sweep sweep_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> walks_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace tiercache::redis
