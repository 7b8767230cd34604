#include "core/cache_service.h"

#include <cmath>

#include "core/histogram_quantile.h"
#include "core/key_pattern.h"
#include "core/process_memory.h"

namespace tiercache {

namespace {

std::string TooLong(std::string_view what, uint64_t size, uint64_t limit, std::string_view knob) {
  return std::string(what) + " of " + std::to_string(size) + " bytes exceeds the limit of " +
         std::to_string(limit) + " bytes (limits." + std::string(knob) + ")";
}

// Latency is always wall time, even when the cache runs on an injected clock.
TimePoint LatencyNow() { return std::chrono::steady_clock::now(); }

// One family with one sample per lower tier.
template <class Value>
void TierFamily(std::string& out, const std::vector<LowerTierStatus>& tiers,
                std::string_view name, std::string_view type, std::string_view help,
                Value value) {
  AppendFamilyHeader(out, name, type, help);
  for (const auto& t : tiers) {
    const std::optional<double> v = value(t);
    if (v) AppendSample(out, name, "tier=\"" + t.name + "\"", *v);
  }
}

void RenderLowerTierMetrics(std::string& out, const std::vector<LowerTierStatus>& tiers) {
  if (tiers.empty()) return;
  using T = const LowerTierStatus&;
  using Opt = std::optional<double>;
  AppendFamilyHeader(out, "tiercache_tier_state", "gauge",
                     "1 for the state each lower tier is in (up, degraded, down).");
  for (const auto& t : tiers) {
    for (TierState state : {TierState::kUp, TierState::kDegraded, TierState::kDown}) {
      AppendSample(out, "tiercache_tier_state",
                   "tier=\"" + t.name + "\",state=\"" + std::string(TierStateName(state)) + "\"",
                   t.state == state ? 1 : 0);
    }
  }
  TierFamily(out, tiers, "tiercache_tier_hits_total", "counter",
             "Reads a lower tier answered with an entry.", [](T t) { return Opt(t.hits); });
  TierFamily(out, tiers, "tiercache_tier_misses_total", "counter",
             "Reads a lower tier answered without an entry.", [](T t) { return Opt(t.misses); });
  TierFamily(out, tiers, "tiercache_tier_errors_total", "counter",
             "Operations and health probes of a lower tier that failed.",
             [](T t) { return Opt(t.errors); });
  TierFamily(out, tiers, "tiercache_tier_skipped_total", "counter",
             "Operations not sent to a lower tier because it was down.",
             [](T t) { return Opt(t.skipped); });
  TierFamily(out, tiers, "tiercache_tier_promotions_total", "counter",
             "Entries found in a lower tier and copied into the tiers above it.",
             [](T t) { return Opt(t.promotions); });
  AppendFamilyHeader(out, "tiercache_tier_operation_duration_seconds", "histogram",
                     "Round trips of the reads and writes sent to each lower tier.");
  for (const auto& t : tiers) {
    AppendHistogram(out, "tiercache_tier_operation_duration_seconds",
                    "tier=\"" + LabelValue(t.name) + "\",operation=\"get\"", t.get_latency);
    AppendHistogram(out, "tiercache_tier_operation_duration_seconds",
                    "tier=\"" + LabelValue(t.name) + "\",operation=\"set\"", t.set_latency);
  }
  TierFamily(out, tiers, "tiercache_tier_round_trip_seconds", "gauge",
             "Round trip of the last successful health probe of a lower tier.",
             [](T t) { return Opt(ToSeconds(t.round_trip)); });
  TierFamily(out, tiers, "tiercache_write_behind_depth", "gauge",
             "Writes waiting in an async tier's write-behind queue.", [](T t) {
               return t.write_behind ? Opt(t.write_behind->depth) : std::nullopt;
             });
  TierFamily(out, tiers, "tiercache_write_behind_flushed_total", "counter",
             "Queued writes an async tier acknowledged.", [](T t) {
               return t.write_behind ? Opt(t.write_behind->flushed) : std::nullopt;
             });
  TierFamily(out, tiers, "tiercache_write_behind_dropped_total", "counter",
             "Queued writes lost to the overflow policy of a full write-behind queue.", [](T t) {
               return t.write_behind ? Opt(t.write_behind->dropped) : std::nullopt;
             });
  TierFamily(out, tiers, "tiercache_write_behind_failed_batches_total", "counter",
             "Write-behind batches a tier refused (their writes are retried).", [](T t) {
               return t.write_behind ? Opt(t.write_behind->failed_batches) : std::nullopt;
             });
  TierFamily(out, tiers, "tiercache_tag_index_memberships", "gauge",
             "(entry, tag) pairs a lower tier keeps for tag invalidation, as last measured.",
             [](T t) { return t.tag_index.measured ? Opt(t.tag_index.memberships) : std::nullopt; });
  TierFamily(out, tiers, "tiercache_tag_index_bytes", "gauge",
             "Bytes of a lower tier's tag bookkeeping, as last measured.",
             [](T t) { return t.tag_index.measured ? Opt(t.tag_index.bytes) : std::nullopt; });
}

// One family with one sample per warming source.
template <class Value>
void SourceFamily(std::string& out, const std::vector<WarmSourceStatus>& sources,
                  std::string_view name, std::string_view type, std::string_view help,
                  Value value) {
  AppendFamilyHeader(out, name, type, help);
  for (const auto& s : sources) {
    AppendSample(out, name, "source=\"" + LabelValue(s.name) + "\"", value(s));
  }
}

void RenderWarmingMetrics(std::string& out, const std::vector<WarmSourceStatus>& sources) {
  if (sources.empty()) return;
  using S = const WarmSourceStatus&;
  SourceFamily(out, sources, "tiercache_warm_runs_total", "counter", "Finished warming runs.",
               [](S s) { return static_cast<double>(s.runs); });
  SourceFamily(out, sources, "tiercache_warm_failed_runs_total", "counter",
               "Warming runs that ended with an error (unreachable source, bad query).",
               [](S s) { return static_cast<double>(s.failed_runs); });
  SourceFamily(out, sources, "tiercache_warm_attempted_total", "counter",
               "Items finished warming runs tried (rows, endpoints, keys).",
               [](S s) { return static_cast<double>(s.attempted); });
  SourceFamily(out, sources, "tiercache_warm_keys_total", "counter",
               "Entries finished warming runs stored.",
               [](S s) { return static_cast<double>(s.written); });
  SourceFamily(out, sources, "tiercache_warm_failures_total", "counter",
               "Items finished warming runs could not store.",
               [](S s) { return static_cast<double>(s.failures); });
  SourceFamily(out, sources, "tiercache_warm_success_ratio", "gauge",
               "Entries stored of items attempted, over all finished runs (1 before any).",
               [](S s) { return s.success_rate(); });
  SourceFamily(out, sources, "tiercache_warm_running", "gauge",
               "1 while a run of the source is going on.",
               [](S s) { return s.last && s.last->running ? 1.0 : 0.0; });
  SourceFamily(out, sources, "tiercache_warm_last_run_duration_seconds", "gauge",
               "How long the last (or current) run took.",
               [](S s) { return s.last ? ToSeconds(s.last->duration) : 0.0; });
  SourceFamily(out, sources, "tiercache_warm_next_run_timestamp_seconds", "gauge",
               "When the next scheduled run is due (Unix time; 0: none scheduled).", [](S s) {
                 return s.next_run
                            ? std::chrono::duration<double>(s.next_run->time_since_epoch()).count()
                            : 0.0;
               });
}

void RenderKeyGroupMetrics(std::string& out, const std::vector<KeyGroupStats>& groups) {
  using G = const KeyGroupStats&;
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                          auto value) {
    AppendFamilyHeader(out, name, type, help);
    for (G g : groups) {
      AppendSample(out, name, "pattern=\"" + LabelValue(g.name) + "\"",
                   static_cast<double>(value(g)));
    }
  };
  AppendFamilyHeader(out, "tiercache_pattern_reads_total", "counter",
                     "Reads by key pattern and result (hit: served by any tier).");
  for (G g : groups) {
    const std::string label = "pattern=\"" + LabelValue(g.name) + "\",result=";
    AppendSample(out, "tiercache_pattern_reads_total", label + "\"hit\"",
                 static_cast<double>(g.hits));
    AppendSample(out, "tiercache_pattern_reads_total", label + "\"miss\"",
                 static_cast<double>(g.misses));
  }
  family("tiercache_pattern_expired_misses_total", "counter",
         "Misses of keys whose entry had expired (a longer TTL would have served them).",
         [](G g) { return g.expired_misses; });
  family("tiercache_pattern_evicted_misses_total", "counter",
         "Misses of keys L1 had evicted to make room.", [](G g) { return g.evicted_misses; });
  family("tiercache_pattern_writes_total", "counter", "Writes by key pattern.",
         [](G g) { return g.writes; });
  family("tiercache_pattern_unread_removals_total", "counter",
         "L1 entries that left (expired, evicted, replaced, removed) without being read.",
         [](G g) { return g.unread_removals; });
  family("tiercache_pattern_l1_entries", "gauge", "L1 entries by key pattern.",
         [](G g) { return g.entries; });
  family("tiercache_pattern_l1_bytes", "gauge", "Bytes charged in L1 by key pattern.",
         [](G g) { return g.bytes; });
}

void RenderJobMetrics(std::string& out, const std::vector<JobInfo>& jobs,
                      const std::vector<JobKindStats>& kinds) {
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                          auto value) {
    AppendFamilyHeader(out, name, type, help);
    for (const JobKindStats& k : kinds) {
      AppendSample(out, name, "kind=\"" + LabelValue(k.kind) + "\"", value(k));
    }
  };
  family("tiercache_job_runs_total", "counter", "Scheduled job runs finished, by kind of job.",
         [](const JobKindStats& k) { return static_cast<double>(k.runs); });
  family("tiercache_job_failed_runs_total", "counter", "Scheduled job runs that failed.",
         [](const JobKindStats& k) { return static_cast<double>(k.failed_runs); });
  family("tiercache_job_run_seconds_total", "counter", "Time spent running scheduled jobs.",
         [](const JobKindStats& k) { return ToSeconds(k.run_time); });
  AppendFamilyHeader(out, "tiercache_jobs_pending", "gauge",
                     "Scheduled jobs waiting or running (periodic ones included).");
  AppendSample(out, "tiercache_jobs_pending", "", static_cast<double>(jobs.size()));
}

}  // namespace

