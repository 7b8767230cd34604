#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/instance_coherence.h"
#include "core/warming.h"
#include "core/l1_store.h"
#include "core/tiered_cache.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "core/model_rules.h"
#include "core/scheduler.h"
#include "core/status.h"
#include "core/strategy_options.h"

namespace tiercache {

struct SetRequest {
  std::string key;
  std::string value;
  std::optional<Duration> ttl;          // default: strategies.default_timeout
  std::vector<std::string> tags;
  std::optional<StrategyKind> strategy;  // default: strategies.default_strategy
  std::string content_type{};            // the value's media type; empty: none
};

// A model instance to invalidate by the configured rules (core/model_rules.h).
struct ModelInvalidation {
  std::string model;
  ModelEvent event = ModelEvent::kSave;
  ModelFields fields;  // "id" (the request's instance_id) and any other the templates use
};

// Any combination: every criterion is applied to every tier.
struct InvalidateRequest {
  std::vector<std::string> keys;
  std::vector<std::string> tags;
  std::optional<std::string> pattern;
  std::optional<ModelInvalidation> model;
};

// What one invalidation removed. The by_* counts are L1's, each entry counted once under
// the criterion that removed it first (keys, then tags, then pattern); `tiers` has the
// total per tier, L1 first. The same entry may be held by several tiers.
struct InvalidateResult {
  uint64_t by_keys = 0;
  uint64_t by_tags = 0;
  uint64_t by_pattern = 0;
  std::vector<TierRemoval> tiers;
  // The model rules applied, the requested model first; empty without a model.
  std::vector<std::string> models;
  // Entries invalidated: the most any one tier removed.
  uint64_t total() const;
};

// What a clear removed, per tier, L1 first.
struct ClearResult {
  std::vector<TierRemoval> tiers;
  uint64_t total() const;  // the most any one tier removed
};

// The requests of one operation since start, every front end together.
struct OperationSummary {
  uint64_t requests = 0;
  uint64_t hits = 0;    // Get only
  uint64_t misses = 0;  // Get only
  uint64_t errors = 0;  // answered with anything but ok, hit, miss or not found
  // Latency quantiles since start, seconds (estimated from the histogram buckets, as
  // Prometheus does); unset before any request.
  std::optional<double> p50, p90, p99;
};

struct ServiceStatus {
  std::string version;
  Duration uptime{0};
  L1Stats l1;
  std::vector<LowerTierStatus> lower_tiers;
  bool ready = true;  // every required tier is up
  Limits limits;
  std::optional<CoherenceStats> coherence;  // when the coherence channel is on
  std::vector<WarmSourceStatus> warming;     // configured warming sources
  std::vector<KeyGroupStats> key_groups;     // per key pattern, when monitoring is on
  bool monitoring = true;
  // Scheduled work, when the daemon has a scheduler: what is pending, and per kind of job
  // (invalidation, warming) what has run.
  std::vector<JobInfo> jobs;
  std::vector<JobKindStats> job_kinds;
  std::optional<uint64_t> resident_bytes;  // of the process, where /proc tells
  // The L1 tags with the most entries (at least 1,000), most first: fan-out of invalidations.
  std::vector<std::pair<std::string, uint64_t>> largest_tags;
  // The configuration the daemon runs with, secrets redacted, as JSON (opaque to core).
  std::shared_ptr<const std::string> config_json;
  OperationSummary gets, sets, deletes;      // all front ends, the daemon's own included
};

// The one entry point of the data path. Every front end (HTTP, gRPC) is a thin adapter
// that decodes a request, calls one of these methods and encodes the result; all
// validation against the limits and all request metrics are here, the cache logic is in
// TieredCache. Thread-safe.
//
// Each operation answers through `done`: at once, on the calling thread, when L1 alone
// decides it (an L1 hit, bad input, an L1-only server), otherwise later on a tier's
// thread. No call blocks on network I/O, so front-end I/O threads make them directly.
class CacheService {
 public:
  // Time comes from `cache`'s L1 clock: the service reads none of its own.
  CacheService(const Limits& limits, const StrategyOptions& strategies, TieredCache& cache,
               ModelRules model_rules = {});

