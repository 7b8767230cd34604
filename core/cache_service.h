#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/latency_clock.h"
#include "core/instance_coherence.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "core/model_rules.h"
#include "core/scheduled_invalidations.h"
#include "core/scheduler.h"
#include "core/service.h"
#include "core/stats_history.h"
#include "core/status.h"
#include "core/strategy_options.h"
#include "core/tiered_cache.h"
#include "core/warming.h"

namespace tiercache {

// How the service treats requests.
struct ServiceOptions {
  Limits limits;
  StrategyOptions strategies;
  ModelRules model_rules;
  // Request metrics and per-pattern statistics (`monitoring.enabled`). Off, requests are
  // neither timed nor counted and key groups are not kept (status and /metrics then show
  // zeros).
  bool monitoring = true;
  // The effective configuration as JSON, secrets redacted, shown in status as it is;
  // empty: none.
  std::string config_json;
  std::vector<NamespaceConfig> namespaces;  // `namespaces:`
};

// What the service works with besides the cache. Each may be null: the feature is then
// off (no scheduled work, no warming sources, one instance, no dashboard history). Every
// one must outlive the service, and whatever calls back into the service from a thread of
// its own (scheduler jobs, warming runs, the coherence bus) must be stopped before it goes.
struct ServiceParts {
  Scheduler* scheduler = nullptr;
  JobStore* job_store = nullptr;  // where scheduled invalidations persist; needs a scheduler
  WarmingEngine* warming = nullptr;
  InstanceCoherence* coherence = nullptr;  // told of every change, and shown in status
  const StatsHistory* history = nullptr;
};

// The one implementation of the front ends' seam (core/service.h): validation against the
// limits, strategy choice and request metrics here, the cache logic in TieredCache.
// Thread-safe.
class CacheService final : public Service {
 public:
  // Time comes from `cache`'s L1 clock: the service reads none of its own.
  CacheService(ServiceOptions options, TieredCache& cache, ServiceParts parts = {});
  // The service over a cache alone, as tests of the data path want it.
  CacheService(const Limits& limits, const StrategyOptions& strategies, TieredCache& cache,
               ModelRules model_rules = {});

  void Get(Frontend from, std::string_view key, Callback<Result<Hit>> done) override;
  std::optional<Result<Hit>> GetOrDefer(Frontend from, std::string_view key,
                                        const DeferGet& defer) override;
  std::optional<Status> SetOrDefer(Frontend from, SetRequest request,
                                   const DeferStatus& defer) override;
  void Set(Frontend from, SetRequest request, Callback<Status> done) override;
  void Delete(Frontend from, std::string_view key, Callback<Status> done) override;
  void Update(Frontend from, std::string key, UpdateFn decide, Callback<Status> done) override;
  void Increment(Frontend from, std::string key, int64_t delta,
                 Callback<Result<int64_t>> done) override;
  KeyPage ScanKeys(size_t shard,
                   const std::function<bool(std::string_view)>& match) const override;
  std::optional<std::string> AnyKey(uint64_t seed) const override;
  void Invalidate(Frontend from, const InvalidateRequest& request,
                  Callback<Result<InvalidateResult>> done) override;
  void Clear(Frontend from, Callback<Result<ClearResult>> done) override;
  void BulkLoad(Frontend from, std::vector<SetRequest> entries,
                Callback<Result<uint64_t>> done) override;

  Result<std::string> NamespacedKey(std::string_view ns, std::string_view key) const override;
  void BumpNamespace(Frontend from, std::string_view ns,
                     Callback<Result<NamespaceStatus>> done) override;
  std::vector<NamespaceStatus> ListNamespaces() const override { return namespaces_.Status(); }

  void ScheduleInvalidation(Frontend from, double delay_seconds, InvalidateRequest request,
                            Callback<Result<ScheduledJob>> done) override;
  std::vector<JobInfo> ListJobs() const override;
  Status CancelJob(std::string_view id) override;
  Status StartWarm(std::string_view name) override;

  ServiceStatus GetStatus(Frontend from) override;
  MetricsSnapshot Metrics() const override;
  HistorySnapshot History(std::optional<WallTime> since) const override;
  bool Ready() const override { return cache_.RequiredTiersUp(); }
  ConnectionMetrics& Connections(Frontend frontend) override {
    return connections_[frontend.index()];
  }

  // What Set would refuse `request` with.
  Status ValidateSet(const SetRequest& request) const;
  Status ValidateAdaptiveBounds(const SetRequest& request) const;
  // What Invalidate would refuse `request` with, without applying it.
  Status ValidateInvalidate(const InvalidateRequest& request) const;
  // Schedules again the invalidations the job store holds (those that fell due meanwhile
  // run at once); blocks for at most `timeout`. Once, at start. The jobs restored.
  Result<size_t> RestoreScheduledInvalidations(Duration timeout);