uint64_t InvalidateResult::total() const {
  uint64_t most = by_keys + by_tags + by_pattern;
  for (const auto& t : tiers) most = std::max(most, t.removed);
  return most;
}

uint64_t ClearResult::total() const {
  uint64_t most = 0;
  for (const auto& t : tiers) most = std::max(most, t.removed);
  return most;
}

CacheService::CacheService(const Limits& limits, const StrategyOptions& strategies,
                           TieredCache& cache, ModelRules model_rules)
    : limits_(limits),
      strategies_(strategies),
      cache_(cache),
      model_rules_(std::move(model_rules)),
      started_(std::chrono::steady_clock::now()) {}

void CacheService::Publish(CoherenceMessage::Kind kind, std::vector<std::string> items) {
  if (publish_change_) publish_change_(kind, std::move(items));
}

void CacheService::Record(Frontend from, Operation op, Outcome outcome, TimePoint started) {
  if (!monitoring_) return;
  metrics_.Record(from, op, outcome, LatencyNow() - started);
}

OperationSummary CacheService::Summary(Operation op) const {
  OperationSummary summary;
  std::array<uint64_t, RequestMetrics::kBuckets.size() + 1> buckets{};
  for (size_t f = 0; f < kFrontendCount; ++f) {
    const auto frontend = static_cast<Frontend>(f);
    for (size_t o = 0; o < kOutcomeCount; ++o) {
      const auto outcome = static_cast<Outcome>(o);
      const uint64_t n = metrics_.Requests(frontend, op, outcome);
      summary.requests += n;
      if (outcome == Outcome::kHit) summary.hits += n;
      if (outcome == Outcome::kMiss) summary.misses += n;
      if (outcome != Outcome::kHit && outcome != Outcome::kMiss && outcome != Outcome::kOk &&
          outcome != Outcome::kNotFound) {
        summary.errors += n;
      }
    }
    const auto counts = metrics_.LatencyBuckets(frontend, op);
    for (size_t b = 0; b < buckets.size(); ++b) buckets[b] += counts[b];
  }
  summary.p50 = HistogramQuantile(RequestMetrics::kBuckets, buckets, 0.5);
  summary.p90 = HistogramQuantile(RequestMetrics::kBuckets, buckets, 0.9);
  summary.p99 = HistogramQuantile(RequestMetrics::kBuckets, buckets, 0.99);
  return summary;
}

