#include "core/cache_service.h"

#include <charconv>
#include <cmath>
#include <condition_variable>
#include <mutex>

#include "core/histogram_quantile.h"
#include "core/key_pattern.h"
#include "core/process_memory.h"

namespace tiercache {

namespace {

std::string TooLong(std::string_view what, uint64_t size, uint64_t limit, std::string_view knob) {
  return std::string(what) + " of " + std::to_string(size) + " bytes exceeds the limit of " +
         std::to_string(limit) + " bytes (limits." + std::string(knob) + ")";
}

Status UnknownNamespace(std::string_view ns) {
  return Status::NotFound("unknown namespace '" + std::string(ns) + "'");
}

// Latency is always wall time, even when the cache runs on an injected clock.
TimePoint LatencyNow() { return std::chrono::steady_clock::now(); }

// How long since `started`, by the latency clock.
Duration Since(LatencyClock::Point started) {
  return LatencyClock::Between(started, LatencyClock::Now());
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

std::optional<Duration> RequestSeconds(double seconds) {
  if (!(seconds >= 0) || seconds > kMaxRequestSeconds) return std::nullopt;  // NaN too
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

CacheService::CacheService(ServiceOptions options, TieredCache& cache, ServiceParts parts)
    : options_(std::move(options)),
      cache_(cache),
      parts_(parts),
      config_json_(options_.config_json.empty()
                       ? nullptr
                       : std::make_shared<const std::string>(options_.config_json)),
      started_(std::chrono::steady_clock::now()),
      namespaces_(options_.namespaces) {
  if (parts_.scheduler != nullptr) scheduled_.emplace(*this, *parts_.scheduler, parts_.job_store);
}

CacheService::CacheService(const Limits& limits, const StrategyOptions& strategies,
                           TieredCache& cache, ModelRules model_rules)
    : CacheService(ServiceOptions{limits, strategies, std::move(model_rules), true, "", {}},
                   cache) {}

void CacheService::Publish(CoherenceMessage::Kind kind, std::vector<std::string> items) {
  if (parts_.coherence != nullptr) parts_.coherence->Publish(kind, std::move(items));
}

void CacheService::Record(Frontend from, Operation op, Outcome outcome,
                          LatencyClock::Point started) {
  if (!options_.monitoring) return;
  metrics_.Record(from, op, outcome, Since(started));
}

OperationSummary CacheService::Summary(Operation op) const {
  OperationSummary summary;
  std::array<uint64_t, RequestMetrics::kBuckets.size() + 1> buckets{};
  for (size_t f = 0; f < Frontend::Count(); ++f) {
    const Frontend frontend = Frontend::At(f);
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
  return options_.monitoring ? cache_.l1().key_stats() : nullptr;
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
  if (key.size() > options_.limits.max_key_bytes) {
    return Status::TooLarge(TooLong("key", key.size(), options_.limits.max_key_bytes, "max_key_bytes"));
  }
  return Status::Ok();
}

Status CacheService::ValidateTags(const std::vector<std::string>& tags) const {
  if (tags.size() > options_.limits.max_tags) {
    return Status::TooLarge(std::to_string(tags.size()) + " tags exceed the limit of " +
                            std::to_string(options_.limits.max_tags) + " (limits.max_tags)");
  }
  for (const auto& tag : tags) {
    if (tag.empty()) return Status::InvalidArgument("tags must not be empty");
    if (tag.size() > options_.limits.max_tag_bytes) {
      return Status::TooLarge(TooLong("tag", tag.size(), options_.limits.max_tag_bytes, "max_tag_bytes"));
    }
  }
  return Status::Ok();
}

void CacheService::Get(Frontend from, std::string_view key, Callback<Result<Hit>> done) {
  std::optional<Result<Hit>> now = GetOrDefer(from, key, [&done] { return std::move(done); });
  if (now) done(std::move(*now));
}

std::optional<Result<Hit>> CacheService::GetOrDefer(Frontend from, std::string_view key,
                                                    const DeferGet& defer) {
  const LatencyClock::Point started = Started();
  if (Status s = ValidateKey(key); !s.ok()) {
    Record(from, Operation::kGet, OutcomeOf(s), started);
    return Result<Hit>(std::move(s));
  }
  KeyStats* stats = key_stats();
  const uint16_t group = stats != nullptr ? stats->GroupOf(key) : 0;
  // Answered by L1: no callback to allocate, no key to copy.
  if (std::optional<Result<Hit>> now = cache_.GetNow(key)) {
    CountGet(from, started, stats, group, key, *now);
    return now;
  }
  // The answer may come after the caller's key is gone.
  std::string read_key =
      stats != nullptr || !namespaces_.empty() ? std::string(key) : std::string();
  cache_.GetFromLowerTiers(key, [this, from, started, stats, group, read_key = std::move(read_key),
                                 done = defer()](Result<Hit> hit) {
    CountGet(from, started, stats, group, read_key, hit);
    done(std::move(hit));
  });
  return std::nullopt;
}

void CacheService::CountGet(Frontend from, LatencyClock::Point started, KeyStats* stats,
                            uint16_t group, std::string_view key, const Result<Hit>& hit) {
  const Outcome outcome = hit.ok() ? Outcome::kHit
                          : hit.status().code() == StatusCode::kNotFound
                              ? Outcome::kMiss
                              : OutcomeOf(hit.status());
  if (stats != nullptr && (outcome == Outcome::kHit || outcome == Outcome::kMiss)) {
    RecordRead(*stats, group, key, outcome == Outcome::kHit);
  }
  if (!namespaces_.empty() && (outcome == Outcome::kHit || outcome == Outcome::kMiss)) {
    namespaces_.CountRead(key, outcome == Outcome::kHit);
  }
  Record(from, Operation::kGet, outcome, started);
}

Status CacheService::ValidateSet(const SetRequest& request) const {
  Status s = ValidateKey(request.key);
  if (s.ok() && request.value.size() > options_.limits.max_value_bytes) {
    s = Status::TooLarge(
        TooLong("value", request.value.size(), options_.limits.max_value_bytes, "max_value_bytes"));
  }
  if (s.ok()) s = ValidateTags(request.tags);
  if (s.ok()) s = ValidateContentType(request.content_type);
  if (s.ok() && request.ttl &&
      (*request.ttl <= Duration::zero() || *request.ttl > options_.strategies.max_timeout)) {
    s = Status::InvalidArgument("ttl must be greater than 0 and at most " +
                                std::to_string(static_cast<int64_t>(
                                    ToSeconds(options_.strategies.max_timeout))) +
                                " seconds");
  }
  if (s.ok() && (request.min_ttl || request.max_ttl)) s = ValidateAdaptiveBounds(request);
  return s;
}

Status CacheService::ValidateAdaptiveBounds(const SetRequest& request) const {
  const StrategyKind kind = request.strategy.value_or(options_.strategies.default_strategy);
  if (kind != StrategyKind::kAdaptive) {
    return Status::InvalidArgument("min_ttl and max_ttl apply to the adaptive strategy only");
  }
  const AdaptiveOptions& configured = options_.strategies.adaptive;
  const Duration low = request.min_ttl.value_or(configured.min_timeout);
  const Duration high = request.max_ttl.value_or(configured.max_timeout);
  for (const Duration d : {low, high}) {
    if (d < std::chrono::seconds(1) || d > options_.strategies.max_timeout) {
      return Status::InvalidArgument("min_ttl and max_ttl must be from 1 to " +
                                     std::to_string(static_cast<int64_t>(
                                         ToSeconds(options_.strategies.max_timeout))) +
                                     " seconds");
    }
  }
  if (low > high) return Status::InvalidArgument("min_ttl must not exceed max_ttl");
  return Status::Ok();
}

void CacheService::Set(Frontend from, SetRequest request, Callback<Status> done) {
  std::optional<Status> now =
      SetOrDefer(from, std::move(request), [&done] { return std::move(done); });
  if (now) done(std::move(*now));
}

std::optional<Status> CacheService::SetOrDefer(Frontend from, SetRequest request,
                                               const DeferStatus& defer) {
  const LatencyClock::Point started = Started();
  if (Status s = ValidateSet(request); !s.ok()) {
    Record(from, Operation::kSet, OutcomeOf(s), started);
    return s;
  }
  const StrategyKind kind = request.strategy.value_or(options_.strategies.default_strategy);
  TieredWrite write;
  if (kind == StrategyKind::kAdaptive) {
    write.lifetime.kind = Lifetime::Kind::kAdaptive;
    write.lifetime.timeout = request.ttl.value_or(options_.strategies.adaptive.base_timeout);
    write.lifetime.adaptive_min = request.min_ttl.value_or(Duration::zero());
    write.lifetime.adaptive_max = request.max_ttl.value_or(Duration::zero());
  } else {
    write.lifetime.timeout = request.ttl.value_or(options_.strategies.default_timeout);
  }
  if (KeyStats* stats = key_stats()) {
    stats->Written(stats->GroupOf(request.key), write.lifetime.timeout);
  }
  if (!namespaces_.empty()) namespaces_.CountWrite(request.key);
  write.key = std::move(request.key);
  write.value = std::make_shared<const std::string>(std::move(request.value));
  write.tags = std::move(request.tags);
  write.content_type = MakeContentType(std::move(request.content_type));
  if (L1Alone()) {
    // L1 alone answers at once: no callback to allocate on the hottest write path.
    Status s = cache_.SetInL1(std::move(write));
    Record(from, Operation::kSet, OutcomeOf(s), started);
    return s;
  }
  std::string key = parts_.coherence != nullptr ? write.key : std::string();
  cache_.Set(std::move(write),
             [this, from, started, key = std::move(key), done = defer()](Status s) {
               if (s.ok()) Publish(CoherenceMessage::Kind::kKeys, {key});
               Record(from, Operation::kSet, OutcomeOf(s), started);
               done(std::move(s));
             });
  return std::nullopt;
}

void CacheService::Delete(Frontend from, std::string_view key, Callback<Status> done) {
  const LatencyClock::Point started = Started();
  if (Status s = ValidateKey(key); !s.ok()) {
    Record(from, Operation::kDelete, OutcomeOf(s), started);
    return done(std::move(s));
  }
  if (!namespaces_.empty()) namespaces_.CountDelete(key);
  cache_.Delete(key, [this, from, started, key = std::string(key),
                      done = std::move(done)](bool found) {
    // Published even when no tier here held it: another instance's L1 may.
    Publish(CoherenceMessage::Kind::kKeys, {key});
    Status s = found ? Status::Ok() : Status::NotFound("key not found");
    Record(from, Operation::kDelete, OutcomeOf(s), started);
    done(std::move(s));
  });
}

// --- Read-modify-write ---------------------------------------------------------------------

namespace {

StoredEntry Seen(SharedBytes value, Duration ttl_left,
                 std::vector<std::string> tags, const ContentType& content_type) {
  return StoredEntry{std::move(value), ttl_left, std::move(tags),
                     std::string(ContentTypeText(content_type))};
}

}  // namespace

Result<TieredWrite> CacheService::ChangeToWrite(std::string key, const StoredEntry* current,
                                                EntryChange change) const {
  SetRequest request;
  request.key = std::move(key);
  request.value = std::move(change.value);
  if (change.ttl) {
    request.ttl = change.ttl;
  } else if (current != nullptr) {
    // What is left is within the bounds it was stored with; a sliver left is still a ttl.
    request.ttl = std::max(current->ttl_left, Duration(std::chrono::milliseconds(1)));
  }
  if (change.tags) {
    request.tags = std::move(*change.tags);
  } else if (current != nullptr) {
    request.tags = current->tags;
  }
  if (change.content_type) {
    request.content_type = std::move(*change.content_type);
  } else if (current != nullptr) {
    request.content_type = current->content_type;
  }
  if (Status s = ValidateSet(request); !s.ok()) return s;
  TieredWrite write;
  write.lifetime.timeout = request.ttl.value_or(options_.strategies.default_timeout);
  write.key = std::move(request.key);
  write.value = std::make_shared<const std::string>(std::move(request.value));
  write.tags = std::move(request.tags);
  write.content_type = MakeContentType(std::move(request.content_type));
  return write;
}

void CacheService::Update(Frontend from, std::string key, UpdateFn decide, Callback<Status> done) {
  const LatencyClock::Point started = Started();
  if (Status s = ValidateKey(key); !s.ok()) {
    Record(from, Operation::kSet, OutcomeOf(s), started);
    return done(std::move(s));
  }
  if (!L1Alone()) {
    return UpdateThroughTiers(from, std::move(key), std::move(decide), started, std::move(done));
  }
  // L1 alone: decided and applied under the shard's lock.
  Status decided = Status::Ok();
  Status s = cache_.l1().Update(key, [&](const L1Current* current) {
    std::optional<StoredEntry> seen;
    if (current != nullptr) {
      const auto left = std::chrono::duration_cast<Duration>(current->ttl_left /
                                                             cache_.l1_ttl_factor());
      seen = Seen(current->value, left, current->tags, current->content_type);
    }
    Result<EntryChange> change = decide(seen ? &*seen : nullptr);
    if (!change.ok()) {
      decided = change.status();
      return L1Change{};
    }
    switch (change->action) {
      case EntryChange::Action::kKeep:
        return L1Change{};
      case EntryChange::Action::kDelete:
        return L1Change{L1Change::Action::kDelete, nullptr, {}, {}, nullptr};
      case EntryChange::Action::kWrite:
        break;
    }
    Result<TieredWrite> write = ChangeToWrite(key, seen ? &*seen : nullptr, std::move(*change));
    if (!write.ok()) {
      decided = write.status();
      return L1Change{};
    }
    return L1Change{L1Change::Action::kWrite, std::move(write->value), std::move(write->tags),
                    write->lifetime, std::move(write->content_type)};
  });
  if (s.ok()) s = std::move(decided);
  Record(from, Operation::kSet, OutcomeOf(s), started);
  done(std::move(s));
}

void CacheService::UpdateThroughTiers(Frontend from, std::string key, UpdateFn decide,
                                      LatencyClock::Point started, Callback<Status> done) {
  std::string read_key = key;
  cache_.Get(read_key, [this, from, key = std::move(key), decide = std::move(decide), started,
                        done = std::move(done)](Result<Hit> hit) mutable {
    const auto finish = [this, from, started](const Callback<Status>& done, Status s) {
      Record(from, Operation::kSet, OutcomeOf(s), started);
      done(std::move(s));
    };
    if (!hit.ok() && hit.status().code() != StatusCode::kNotFound) {
      return finish(done, hit.status());
    }
    std::optional<StoredEntry> seen;
    if (hit.ok()) {
      // A hit in a lower tier was promoted into L1 with its tags: L1 tells them.
      std::vector<std::string> tags;
      if (auto info = cache_.l1().Inspect(key)) tags = std::move(info->tags);
      seen = Seen(hit->value, hit->RequestTtlLeft(), std::move(tags), hit->content_type);
    }
    Result<EntryChange> change = decide(seen ? &*seen : nullptr);
    if (!change.ok()) return finish(done, change.status());
    if (change->action == EntryChange::Action::kKeep) return finish(done, Status::Ok());
    if (change->action == EntryChange::Action::kDelete) {
      return cache_.Delete(key, [this, key, finish, done = std::move(done)](bool) {
        Publish(CoherenceMessage::Kind::kKeys, {key});
        finish(done, Status::Ok());
      });
    }
    Result<TieredWrite> write = ChangeToWrite(key, seen ? &*seen : nullptr, std::move(*change));
    if (!write.ok()) return finish(done, write.status());
    cache_.Set(std::move(*write), [this, key, finish, done = std::move(done)](Status s) {
      if (s.ok()) Publish(CoherenceMessage::Kind::kKeys, {key});
      finish(done, std::move(s));
    });
  });
}

namespace {

// The integer a stored value holds, by Redis's rules: digits with an optional minus sign,
// no spaces, no plus sign, no leading zeros, within 64 bits.
std::optional<int64_t> StoredInteger(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  const std::string_view digits = text[0] == '-' ? text.substr(1) : text;
  if (digits.empty() || (digits[0] == '0' && text.size() > 1)) return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

void CacheService::Increment(Frontend from, std::string key, int64_t delta,
                             Callback<Result<int64_t>> done) {
  if (cache_.counts_in_lower_tier()) {
    const LatencyClock::Point started = Started();
    if (Status s = ValidateKey(key); !s.ok()) {
      Record(from, Operation::kSet, OutcomeOf(s), started);
      return done(std::move(s));
    }
    std::string published = key;
    return cache_.Increment(
        std::move(key), delta, options_.strategies.default_timeout,
        [this, from, started, published = std::move(published),
         done = std::move(done)](Result<int64_t> value) {
          if (value.ok()) Publish(CoherenceMessage::Kind::kKeys, {published});
          Record(from, Operation::kSet, OutcomeOf(value.status()), started);
          done(std::move(value));
        });
  }
  auto counted = std::make_shared<int64_t>(0);
  Update(
      from, std::move(key),
      [delta, counted](const StoredEntry* current) -> Result<EntryChange> {
        int64_t value = 0;
        if (current != nullptr) {
          auto stored = StoredInteger(*current->value);
          if (!stored) return Status::InvalidArgument("value is not an integer or out of range");
          value = *stored;
        }
        if (__builtin_add_overflow(value, delta, &value)) {
          return Status::InvalidArgument("increment or decrement would overflow");
        }
        *counted = value;
        EntryChange change;
        change.action = EntryChange::Action::kWrite;
        change.value = std::to_string(value);
        return change;
      },
      [counted, done = std::move(done)](Status s) {
        if (!s.ok()) return done(std::move(s));
        done(*counted);
      });
}

Service::KeyPage CacheService::ScanKeys(size_t shard,
                                        const std::function<bool(std::string_view)>& match) const {
  KeyPage page;
  const size_t shards = cache_.l1().shard_count();
  page.keys = cache_.l1().Keys(shard, match);
  page.next_shard = shard + 1 < shards ? shard + 1 : 0;
  return page;
}

std::optional<std::string> CacheService::AnyKey(uint64_t seed) const {
  return cache_.l1().AnyKey(seed);
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

namespace {

// One pattern matching what any of `patterns` matches.
std::string JoinedPattern(const std::vector<std::string>& patterns) {
  if (patterns.size() == 1) return patterns[0];
  std::string joined;
  for (const auto& p : patterns) joined += (joined.empty() ? "(?:" : "|(?:") + p + ")";
  return joined;
}

}  // namespace

Status CacheService::ResolveProxyUrls(InvalidateRequest& request) const {
  if (request.urls.empty() && request.url_prefixes.empty()) return Status::Ok();
  if (!proxy_purge_) {
    return Status::InvalidArgument("urls and url_prefixes need the caching proxy (proxy.listen)");
  }
  if (!request.ns.empty()) {
    return Status::InvalidArgument("urls and url_prefixes are not in a namespace");
  }
  if (request.urls.size() + request.url_prefixes.size() > options_.limits.max_keys_per_request) {
    return Status::TooLarge("more urls and url_prefixes than limits.max_keys_per_request");
  }
  for (const auto* list : {&request.urls, &request.url_prefixes}) {
    for (const std::string& path : *list) {
      if (path.empty() || path.front() != '/') {
        return Status::InvalidArgument("a url to purge is a path starting with '/', got '" +
                                       path.substr(0, 64) + "'");
      }
      if (path.size() > options_.limits.max_pattern_bytes) {
        return Status::TooLarge("a url to purge is longer than limits.max_pattern_bytes");
      }
    }
  }
  proxy_purge_(request);
  if (request.keys.empty() && request.tags.empty() && !request.pattern && !request.model) {
    return Status::InvalidArgument("no proxy route takes any of the urls given");
  }
  return Status::Ok();
}

Status CacheService::PrepareInvalidate(InvalidateRequest& request,
                                       std::vector<std::string>& models,
                                       std::vector<std::shared_ptr<const KeyPattern>>& patterns)
    const {
  if (Status s = ResolveProxyUrls(request); !s.ok()) return s;
  if (request.keys.empty() && request.tags.empty() && !request.pattern && !request.model) {
    return Status::InvalidArgument("give at least one of keys, tags, pattern or model");
  }
  std::optional<size_t> space;
  if (!request.ns.empty()) {
    space = namespaces_.Find(request.ns);
    if (!space) return UnknownNamespace(request.ns);
  }
  // The caller's own criteria are checked against the limits before a model adds to them.
  if (request.keys.size() > options_.limits.max_keys_per_request) {
    return Status::TooLarge(std::to_string(request.keys.size()) + " keys exceed the limit of " +
                            std::to_string(options_.limits.max_keys_per_request) +
                            " (limits.max_keys_per_request)");
  }
  if (space) {
    for (auto& key : request.keys) key = namespaces_.StoredKey(*space, key);
  }
  for (const auto& key : request.keys) {
    if (Status s = ValidateKey(key); !s.ok()) return s;
  }
  if (Status s = ValidateTags(request.tags); !s.ok()) return s;
  std::vector<std::string> unscoped;       // patterns over keys as stored
  std::vector<std::string> every_space;    // the model's: in every namespace too
  if (request.pattern) {
    if (request.pattern->empty()) return Status::InvalidArgument("pattern must not be empty");
    if (request.pattern->size() > options_.limits.max_pattern_bytes) {
      return Status::TooLarge(TooLong("pattern", request.pattern->size(),
                                      options_.limits.max_pattern_bytes, "max_pattern_bytes"));
    }
    if (space) {
      auto compiled = KeyPattern::Compile(*request.pattern, namespaces_.Scope(*space));
      if (!compiled.ok()) return compiled.status();
      patterns.push_back(std::move(compiled).value());
    } else {
      unscoped.push_back(*request.pattern);
    }
  }
  if (request.model) {
    // The database changed: whatever any namespace cached of it goes, whichever namespace
    // (if any) the request named.
    const ModelInvalidation& m = *request.model;
    auto expanded = options_.model_rules.Expand(m.model, m.event, m.fields);
    if (!expanded.ok()) return expanded.status();
    for (auto& key : expanded->keys) {
      for (size_t i = 0; i < namespaces_.size(); ++i) {
        request.keys.push_back(namespaces_.StoredKey(i, key));
      }
      request.keys.push_back(std::move(key));
    }
    for (const auto& key : request.keys) {
      if (Status s = ValidateKey(key); !s.ok()) {
        return Status::InvalidArgument("model " + m.model + " gives a bad key: " + s.message());
      }
    }
    if (Status s = ValidateTags(expanded->tags); !s.ok()) {
      return Status::InvalidArgument("model " + m.model + " gives a bad tag: " + s.message());
    }
    for (auto& tag : expanded->tags) request.tags.push_back(std::move(tag));
    for (auto& p : expanded->patterns) {
      unscoped.push_back(p);
      every_space.push_back(std::move(p));
    }
    models = std::move(expanded->models);
  }
  if (!unscoped.empty()) {
    auto compiled = KeyPattern::Compile(JoinedPattern(unscoped));
    if (!compiled.ok()) return compiled.status();
    patterns.push_back(std::move(compiled).value());
  }
  if (!every_space.empty()) {
    for (size_t i = 0; i < namespaces_.size(); ++i) {
      auto compiled = KeyPattern::Compile(JoinedPattern(every_space), namespaces_.Scope(i));
      if (!compiled.ok()) return compiled.status();
      patterns.push_back(std::move(compiled).value());
    }
  }
  return Status::Ok();
}

Status CacheService::ValidateInvalidate(const InvalidateRequest& request) const {
  InvalidateRequest copy = request;
  std::vector<std::string> models;
  std::vector<std::shared_ptr<const KeyPattern>> patterns;
  return PrepareInvalidate(copy, models, patterns);
}

void CacheService::Invalidate(Frontend from, const InvalidateRequest& request,
                              Callback<Result<InvalidateResult>> done) {
  const LatencyClock::Point started = Started();
  using Patterns = std::vector<std::shared_ptr<const KeyPattern>>;
  auto patterns = std::make_shared<Patterns>();
  InvalidateRequest prepared = request;
  std::vector<std::string> models;
  if (Status s = PrepareInvalidate(prepared, models, *patterns); !s.ok()) {
    Record(from, Operation::kInvalidate, OutcomeOf(s), started);
    return done(std::move(s));
  }

  // Keys, then tags, then patterns, each through every tier, so that L1's counts say
  // which criterion removed an entry first.
  auto result = std::make_shared<InvalidateResult>();
  result->models = std::move(models);
  // What to tell the other instances, kept only when there are any.
  using Items = std::vector<std::string>;
  const bool told = parts_.coherence != nullptr;
  Items changed_keys = told ? prepared.keys : Items{};
  Items changed_tags = told ? prepared.tags : Items{};
  auto finish = [this, from, started, result, keys = std::move(changed_keys),
                 tags = std::move(changed_tags), patterns, done = std::move(done)]() mutable {
    if (!keys.empty()) Publish(CoherenceMessage::Kind::kKeys, std::move(keys));
    if (!tags.empty()) Publish(CoherenceMessage::Kind::kTags, std::move(tags));
    for (const auto& pattern : *patterns) {
      std::vector<std::string> items = {pattern->pattern()};
      if (!pattern->scope().empty()) items.push_back(pattern->scope());
      Publish(CoherenceMessage::Kind::kPattern, std::move(items));
    }
    Record(from, Operation::kInvalidate, Outcome::kOk, started);
    done(std::move(*result));
  };
  auto by_pattern = [this, patterns, result, finish]() mutable {
    InvalidatePatterns(patterns, 0, result, std::move(finish));
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

void CacheService::InvalidatePatterns(
    std::shared_ptr<const std::vector<std::shared_ptr<const KeyPattern>>> patterns, size_t next,
    std::shared_ptr<InvalidateResult> result, std::function<void()> finish) {
  if (next == patterns->size()) return finish();
  cache_.InvalidateMatching(
      (*patterns)[next], [this, patterns, next, result, finish = std::move(finish)](
                             std::vector<TierRemoval> r) mutable {
        result->by_pattern += r[0].removed;
        AddRemovals(result->tiers, r);
        InvalidatePatterns(std::move(patterns), next + 1, std::move(result), std::move(finish));
      });
}

void CacheService::Clear(Frontend from, Callback<Result<ClearResult>> done) {
  const LatencyClock::Point started = Started();
  cache_.Clear([this, from, started, done = std::move(done)](std::vector<TierRemoval> r) {
    Publish(CoherenceMessage::Kind::kClear, {});
    Record(from, Operation::kClear, Outcome::kOk, started);
    done(ClearResult{std::move(r)});
  });
}

void CacheService::BulkLoad(Frontend from, std::vector<SetRequest> entries,
                            Callback<Result<uint64_t>> done) {
  if (entries.size() > options_.limits.max_keys_per_request) {
    return done(Status::TooLarge(std::to_string(entries.size()) +
                                 " entries exceed the limit of " +
                                 std::to_string(options_.limits.max_keys_per_request) +
                                 " (limits.max_keys_per_request)"));
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (Status s = ValidateSet(entries[i]); !s.ok()) {
      const std::string message = "entries[" + std::to_string(i) + "]: " + s.message();
      return done(s.code() == StatusCode::kTooLarge ? Status::TooLarge(message)
                                                    : Status::InvalidArgument(message));
    }
  }
  struct Progress {
    std::atomic<size_t> left;
    std::atomic<uint64_t> loaded{0};
    Callback<Result<uint64_t>> done;
  };
  auto progress = std::make_shared<Progress>();
  progress->left = entries.size() + 1;  // one more for this loop, so none finishes early
  progress->done = std::move(done);
  const auto finish = [](const std::shared_ptr<Progress>& p) {
    if (p->left.fetch_sub(1) == 1) p->done(p->loaded.load());
  };
  for (SetRequest& entry : entries) {
    Set(from, std::move(entry), [progress, finish](Status s) {
      if (s.ok()) progress->loaded.fetch_add(1);
      finish(progress);
    });
  }
  finish(progress);
}

void CacheService::ScheduleInvalidation(Frontend from, double delay_seconds,
                                        InvalidateRequest request,
                                        Callback<Result<ScheduledJob>> done) {
  const std::optional<Duration> delay = RequestSeconds(delay_seconds);
  if (!delay) {
    return done(
        Status::InvalidArgument("delay_seconds must be a number of seconds from 0 to ten years"));
  }
  if (!scheduled_) return done(Status::Unavailable("no scheduler"));
  // Stored as the tags and pattern they are now: the job outlives the request's form.
  if (Status s = ResolveProxyUrls(request); !s.ok()) return done(std::move(s));
  if (Status s = ValidateInvalidate(request); !s.ok()) return done(std::move(s));
  scheduled_->Schedule(*delay, std::move(request), std::move(done));
}

Result<size_t> CacheService::RestoreScheduledInvalidations(Duration timeout) {
  if (!scheduled_) return size_t{0};
  return scheduled_->Restore(timeout);
}

std::vector<JobInfo> CacheService::ListJobs() const {
  if (parts_.scheduler == nullptr) return {};
  return parts_.scheduler->List();
}

Status CacheService::CancelJob(std::string_view id) {
  if (!scheduled_ || !scheduled_->Cancel(id)) {
    return Status::NotFound("no pending job '" + std::string(id) +
                            "' (unknown, running or done)");
  }
  return Status::Ok();
}

Status CacheService::StartWarm(std::string_view name) {
  if (parts_.warming == nullptr) {
    return Status::NotFound("no warming source named '" + std::string(name) + "'");
  }
  return parts_.warming->RunNow(name);
}

// --- Namespaces ---------------------------------------------------------------------------

namespace {

// When a version moved, for status (people read it; no logic depends on it).
WallTime BumpTime() { return std::chrono::system_clock::now(); }

// The counter a namespace's version is kept in (Tier::AddToCounter).
std::string VersionCounter(const std::string& name) { return "namespace-version:" + name; }

}  // namespace

Result<std::string> CacheService::NamespacedKey(std::string_view ns, std::string_view key) const {
  if (ns.empty()) return std::string(key);
  const std::optional<size_t> space = namespaces_.Find(ns);
  if (!space) return UnknownNamespace(ns);
  return namespaces_.StoredKey(*space, key);
}

void CacheService::BumpNamespace(Frontend from, std::string_view ns,
                                 Callback<Result<NamespaceStatus>> done) {
  const LatencyClock::Point started = Started();
  const std::optional<size_t> space = namespaces_.Find(ns);
  if (!space) {
    Status s = UnknownNamespace(ns);
    Record(from, Operation::kInvalidate, OutcomeOf(s), started);
    return done(std::move(s));
  }
  const size_t index = *space;
  auto finish = [this, from, started, index, done = std::move(done)](Result<uint64_t> version) {
    if (!version.ok()) {
      Record(from, Operation::kInvalidate, OutcomeOf(version.status()), started);
      return done(version.status());
    }
    namespaces_.RaiseTo(index, *version, BumpTime());
    Publish(CoherenceMessage::Kind::kNamespace,
            {namespaces_.name(index), std::to_string(namespaces_.version(index))});
    Record(from, Operation::kInvalidate, Outcome::kOk, started);
    done(namespaces_.Status()[index]);
  };
  const uint64_t current = namespaces_.version(index);
  const std::optional<std::string> keeper = cache_.CounterTier();
  if (!keeper) return finish(current + 1);
  // The tier keeping versions decides, so that two instances bumping at once get two
  // versions, and the next start reads the newest.
  cache_.AddToCounter(
      VersionCounter(namespaces_.name(index)), 1,
      [this, index, current, keeper = *keeper, finish = std::move(finish)](
          Result<int64_t> counter) {
        if (!counter.ok()) {
          return finish(Status::Unavailable("namespace " + namespaces_.name(index) +
                                            " not bumped: its version is kept in tier " +
                                            keeper + ": " + counter.status().message()));
        }
        uint64_t version = static_cast<uint64_t>(std::max<int64_t>(*counter, 0));
        if (version <= current) {
          // The tier lost its counter (flushed): push it past what this instance uses.
          cache_.AddToCounter(VersionCounter(namespaces_.name(index)),
                              static_cast<int64_t>(current + 1 - version), [](Result<int64_t>) {});
          version = current + 1;
        }
        finish(version);
      });
}

Status CacheService::LoadNamespaceVersions(Duration timeout) {
  if (namespaces_.empty() || !cache_.CounterTier()) return Status::Ok();
  struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    size_t left;
    Status first_error;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = namespaces_.size();
  for (size_t i = 0; i < namespaces_.size(); ++i) {
    const uint64_t configured = namespaces_.version(i);
    cache_.AddToCounter(VersionCounter(namespaces_.name(i)), 0,
                        [this, i, configured, pending](Result<int64_t> counter) {
      if (counter.ok()) {
        const auto stored = static_cast<uint64_t>(std::max<int64_t>(*counter, 0));
        if (stored < configured) {
          // First start (or a newer version in the config): the tier learns it.
          cache_.AddToCounter(VersionCounter(namespaces_.name(i)),
                              static_cast<int64_t>(configured - stored), [](Result<int64_t>) {});
        } else {
          namespaces_.RaiseTo(i, stored, BumpTime());
        }
      }
      std::lock_guard lock(pending->mu);
      if (!counter.ok() && pending->first_error.ok()) pending->first_error = counter.status();
      if (--pending->left == 0) pending->cv.notify_all();
    });
  }
  std::unique_lock lock(pending->mu);
  if (!pending->cv.wait_for(lock, timeout, [&] { return pending->left == 0; })) {
    return Status::DeadlineExceeded("namespace versions not read within " +
                                    std::to_string(ToSeconds(timeout)) + " s");
  }
  return pending->first_error;
}

void CacheService::ApplyRemoteNamespaceVersion(const CoherenceMessage& message) {
  if (message.kind == CoherenceMessage::Kind::kClear) {
    // The channel is back after a break: a bump may have gone unheard.
    (void)LoadNamespaceVersions(Duration::zero());
    return;
  }
  if (message.kind != CoherenceMessage::Kind::kNamespace || message.items.size() != 2) return;
  const std::optional<size_t> space = namespaces_.Find(message.items[0]);
  uint64_t version = 0;
  const std::string& text = message.items[1];
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (!space || ec != std::errc() || end != text.data() + text.size()) return;
  namespaces_.RaiseTo(*space, version, BumpTime());
}

void CacheService::RaiseNamespaceVersions(
    const std::vector<std::pair<std::string, uint64_t>>& versions) {
  for (const auto& [name, version] : versions) {
    if (auto space = namespaces_.Find(name)) {
      namespaces_.RaiseTo(*space, version, BumpTime());
    }
  }
}

void CacheService::SetHotSetReport(HotSetReport report) {
  MutexLock lock(hot_set_mu_);
  hot_set_ = std::move(report);
}

ServiceStatus CacheService::GetStatus(Frontend from) {
  const LatencyClock::Point started = Started();
  ServiceStatus status;
  status.version = TIERCACHE_VERSION;
  status.uptime = std::chrono::steady_clock::now() - started_;
  status.l1 = cache_.l1().Stats();
  status.lower_tiers = cache_.LowerTiers();
  status.ready = cache_.RequiredTiersUp();
  status.limits = options_.limits;
  if (parts_.coherence != nullptr) status.coherence = parts_.coherence->stats();
  if (parts_.warming != nullptr) status.warming = parts_.warming->Sources();
  if (KeyStats* stats = key_stats()) status.key_groups = stats->Snapshot();
  status.monitoring = options_.monitoring;
  status.config_json = config_json_;
  if (parts_.scheduler != nullptr) {
    status.jobs = parts_.scheduler->List();
    status.job_kinds = parts_.scheduler->KindStats();
  }
  if (Result<uint64_t> rss = ResidentBytes(); rss.ok()) status.resident_bytes = *rss;
  status.largest_tags = cache_.l1().LargestTags(10);
  status.namespaces = namespaces_.Status();
  if (proxy_stats_) status.proxy_routes = proxy_stats_();
  {
    MutexLock lock(hot_set_mu_);
    status.hot_set = hot_set_;
  }
  status.gets = Summary(Operation::kGet);
  status.sets = Summary(Operation::kSet);
  status.deletes = Summary(Operation::kDelete);
  Record(from, Operation::kStatus, Outcome::kOk, started);
  return status;
}

MetricsSnapshot CacheService::Metrics() const {
  MetricsSnapshot m;
  m.requests = metrics_.Snapshot();
  for (size_t f = 0; f < Frontend::Count(); ++f) {
    const ConnectionMetrics& c = connections_[f];
    m.connections.push_back(ConnectionCounts{Frontend::At(f),
                                             c.open.load(std::memory_order_relaxed),
                                             c.accepted.load(std::memory_order_relaxed),
                                             c.rejected.load(std::memory_order_relaxed)});
  }
  m.l1 = cache_.l1().Stats();
  m.lower_tiers = cache_.LowerTiers();
  if (parts_.warming != nullptr) m.warming = parts_.warming->Sources();
  if (KeyStats* stats = key_stats()) m.key_groups = stats->Snapshot();
  if (parts_.scheduler != nullptr) {
    m.scheduler = true;
    m.jobs = parts_.scheduler->List();
    m.job_kinds = parts_.scheduler->KindStats();
  }
  m.uptime = std::chrono::steady_clock::now() - started_;
  m.namespaces = namespaces_.Status();
  if (proxy_stats_) m.proxy_routes = proxy_stats_();
  return m;
}

HistorySnapshot CacheService::History(std::optional<WallTime> since) const {
  HistorySnapshot h;
  if (parts_.history != nullptr) {
    h.samples = since ? parts_.history->Since(*since) : parts_.history->Snapshot();
    h.capacity = parts_.history->capacity();
  }
  h.l1 = cache_.l1().Stats();
  h.lower_tiers = cache_.LowerTiers();
  return h;
}

}  // namespace tiercache