  // What the start restored of the hot set, for status.
  void SetHotSetReport(HotSetReport report);
  // Reads every namespace's version from the tier that keeps them (writing the configured
  // one there if it is newer) and moves each namespace up to it; blocks for at most
  // `timeout`. At start, before serving, and again when the coherence channel is back
  // after a break (a bump may have gone unheard). Without such a tier, nothing to read.
  Status LoadNamespaceVersions(Duration timeout);
  // A version another instance moved a namespace to (a kNamespace coherence message).
  void ApplyRemoteNamespaceVersion(const CoherenceMessage& message);
  // Moves namespaces up to `versions` (the hot set snapshot's), by name.
  void RaiseNamespaceVersions(const std::vector<std::pair<std::string, uint64_t>>& versions);
  Namespaces& namespaces() { return namespaces_; }

  bool monitoring() const { return options_.monitoring; }
  const Limits& limits() const override { return options_.limits; }
  // Where status and metrics read the caching proxy's route figures from; set once, before
  // the front ends start.
  void SetProxyStats(std::function<std::vector<ProxyRouteStats>()> source) {
    proxy_stats_ = std::move(source);
  }
  // How an invalidation's urls and url_prefixes become the proxy's tags and patterns
  // (ResponseCache::ResolvePurge); set once, before the front ends start.
  void SetProxyPurge(std::function<void(InvalidateRequest&)> resolve) {
    proxy_purge_ = std::move(resolve);
  }
  const RequestMetrics& request_metrics() const { return metrics_; }
  TieredCache& cache() { return cache_; }
  const TieredCache& cache() const { return cache_; }

 private:
  Status ValidateKey(std::string_view key) const;
  Status ValidateTags(const std::vector<std::string>& tags) const;
  // Expands the model into `request`, puts the keys of the request's namespace as stored,
  // and compiles every pattern into `patterns` (a model's, in every namespace too).
  Status PrepareInvalidate(InvalidateRequest& request, std::vector<std::string>& models,
                           std::vector<std::shared_ptr<const KeyPattern>>& patterns) const;
  // Invalidates patterns[next], then the ones after it, through every tier; then `finish`.
  void InvalidatePatterns(
      std::shared_ptr<const std::vector<std::shared_ptr<const KeyPattern>>> patterns,
      size_t next, std::shared_ptr<InvalidateResult> result, std::function<void()> finish);
  // No lower tier and no other instance to tell (a coherence bus publishes every write,
  // and caps L1 lifetimes while it is down): L1 alone decides a write, at once.
  bool L1Alone() const { return !cache_.has_lower_tiers() && parts_.coherence == nullptr; }
  // Update otherwise: a read through the tiers, then a write or delete.
  void UpdateThroughTiers(Frontend from, std::string key, UpdateFn decide,
                          LatencyClock::Point started, Callback<Status> done);
  // The change `decide` made to `current`, checked as Set checks a request, as a write.
  Result<TieredWrite> ChangeToWrite(std::string key, const StoredEntry* current,
                                    EntryChange change) const;
  void Record(Frontend from, Operation op, Outcome outcome, LatencyClock::Point started);
  // When a request started, for its latency; no clock read with monitoring off.
  LatencyClock::Point Started() const {
    return options_.monitoring ? LatencyClock::Now() : LatencyClock::Point{0};
  }
  KeyStats* key_stats() const;  // null with monitoring off
  OperationSummary Summary(Operation op) const;
  void RecordRead(KeyStats& stats, uint16_t group, std::string_view key, bool hit);
  // Counts a read's answer and hands it over.
  // Counts an answered Get: its request metrics, key pattern and namespace reads.
  void CountGet(Frontend from, LatencyClock::Point started, KeyStats* stats, uint16_t group,
                std::string_view key, const Result<Hit>& hit);
  void Publish(CoherenceMessage::Kind kind, std::vector<std::string> items);

  const ServiceOptions options_;
  TieredCache& cache_;
  const ServiceParts parts_;
  std::function<std::vector<ProxyRouteStats>()> proxy_stats_;  // set before serving
  std::function<void(InvalidateRequest&)> proxy_purge_;        // likewise
  // Turns a request's urls and url_prefixes into tags and a pattern (see SetProxyPurge).
  Status ResolveProxyUrls(InvalidateRequest& request) const;
  const std::shared_ptr<const std::string> config_json_;
  const TimePoint started_;
  RequestMetrics metrics_;
  std::array<ConnectionMetrics, Frontend::kMax> connections_;
  // With a scheduler: runs invalidations later, through this service.
  std::optional<ScheduledInvalidations> scheduled_;
  Namespaces namespaces_;
  mutable Mutex hot_set_mu_;
  std::optional<HotSetReport> hot_set_ TC_GUARDED_BY(hot_set_mu_);
};

}  // namespace tiercache