KeyStats* CacheService::key_stats() const {
  return monitoring_ ? cache_.l1().key_stats() : nullptr;
}

void CacheService::RecordRead(KeyStats& stats, uint16_t group, std::string_view key, bool hit) {
  if (hit) return stats.Read(group, true);
  // Why it missed, if L1 remembers the key leaving.
  std::optional<L1Ghost> ghost = cache_.l1().TakeGhost(key);
  if (!ghost) return stats.Read(group, false);
  stats.Read(group, false, ghost->cause, LatencyNow() - ghost->stored_at);
}

Status CacheService::ValidateKey(std::string_view key) const {
  if (key.empty()) return Status::InvalidArgument("key must not be empty");
  if (key.size() > limits_.max_key_bytes) {
    return Status::TooLarge(TooLong("key", key.size(), limits_.max_key_bytes, "max_key_bytes"));
  }
  return Status::Ok();
}

Status CacheService::ValidateTags(const std::vector<std::string>& tags) const {
  if (tags.size() > limits_.max_tags) {
    return Status::TooLarge(std::to_string(tags.size()) + " tags exceed the limit of " +
                            std::to_string(limits_.max_tags) + " (limits.max_tags)");
  }
  for (const auto& tag : tags) {
    if (tag.empty()) return Status::InvalidArgument("tags must not be empty");
    if (tag.size() > limits_.max_tag_bytes) {
      return Status::TooLarge(TooLong("tag", tag.size(), limits_.max_tag_bytes, "max_tag_bytes"));
    }
  }
  return Status::Ok();
}

