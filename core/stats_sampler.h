#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "core/cache_service.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/stats_history.h"
#include "core/status.h"
#include "core/thread_annotations.h"

namespace tiercache {

struct StatsSamplerOptions {
  Duration interval = std::chrono::seconds(1);  // between samples on the sampler's thread
  // Time stamps of the samples; empty means system_clock::now.
  std::function<WallTime()> wall_clock;
  // The process's resident memory; empty means ResidentBytes() (core/process_memory.h).
  std::function<Result<uint64_t>()> resident_bytes;
};

// Turns the service's cumulative counters into one StatsSample per interval (rates and the
// GET p99 over that interval, from counter and histogram-bucket deltas) and adds it to a
// StatsHistory, for the dashboard.
//
// Tick() takes one sample now; Start() calls it every `interval` on a thread of its own
// until Stop(). Its own thread rather than a Scheduler job: a job would show in GET
// /v1/jobs and tierctl, and could wait behind warming runs on the scheduler's few
// workers, which would blur the per-second figures. Thread-safe.
class StatsSampler {
 public:
  // Reads the counters now, so the first Tick covers the time since construction.
  // `clock` measures the intervals; it must outlive the sampler, as must the others.
  StatsSampler(CacheService& service, StatsHistory& history, const Clock& clock,
               StatsSamplerOptions options = {});
  ~StatsSampler();  // Stop()
  StatsSampler(const StatsSampler&) = delete;
  StatsSampler& operator=(const StatsSampler&) = delete;

  // Samples the interval since the previous Tick (or construction) and adds it to the
  // history.
  void Tick() TC_EXCLUDES(mu_);

  // Starts the sampling thread. Call at most once.
  void Start();
  // Stops the thread, waiting for a sample in progress. Idempotent.
  void Stop();

 private:
  // Cumulative counters at one moment.
  struct Counters {
    TimePoint at;
    uint64_t requests = 0;
    uint64_t get_hits = 0;
    uint64_t get_misses = 0;
    uint64_t l1_hits = 0;
    uint64_t l1_misses = 0;
    std::array<uint64_t, RequestMetrics::kBuckets.size() + 1> get_latency{};
  };

  Counters Read() const;

  CacheService& service_;
  StatsHistory& history_;
  const Clock& clock_;
  const StatsSamplerOptions options_;

  Mutex mu_;
  Counters previous_ TC_GUARDED_BY(mu_);

  std::mutex stop_mu_;  // serializes Stop calls around the join
  std::jthread thread_;
};

}  // namespace tiercache
