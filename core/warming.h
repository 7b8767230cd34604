#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/coherence_bus.h"
#include "core/instance_coherence.h"
#include "core/scheduler.h"
#include "core/status.h"
#include "core/tiered_cache.h"
#include "core/warm_source.h"

namespace tiercache {

// How, when and where one source warms the cache.
struct WarmSourceOptions {
  std::string name;
  Duration interval{0};  // 0: only at start (on_start) and on demand
  bool on_start = false;
  uint64_t max_keys_per_second = 0;  // 0: no bound
  unsigned max_in_flight = 1024;     // writes to the tiers in flight at once
  // The tiers it fills, by name ("L1", "L2", ...); empty: every tier. A key written past L1
  // is removed from L1, so L1 never keeps an older value than the tiers below it.
  std::vector<std::string> tiers{};
  Duration default_ttl = std::chrono::minutes(5);  // entries without a ttl of their own
};

// One run of a source.
struct WarmRun {
  WallTime started{};
  Duration duration{0};  // so far, while running
  uint64_t attempted = 0;
  uint64_t written = 0;
  uint64_t failures = 0;
  std::string error;  // why the run failed, or the last item's failure
  bool running = false;
  bool ok = true;     // finished without a run-level error
};

struct WarmSourceStatus {
  std::string name;
  std::string kind;
  Duration interval{0};
  uint64_t runs = 0;         // finished runs
  uint64_t failed_runs = 0;  // runs that ended with an error
  uint64_t attempted = 0;    // over all runs
  uint64_t written = 0;
  uint64_t failures = 0;
  std::optional<WarmRun> last;  // the run going on, else the last one
  std::optional<WallTime> next_run;
  // Items written of items attempted, over all runs (1 before any).
  double success_rate() const {
    return attempted == 0 ? 1.0 : static_cast<double>(written) / static_cast<double>(attempted);
  }
};

// Runs warming sources: at start, on their interval (on the scheduler) and on demand.
// A source's run never overlaps itself, and at most `max_concurrent_runs` sources run at
// once (a run that finds no free slot is tried again a second later), so warming leaves
// the scheduler's other workers, and the serving threads, to their work. Entries are
// written through the TieredCache like any write, within the source's rate and in-flight
// bounds, and told to other instances through the publisher in batches. Its waits (pacing,
// the pauses while yielding) and times (run starts and durations, due times) are on `clock`.
class WarmingEngine {
 public:
  // `clock` must outlive the engine; the scheduler should run on the same clock.
  // `publisher` (null: one instance) is told what the runs wrote.
  WarmingEngine(TieredCache& cache, Scheduler& scheduler, unsigned max_concurrent_runs,
                const Clock& clock, ChangePublisher* publisher = nullptr);
  ~WarmingEngine();  // stops every run (they end at their next Put)

  // While the front ends serve at least `busy_requests_per_second` (as counted by
  // `requests_served`, a running total), a run keeps one batch in flight and pauses after
  // each so that it spends about `busy_share` of its time writing: serving traffic keeps
  // its latency and the warm goes on at a lower rate. Without it, or with a rate of 0 or a
  // share of 1, runs never yield. Before Start.
  void YieldToServing(std::function<uint64_t()> requests_served,
                      uint64_t busy_requests_per_second, double busy_share) {
    requests_served_ = std::move(requests_served);
    busy_requests_per_second_ = busy_requests_per_second;
    busy_share_ = busy_share;
  }
  // kInvalidArgument for a duplicate name or an unknown tier name. Before Start.
  Status Add(WarmSourceOptions options, std::unique_ptr<WarmSource> source);
  // Schedules the on_start runs and the periodic ones.
  void Start();
  // Starts a run of `name` now, in the background. kNotFound for an unknown source;
  // kUnavailable if it is running already.
  Status RunNow(std::string_view name);
  std::vector<WarmSourceStatus> Sources() const;
  // Runs going on end at their next Put (a run waiting for its rate bound or pausing for
  // serving traffic at once), and no new run starts.
  void Stop();
  bool empty() const { return sources_.empty(); }

  static constexpr std::string_view kKind = "warming";

 private:
  struct Source;
  class Sink;

  void Run(Source& source);
  uint32_t TierMask(const std::vector<std::string>& names, Status& error) const;

  TieredCache& cache_;
  Scheduler& scheduler_;
  const unsigned max_concurrent_runs_;
  const Clock& clock_;
  ChangePublisher* const publisher_;
  std::vector<std::unique_ptr<Source>> sources_;
  mutable std::mutex mu_;
  unsigned running_ = 0;  // guarded by mu_
  std::atomic<bool> stopping_{false};  // set under wake_mu_
  std::mutex wake_mu_;
  ClockCondition wake_;  // stopping_, for runs that wait
  std::function<uint64_t()> requests_served_;
  uint64_t busy_requests_per_second_ = 0;
  double busy_share_ = 1.0;
};

}  // namespace tiercache