void CacheService::Get(Frontend from, std::string_view key, Callback<Result<Hit>> done) {
  const TimePoint started = Started();
  if (Status s = ValidateKey(key); !s.ok()) {
    Record(from, Operation::kGet, OutcomeOf(s), started);
    return done(std::move(s));
  }
  KeyStats* stats = key_stats();
  const uint16_t group = stats != nullptr ? stats->GroupOf(key) : 0;
  // The answer may come after the caller's key is gone.
  std::string read_key = stats != nullptr ? std::string(key) : std::string();
  cache_.Get(key, [this, from, started, stats, group, read_key = std::move(read_key),
                   done = std::move(done)](Result<Hit> hit) {
    const Outcome outcome = hit.ok() ? Outcome::kHit
                            : hit.status().code() == StatusCode::kNotFound
                                ? Outcome::kMiss
                                : OutcomeOf(hit.status());
    if (stats != nullptr && (outcome == Outcome::kHit || outcome == Outcome::kMiss)) {
      RecordRead(*stats, group, read_key, outcome == Outcome::kHit);
    }
    Record(from, Operation::kGet, outcome, started);
    done(std::move(hit));
  });
}

Status CacheService::ValidateSet(const SetRequest& request) const {
  Status s = ValidateKey(request.key);
  if (s.ok() && request.value.size() > limits_.max_value_bytes) {
    s = Status::TooLarge(
        TooLong("value", request.value.size(), limits_.max_value_bytes, "max_value_bytes"));
  }
  if (s.ok()) s = ValidateTags(request.tags);
  if (s.ok()) s = ValidateContentType(request.content_type);
  if (s.ok() && request.ttl &&
      (*request.ttl <= Duration::zero() || *request.ttl > strategies_.max_timeout)) {
    s = Status::InvalidArgument("ttl must be greater than 0 and at most " +
                                std::to_string(static_cast<int64_t>(
                                    ToSeconds(strategies_.max_timeout))) +
                                " seconds");
  }
  return s;
}

