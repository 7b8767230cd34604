#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/frontend.h"
#include "core/hot_set.h"
#include "core/shared_bytes.h"
#include "core/instance_coherence.h"
#include "core/key_stats.h"
#include "core/l1_store.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "core/model_rules.h"
#include "core/namespaces.h"
#include "core/proxy_stats.h"
#include "core/scheduler.h"
#include "core/stats_history.h"
#include "core/status.h"
#include "core/strategy_options.h"
#include "core/tiered_cache.h"
#include "core/warming.h"

namespace tiercache {

struct SetRequest {
  std::string key;
  std::string value;
  std::optional<Duration> ttl;          // default: strategies.default_timeout
  std::vector<std::string> tags;
  std::optional<StrategyKind> strategy;  // default: strategies.default_strategy
  // Adaptive entries only: this entry's bounds instead of strategies.adaptive's (whole
  // seconds; min_ttl <= max_ttl).
  std::optional<Duration> min_ttl;
  std::optional<Duration> max_ttl;
  std::string content_type{};            // the value's media type; empty: none
};

// A model instance to invalidate by the configured rules (core/model_rules.h).
struct ModelInvalidation {
  std::string model;
  ModelEvent event = ModelEvent::kSave;
  ModelFields fields;  // "id" (the request's instance_id) and any other the templates use
};

// A stored entry as an update sees it.
struct StoredEntry {
  SharedBytes value;
  Duration ttl_left{0};  // at the timeout's scale (the tier's time left / its ttl_factor)
  std::vector<std::string> tags;
  std::string content_type;
};

// What an update does to the entry it saw.
struct EntryChange {
  enum class Action : uint8_t { kKeep, kWrite, kDelete };
  Action action = Action::kKeep;
  std::string value;  // kWrite
  // kWrite: the new lifetime; nullopt keeps the time the entry has left (a new entry gets
  // strategies.default_timeout).
  std::optional<Duration> ttl;
  // kWrite: the new tags; nullopt keeps the entry's.
  std::optional<std::vector<std::string>> tags;
  // kWrite: the new content type; nullopt keeps the entry's (a new entry: none).
  std::optional<std::string> content_type;
};

// Decides an update from the current entry (null when absent). An error changes nothing
// and is the update's answer. It may run on any thread, and with L1 alone under L1's shard
// lock: it must not call the service.
using UpdateFn = std::function<Result<EntryChange>(const StoredEntry* current)>;

// Any combination: every criterion is applied to every tier.
struct InvalidateRequest {
  std::vector<std::string> keys;
  std::vector<std::string> tags;
  std::optional<std::string> pattern;
  std::optional<ModelInvalidation> model;
  // The namespace the keys and the pattern are in (core/namespaces.h); empty: none. Tags
  // are shared by every namespace, and a model applies in all of them.
  std::string ns;
  // Responses the caching proxy stored: every variant of these paths, and of the paths
  // starting with these prefixes, in every route that takes them. They become tags and a
  // pattern before anything else is checked; kInvalidArgument without the proxy or with a
  // namespace.
  std::vector<std::string> urls;
  std::vector<std::string> url_prefixes;
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

// An invalidation scheduled to run later.
struct ScheduledJob {
  std::string job_id;
  WallTime due;
  bool persisted = false;  // in the job store, so it survives a restart
};

// The longest delay or lifetime a request may give, in seconds: ten years. A bound on
// what callers send, well inside what a Duration of nanoseconds holds (292 years).
inline constexpr double kMaxRequestSeconds = 10.0 * 365 * 86400;
// Seconds sent in a request (a delay, a ttl) as a Duration: nullopt unless a number from 0
// to kMaxRequestSeconds.
std::optional<Duration> RequestSeconds(double seconds);

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

// The status document's content, as plain values.
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
  std::optional<HotSetReport> hot_set;       // what this start restored (l1.hot_set)
  std::vector<NamespaceStatus> namespaces;   // configured namespaces
  std::vector<ProxyRouteStats> proxy_routes;  // the caching proxy's, when it runs
};

// One front end's connections.
struct ConnectionCounts {
  Frontend frontend;
  int64_t open = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
};

// Every figure /metrics shows, as plain values (server/exposition renders them). Taking
// one counts as no request.
struct MetricsSnapshot {
  std::vector<RequestCounts> requests;        // every named front end and operation
  std::vector<ConnectionCounts> connections;  // every named front end
  L1Stats l1;
  std::vector<LowerTierStatus> lower_tiers;
  std::vector<WarmSourceStatus> warming;
  std::optional<std::vector<KeyGroupStats>> key_groups;  // when monitoring is on
  bool scheduler = false;                                 // jobs and job_kinds are set
  std::vector<JobInfo> jobs;
  std::vector<JobKindStats> job_kinds;
  Duration uptime{0};
  std::vector<NamespaceStatus> namespaces;
  std::vector<ProxyRouteStats> proxy_routes;
};

// The dashboard's history: the samples asked for, oldest first, and every tier now.
struct HistorySnapshot {
  std::vector<StatsSample> samples;
  size_t capacity = 0;
  L1Stats l1;
  std::vector<LowerTierStatus> lower_tiers;
};

// The seam between the front ends and the cache: every use case a front end offers is
// one call here, so that HTTP, gRPC and any later front end only decode a request, make
// one call and encode its answer. Validation against the limits, request metrics and the
// cache logic are behind it. Thread-safe.
//
// Operations with a callback answer through it exactly once: at once, on the calling
// thread, when L1 alone decides (an L1 hit, bad input, an L1-only server), otherwise later
// on a tier's thread. No call blocks on network I/O, so front-end I/O threads make them
// directly.
class Service {
 public:
  virtual ~Service() = default;