  // kNotFound on a miss; kInvalidArgument / kTooLarge for a bad key.
  void Get(Frontend from, std::string_view key, Callback<Result<Hit>> done);
  void Set(Frontend from, SetRequest request, Callback<Status> done);
  // kNotFound if no tier held the key.
  void Delete(Frontend from, std::string_view key, Callback<Status> done);
  // Validates the whole request first: a bad key, tag or pattern, or a model without a rule
  // (kNotFound) or missing a field its templates need, changes nothing. A model's keys,
  // tags and patterns join the request's own (its patterns and the request's are matched
  // as one alternation).
  void Invalidate(Frontend from, const InvalidateRequest& request,
                  Callback<Result<InvalidateResult>> done);
  // What Set would refuse `request` with (for bulk loads checked whole before any write).
  Status ValidateSet(const SetRequest& request) const;
  // What Invalidate would refuse `request` with, without applying it (for work scheduled
  // to run later).
  Status ValidateInvalidate(const InvalidateRequest& request) const;
  void Clear(Frontend from, Callback<Result<ClearResult>> done);
  // Told of every change once the tiers have it (set, delete, invalidation, clear), for
  // the other instances (core/instance_coherence.h). Set before serving.
  using ChangePublisher = std::function<void(CoherenceMessage::Kind, std::vector<std::string>)>;
  void SetChangePublisher(ChangePublisher publish) { publish_change_ = std::move(publish); }
  // Where GetStatus reads the coherence channel's state from. Set before serving.
  void SetCoherenceStats(std::function<CoherenceStats()> stats) {
    coherence_stats_ = std::move(stats);
  }
  // Where GetStatus reads the warming sources' state from. Set before serving.
  void SetWarmingStatus(std::function<std::vector<WarmSourceStatus>()> status) {
    warming_status_ = std::move(status);
  }
  // Request metrics and per-pattern statistics (`monitoring.enabled`): on by default. Off,
  // requests are neither timed nor counted and key groups are not kept (the figures in
  // status and /metrics then stay at zero). Set before serving.
  void SetMonitoring(bool enabled) { monitoring_ = enabled; }
  // The effective configuration as JSON, secrets redacted, for status. Set before serving.
  void SetConfigJson(std::string json) {
    config_json_ = std::make_shared<const std::string>(std::move(json));
  }
  bool monitoring() const { return monitoring_; }
  // Where GetStatus and the metrics read scheduled work from. Set before serving.
  void SetScheduler(const Scheduler* scheduler) { scheduler_ = scheduler; }
  // False while a required lower tier is down.
  bool Ready() const { return cache_.RequiredTiersUp(); }
  ServiceStatus GetStatus(Frontend from);
  // Every metric family in Prometheus text format.
  std::string RenderMetrics() const;
  TieredCache& cache() { return cache_; }

  const Limits& limits() const { return limits_; }
  RequestMetrics& request_metrics() { return metrics_; }
  ConnectionMetrics& connection_metrics(Frontend f) {
    return connections_[static_cast<size_t>(f)];
  }

 private:
  Status ValidateKey(std::string_view key) const;
  Status ValidateTags(const std::vector<std::string>& tags) const;
  // Expands the model into `request` and compiles every pattern into `pattern`.
  Status PrepareInvalidate(InvalidateRequest& request, std::vector<std::string>& models,
                           std::shared_ptr<const KeyPattern>& pattern) const;
  void Record(Frontend from, Operation op, Outcome outcome, TimePoint started);
  // When a request started, for its latency; no clock read with monitoring off.
  TimePoint Started() const {
    return monitoring_ ? std::chrono::steady_clock::now() : TimePoint();
  }
  KeyStats* key_stats() const;  // null with monitoring off
  OperationSummary Summary(Operation op) const;
  void RecordRead(KeyStats& stats, uint16_t group, std::string_view key, bool hit);
  void Publish(CoherenceMessage::Kind kind, std::vector<std::string> items);

  const Limits limits_;
  const StrategyOptions strategies_;
  TieredCache& cache_;
  const ModelRules model_rules_;
  ChangePublisher publish_change_;
  std::function<CoherenceStats()> coherence_stats_;
  std::function<std::vector<WarmSourceStatus>()> warming_status_;
  const Scheduler* scheduler_ = nullptr;
  const TimePoint started_;
  bool monitoring_ = true;
  std::shared_ptr<const std::string> config_json_;
  RequestMetrics metrics_;
  std::array<ConnectionMetrics, kFrontendCount> connections_;
};

}  // namespace tiercache