void CacheService::Set(Frontend from, SetRequest request, Callback<Status> done) {
  const TimePoint started = Started();
  if (Status s = ValidateSet(request); !s.ok()) {
    Record(from, Operation::kSet, OutcomeOf(s), started);
    return done(std::move(s));
  }
  const StrategyKind kind = request.strategy.value_or(strategies_.default_strategy);
  TieredWrite write;
  if (kind == StrategyKind::kAdaptive) {
    write.lifetime.kind = Lifetime::Kind::kAdaptive;
    write.lifetime.timeout = request.ttl.value_or(strategies_.adaptive.base_timeout);
  } else {
    write.lifetime.timeout = request.ttl.value_or(strategies_.default_timeout);
  }
  if (KeyStats* stats = key_stats()) {
    stats->Written(stats->GroupOf(request.key), write.lifetime.timeout);
  }
  write.key = std::move(request.key);
  write.value = std::make_shared<const std::string>(std::move(request.value));
  write.tags = std::move(request.tags);
  write.content_type = MakeContentType(std::move(request.content_type));
  std::string key = publish_change_ ? write.key : std::string();
  cache_.Set(std::move(write),
             [this, from, started, key = std::move(key), done = std::move(done)](Status s) {
               if (s.ok()) Publish(CoherenceMessage::Kind::kKeys, {key});
               Record(from, Operation::kSet, OutcomeOf(s), started);
               done(std::move(s));
             });
}

void CacheService::Delete(Frontend from, std::string_view key, Callback<Status> done) {
  const TimePoint started = Started();
  if (Status s = ValidateKey(key); !s.ok()) {
    Record(from, Operation::kDelete, OutcomeOf(s), started);
    return done(std::move(s));
  }
  cache_.Delete(key, [this, from, started, key = std::string(key),
                      done = std::move(done)](bool found) {
    // Published even when no tier here held it: another instance's L1 may.
    Publish(CoherenceMessage::Kind::kKeys, {key});
    Status s = found ? Status::Ok() : Status::NotFound("key not found");
    Record(from, Operation::kDelete, OutcomeOf(s), started);
    done(std::move(s));
  });
}

namespace {

void AddRemovals(std::vector<TierRemoval>& into, const std::vector<TierRemoval>& more) {
  if (into.empty()) {
    into = more;
    return;
  }
  for (size_t i = 0; i < into.size() && i < more.size(); ++i) {
    into[i].removed += more[i].removed;
    if (into[i].error.empty()) into[i].error = more[i].error;
  }
}

}  // namespace

Status CacheService::PrepareInvalidate(InvalidateRequest& request,
                                       std::vector<std::string>& models,
                                       std::shared_ptr<const KeyPattern>& pattern) const {
  if (request.keys.empty() && request.tags.empty() && !request.pattern && !request.model) {
    return Status::InvalidArgument("give at least one of keys, tags, pattern or model");
  }
  // The caller's own criteria are checked against the limits before a model adds to them.
  if (request.keys.size() > limits_.max_keys_per_request) {
    return Status::TooLarge(std::to_string(request.keys.size()) + " keys exceed the limit of " +
                            std::to_string(limits_.max_keys_per_request) +
                            " (limits.max_keys_per_request)");
  }
  for (const auto& key : request.keys) {
    if (Status s = ValidateKey(key); !s.ok()) return s;
  }
  if (Status s = ValidateTags(request.tags); !s.ok()) return s;
  std::vector<std::string> patterns;
  if (request.pattern) {
    if (request.pattern->empty()) return Status::InvalidArgument("pattern must not be empty");
    if (request.pattern->size() > limits_.max_pattern_bytes) {
      return Status::TooLarge(TooLong("pattern", request.pattern->size(),
                                      limits_.max_pattern_bytes, "max_pattern_bytes"));
    }
    patterns.push_back(*request.pattern);
  }
  if (request.model) {
    const ModelInvalidation& m = *request.model;
    auto expanded = model_rules_.Expand(m.model, m.event, m.fields);
    if (!expanded.ok()) return expanded.status();
    for (auto& key : expanded->keys) {
      if (Status s = ValidateKey(key); !s.ok()) {
        return Status::InvalidArgument("model " + m.model + " gives a bad key: " + s.message());
      }
      request.keys.push_back(std::move(key));
    }
    if (Status s = ValidateTags(expanded->tags); !s.ok()) {
      return Status::InvalidArgument("model " + m.model + " gives a bad tag: " + s.message());
    }
    for (auto& tag : expanded->tags) request.tags.push_back(std::move(tag));
    for (auto& p : expanded->patterns) patterns.push_back(std::move(p));
    models = std::move(expanded->models);
  }
  if (!patterns.empty()) {
    std::string joined;
    if (patterns.size() == 1) {
      joined = patterns[0];
    } else {
      for (const auto& p : patterns) joined += (joined.empty() ? "(?:" : "|(?:") + p + ")";
    }
    auto compiled = KeyPattern::Compile(joined);
    if (!compiled.ok()) return compiled.status();
    pattern = std::move(compiled).value();
  }
  return Status::Ok();
}