  // The limits every request is checked against.
  virtual const Limits& limits() const = 0;

  // --- The data path --------------------------------------------------------------
  // kNotFound on a miss; kInvalidArgument / kTooLarge for a bad key.
  virtual void Get(Frontend from, std::string_view key, Callback<Result<Hit>> done) = 0;
  // Get without a callback when L1 decides: the answer is returned (the L1 hits of a
  // pipelined front end then cost no allocation). Otherwise `defer` is called once, on
  // this thread, for the callback that takes the answer later, and nullopt is returned.
  using DeferGet = std::function<Callback<Result<Hit>>()>;
  virtual std::optional<Result<Hit>> GetOrDefer(Frontend from, std::string_view key,
                                                const DeferGet& defer) = 0;
  virtual void Set(Frontend from, SetRequest request, Callback<Status> done) = 0;
  // Set without a callback when L1 decides (L1 alone, or a request refused): the answer is
  // returned. Otherwise `defer` is called once, on this thread, for the callback that
  // takes the answer later, and nullopt is returned.
  using DeferStatus = std::function<Callback<Status>()>;
  virtual std::optional<Status> SetOrDefer(Frontend from, SetRequest request,
                                           const DeferStatus& defer) = 0;
  // kNotFound if no tier held the key.
  virtual void Delete(Frontend from, std::string_view key, Callback<Status> done) = 0;
  // Reads `key`, lets `decide` choose, and writes or deletes through every tier as Set and
  // Delete do (the read-modify-write commands of the Redis protocol). With L1 alone (no
  // lower tier, no coherence bus) the step is atomic against every other write of the key; with lower tiers it is a read through
  // the tiers then a write, not atomic against concurrent writers of the key (Increment is). The change
  // is checked as Set checks a request. Counted as a set.
  virtual void Update(Frontend from, std::string key, UpdateFn decide, Callback<Status> done) = 0;
  // Adds `delta` to the integer `key` holds (absent: 0, then stored with
  // strategies.default_timeout) and answers the new value. Atomic across every instance
  // sharing a lower tier that counts (the Redis tier does); with L1 alone, as Update.
  // kInvalidArgument "value is not an integer or out of range" or "increment or decrement
  // would overflow". Counted as a set.
  virtual void Increment(Frontend from, std::string key, int64_t delta,
                         Callback<Result<int64_t>> done) = 0;
  // Live L1 keys of L1 shard `shard` accepted by `match`, and the shard to ask next (0
  // after the last): a scan that never holds more than one shard. Lower tiers are not
  // listed: they may hold far more than one reply should. Counted as nothing.
  struct KeyPage {
    std::vector<std::string> keys;
    size_t next_shard = 0;
  };
  virtual KeyPage ScanKeys(size_t shard,
                           const std::function<bool(std::string_view)>& match) const = 0;
  // Some live L1 key, chosen with `seed`.
  virtual std::optional<std::string> AnyKey(uint64_t seed) const = 0;
  // Validates the whole request first: a bad key, tag or pattern, or a model without a
  // rule (kNotFound) or missing a field its templates need, changes nothing. A model's
  // keys, tags and patterns join the request's own.
  virtual void Invalidate(Frontend from, const InvalidateRequest& request,
                          Callback<Result<InvalidateResult>> done) = 0;
  virtual void Clear(Frontend from, Callback<Result<ClearResult>> done) = 0;
  // Writes every entry or none: all are checked first (kTooLarge past
  // limits.max_keys_per_request; an entry's error starts with "entries[I]: "). Answers
  // with the number stored once every write has answered.
  virtual void BulkLoad(Frontend from, std::vector<SetRequest> entries,
                        Callback<Result<uint64_t>> done) = 0;

