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

// The tier's thread for work that walks the keyspace (clear, pattern invalidation) and for
// the periodic sweep. Unlike connection threads it may block waiting for replies, so each
// job is a plain loop of round trips. Jobs run one at a time, in order; the sweep runs
// between jobs, every `sweep_interval` (sooner again after a failed one).
class Maintenance {
 public:
  using Job = std::function<void(const std::atomic<bool>& stopping)>;
  using Abort = std::function<void(Status)>;
  // Returns whether the sweep could run (Redis reachable).
  using Sweep = std::function<bool(const std::atomic<bool>& stopping)>;

  Maintenance(Duration sweep_interval, Sweep sweep);
  ~Maintenance();
  Maintenance(const Maintenance&) = delete;
  Maintenance& operator=(const Maintenance&) = delete;

  // Runs `job` on the thread, or `abort` with kUnavailable (here, or at Join) if it never
  // will. A running job should stop early once `stopping` is set.
  void Post(Job job, Abort abort);
  // No further job starts; the running one sees `stopping`.
  void Stop();
  // Stop(), then waits for the thread; jobs that never ran are aborted.
  void Join();

 private:
  struct Pending {
    Job job;
    Abort abort;
  };
  void Run();

  const Duration sweep_interval_;
  const Sweep sweep_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> jobs_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace tiercache::redis