Status CacheService::ValidateInvalidate(const InvalidateRequest& request) const {
  InvalidateRequest copy = request;
  std::vector<std::string> models;
  std::shared_ptr<const KeyPattern> pattern;
  return PrepareInvalidate(copy, models, pattern);
}

void CacheService::Invalidate(Frontend from, const InvalidateRequest& request,
                              Callback<Result<InvalidateResult>> done) {
  const TimePoint started = Started();
  std::shared_ptr<const KeyPattern> pattern;
  InvalidateRequest prepared = request;
  std::vector<std::string> models;
  if (Status s = PrepareInvalidate(prepared, models, pattern); !s.ok()) {
    Record(from, Operation::kInvalidate, OutcomeOf(s), started);
    return done(std::move(s));
  }

  // Keys, then tags, then pattern, each through every tier, so that L1's counts say
  // which criterion removed an entry first.
  auto result = std::make_shared<InvalidateResult>();
  result->models = std::move(models);
  // What to tell the other instances, kept only when there are any.
  using Items = std::vector<std::string>;
  Items changed_keys = publish_change_ ? prepared.keys : Items{};
  Items changed_tags = publish_change_ ? prepared.tags : Items{};
  auto finish = [this, from, started, result, keys = std::move(changed_keys),
                 tags = std::move(changed_tags), pattern, done = std::move(done)]() mutable {
    if (!keys.empty()) Publish(CoherenceMessage::Kind::kKeys, std::move(keys));
    if (!tags.empty()) Publish(CoherenceMessage::Kind::kTags, std::move(tags));
    if (pattern) Publish(CoherenceMessage::Kind::kPattern, {pattern->pattern()});
    Record(from, Operation::kInvalidate, Outcome::kOk, started);
    done(std::move(*result));
  };
  auto by_pattern = [this, pattern, result, finish]() mutable {
    if (!pattern) return finish();
    cache_.InvalidateMatching(pattern, [result, finish](std::vector<TierRemoval> r) mutable {
      result->by_pattern = r[0].removed;
      AddRemovals(result->tiers, r);
      finish();
    });
  };
  auto by_tags = [this, tags = std::move(prepared.tags), result, by_pattern]() mutable {
    if (tags.empty()) return by_pattern();
    cache_.InvalidateTags(std::move(tags), [result, by_pattern](std::vector<TierRemoval> r) mutable {
      result->by_tags = r[0].removed;
      AddRemovals(result->tiers, r);
      by_pattern();
    });
  };
  if (prepared.keys.empty()) return by_tags();
  cache_.InvalidateKeys(prepared.keys, [result, by_tags](std::vector<TierRemoval> r) mutable {
    result->by_keys = r[0].removed;
    AddRemovals(result->tiers, r);
    by_tags();
  });
}

void CacheService::Clear(Frontend from, Callback<Result<ClearResult>> done) {
  const TimePoint started = Started();
  cache_.Clear([this, from, started, done = std::move(done)](std::vector<TierRemoval> r) {
    Publish(CoherenceMessage::Kind::kClear, {});
    Record(from, Operation::kClear, Outcome::kOk, started);
    done(ClearResult{std::move(r)});
  });
}