  // --- Namespaces (core/namespaces.h) ---------------------------------------------
  // The key as stored for `key` of namespace `ns` at its current version; `key` itself
  // when `ns` is empty; kNotFound "unknown namespace 'NAME'". Front ends put the keys of a
  // request that names a namespace through it before the call.
  virtual Result<std::string> NamespacedKey(std::string_view ns, std::string_view key) const = 0;
  // Moves `ns` to its next version: every entry stored under an older one is unreachable at
  // once in every tier, here and (through the coherence channel) in the other instances,
  // and ages out. The version is kept in the first lower tier that keeps counters, so
  // instances and restarts agree: kUnavailable, changing nothing, while it is down.
  // Counted as an invalidation.
  virtual void BumpNamespace(Frontend from, std::string_view ns,
                             Callback<Result<NamespaceStatus>> done) = 0;
  virtual std::vector<NamespaceStatus> ListNamespaces() const = 0;

  // --- Scheduled work -------------------------------------------------------------
  // Runs `request` `delay_seconds` from now (0 to kMaxRequestSeconds). Checked now as
  // Invalidate checks it; kUnavailable without a scheduler.
  virtual void ScheduleInvalidation(Frontend from, double delay_seconds,
                                    InvalidateRequest request,
                                    Callback<Result<ScheduledJob>> done) = 0;
  // Pending and running jobs, by due time.
  virtual std::vector<JobInfo> ListJobs() const = 0;
  // kNotFound unless the job was pending (it will then not run).
  virtual Status CancelJob(std::string_view id) = 0;
  // Starts a run of warming source `name` in the background: kNotFound for an unknown
  // source, kUnavailable while it runs already.
  virtual Status StartWarm(std::string_view name) = 0;

  // --- Observation ----------------------------------------------------------------
  // Counted as a status request of `from`.
  virtual ServiceStatus GetStatus(Frontend from) = 0;
  // Counted as nothing, so that scraping does not show in what it scrapes.
  virtual MetricsSnapshot Metrics() const = 0;
  // The dashboard's samples after `since` (all of them without it); counted as nothing.
  virtual HistorySnapshot History(std::optional<WallTime> since) const = 0;
  // False while a required lower tier is down.
  virtual bool Ready() const = 0;
  // The connection counters a front end keeps for itself.
  virtual ConnectionMetrics& Connections(Frontend frontend) = 0;
};

}  // namespace tiercache