ServiceStatus CacheService::GetStatus(Frontend from) {
  const TimePoint started = Started();
  ServiceStatus status;
  status.version = TIERCACHE_VERSION;
  status.uptime = std::chrono::steady_clock::now() - started_;
  status.l1 = cache_.l1().Stats();
  status.lower_tiers = cache_.LowerTiers();
  status.ready = cache_.RequiredTiersUp();
  status.limits = limits_;
  if (coherence_stats_) status.coherence = coherence_stats_();
  if (warming_status_) status.warming = warming_status_();
  if (KeyStats* stats = key_stats()) status.key_groups = stats->Snapshot();
  status.monitoring = monitoring_;
  status.config_json = config_json_;
  if (scheduler_ != nullptr) {
    status.jobs = scheduler_->List();
    status.job_kinds = scheduler_->KindStats();
  }
  if (Result<uint64_t> rss = ResidentBytes(); rss.ok()) status.resident_bytes = *rss;
  status.largest_tags = cache_.l1().LargestTags(10);
  status.gets = Summary(Operation::kGet);
  status.sets = Summary(Operation::kSet);
  status.deletes = Summary(Operation::kDelete);
  Record(from, Operation::kStatus, Outcome::kOk, started);
  return status;
}

std::string CacheService::RenderMetrics() const {
  std::string out;
  out.reserve(16 * 1024);
  metrics_.RenderPrometheus(out);

  const L1Stats l1 = cache_.l1().Stats();
  const auto counter = [&](std::string_view name, std::string_view help, uint64_t v) {
    AppendFamilyHeader(out, name, "counter", help);
    AppendSample(out, name, "", static_cast<double>(v));
  };
  const auto gauge = [&](std::string_view name, std::string_view help, double v) {
    AppendFamilyHeader(out, name, "gauge", help);
    AppendSample(out, name, "", v);
  };
  counter("tiercache_l1_hits_total", "Lookups that found a live entry in L1.", l1.hits);
  counter("tiercache_l1_misses_total", "Lookups that found no live entry in L1.", l1.misses);
  counter("tiercache_l1_evictions_total", "Entries evicted from L1 to make room (LRU).",
          l1.evictions);
  counter("tiercache_l1_expirations_total", "Entries removed from L1 because they expired.",
          l1.expirations);
  gauge("tiercache_l1_entries", "Entries held in L1.", static_cast<double>(l1.entries));
  gauge("tiercache_l1_bytes", "Bytes charged for the entries held in L1.",
        static_cast<double>(l1.bytes));
  gauge("tiercache_l1_max_entries", "Configured bound on L1 entries.",
        static_cast<double>(l1.max_entries));
  gauge("tiercache_l1_max_bytes", "Configured bound on L1 bytes.",
        static_cast<double>(l1.max_bytes));

  AppendFamilyHeader(out, "tiercache_connections_open", "gauge", "Open client connections.");
  for (size_t f = 0; f < kFrontendCount; ++f) {
    AppendSample(out, "tiercache_connections_open",
                 "frontend=\"" + std::string(FrontendName(static_cast<Frontend>(f))) + "\"",
                 static_cast<double>(connections_[f].open.load(std::memory_order_relaxed)));
  }
  AppendFamilyHeader(out, "tiercache_connections_rejected_total", "counter",
                     "Connections refused at the connection limit.");
  for (size_t f = 0; f < kFrontendCount; ++f) {
    AppendSample(out, "tiercache_connections_rejected_total",
                 "frontend=\"" + std::string(FrontendName(static_cast<Frontend>(f))) + "\"",
                 static_cast<double>(connections_[f].rejected.load(std::memory_order_relaxed)));
  }
  RenderLowerTierMetrics(out, cache_.LowerTiers());
  if (warming_status_) RenderWarmingMetrics(out, warming_status_());
  if (KeyStats* stats = key_stats()) RenderKeyGroupMetrics(out, stats->Snapshot());
  if (scheduler_ != nullptr) RenderJobMetrics(out, scheduler_->List(), scheduler_->KindStats());
  gauge("tiercache_uptime_seconds", "Seconds since the service started.",
        ToSeconds(std::chrono::steady_clock::now() - started_));
  return out;
}

}  // namespace tiercache
