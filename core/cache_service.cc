#include "core/cache_service.h"

#include <cmath>

#include "core/key_pattern.h"

namespace tiercache {

namespace {

std::string TooLong(std::string_view what, uint64_t size, uint64_t limit, std::string_view knob) {
  return std::string(what) + " of " + std::to_string(size) + " bytes exceeds the limit of " +
         std::to_string(limit) + " bytes (limits." + std::string(knob) + ")";
}

// Latency is always wall time, even when the cache runs on an injected clock.
TimePoint LatencyNow() { return std::chrono::steady_clock::now(); }

}  // namespace

CacheService::CacheService(const Limits& limits, const StrategyOptions& strategies, L1Store& l1)
    : limits_(limits),
      strategies_(strategies),
      l1_(l1),
      started_(std::chrono::steady_clock::now()) {}

void CacheService::Record(Frontend from, Operation op, Outcome outcome, TimePoint started) {
  metrics_.Record(from, op, outcome, LatencyNow() - started);
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

Result<Hit> CacheService::Get(Frontend from, std::string_view key) {
  const TimePoint started = LatencyNow();
  if (Status s = ValidateKey(key); !s.ok()) {
    Record(from, Operation::kGet, OutcomeOf(s), started);
    return s;
  }
  std::optional<L1Value> found = l1_.Get(key);
  if (!found) {
    Record(from, Operation::kGet, Outcome::kMiss, started);
    return Status::NotFound("key not found");
  }
  const Duration left = found->expires_at - found->read_at;
  Record(from, Operation::kGet, Outcome::kHit, started);
  return Hit{std::move(found->value), "L1", std::max(left, Duration::zero())};
}

Status CacheService::Set(Frontend from, SetRequest request) {
  const TimePoint started = LatencyNow();
  Status s = ValidateKey(request.key);
  if (s.ok() && request.value.size() > limits_.max_value_bytes) {
    s = Status::TooLarge(
        TooLong("value", request.value.size(), limits_.max_value_bytes, "max_value_bytes"));
  }
  if (s.ok()) s = ValidateTags(request.tags);
  if (s.ok() && request.ttl &&
      (*request.ttl <= Duration::zero() || *request.ttl > strategies_.max_timeout)) {
    s = Status::InvalidArgument("ttl must be greater than 0 and at most " +
                                std::to_string(static_cast<int64_t>(
                                    ToSeconds(strategies_.max_timeout))) +
                                " seconds");
  }
  if (s.ok()) {
    const StrategyKind kind = request.strategy.value_or(strategies_.default_strategy);
    Lifetime lifetime;
    if (kind == StrategyKind::kAdaptive) {
      lifetime.kind = Lifetime::Kind::kAdaptive;
      lifetime.timeout = request.ttl.value_or(strategies_.adaptive.base_timeout);
    } else {
      lifetime.timeout = request.ttl.value_or(strategies_.default_timeout);
    }
    auto value = std::make_shared<const std::string>(std::move(request.value));
    s = l1_.Set(request.key, std::move(value), std::move(request.tags), lifetime);
  }
  Record(from, Operation::kSet, OutcomeOf(s), started);
  return s;
}

Status CacheService::Delete(Frontend from, std::string_view key) {
  const TimePoint started = LatencyNow();
  Status s = ValidateKey(key);
  if (s.ok() && !l1_.Delete(key)) s = Status::NotFound("key not found");
  Record(from, Operation::kDelete, OutcomeOf(s), started);
  return s;
}

Result<InvalidateResult> CacheService::Invalidate(Frontend from,
                                                  const InvalidateRequest& request) {
  const TimePoint started = LatencyNow();
  auto fail = [&](Status s) -> Result<InvalidateResult> {
    Record(from, Operation::kInvalidate, OutcomeOf(s), started);
    return s;
  };
  if (request.keys.empty() && request.tags.empty() && !request.pattern) {
    return fail(Status::InvalidArgument("give at least one of keys, tags or pattern"));
  }
  if (request.keys.size() > limits_.max_keys_per_request) {
    return fail(Status::TooLarge(std::to_string(request.keys.size()) +
                                 " keys exceed the limit of " +
                                 std::to_string(limits_.max_keys_per_request) +
                                 " (limits.max_keys_per_request)"));
  }
  for (const auto& key : request.keys) {
    if (Status s = ValidateKey(key); !s.ok()) return fail(std::move(s));
  }
  if (Status s = ValidateTags(request.tags); !s.ok()) return fail(std::move(s));
  std::shared_ptr<const KeyPattern> pattern;
  if (request.pattern) {
    if (request.pattern->empty()) return fail(Status::InvalidArgument("pattern must not be empty"));
    if (request.pattern->size() > limits_.max_pattern_bytes) {
      return fail(Status::TooLarge(TooLong("pattern", request.pattern->size(),
                                           limits_.max_pattern_bytes, "max_pattern_bytes")));
    }
    auto compiled = KeyPattern::Compile(*request.pattern);
    if (!compiled.ok()) return fail(compiled.status());
    pattern = std::move(compiled).value();
  }

  InvalidateResult result;
  for (const auto& key : request.keys) result.by_keys += l1_.Delete(key) ? 1 : 0;
  if (!request.tags.empty()) result.by_tags = l1_.InvalidateTags(request.tags);
  if (pattern) result.by_pattern = l1_.InvalidateMatching(*pattern);
  Record(from, Operation::kInvalidate, Outcome::kOk, started);
  return result;
}

Result<uint64_t> CacheService::Clear(Frontend from) {
  const TimePoint started = LatencyNow();
  const uint64_t removed = l1_.Clear();
  Record(from, Operation::kClear, Outcome::kOk, started);
  return removed;
}

ServiceStatus CacheService::GetStatus(Frontend from) {
  const TimePoint started = LatencyNow();
  ServiceStatus status;
  status.version = TIERCACHE_VERSION;
  status.uptime = std::chrono::steady_clock::now() - started_;
  status.l1 = l1_.Stats();
  status.limits = limits_;
  Record(from, Operation::kStatus, Outcome::kOk, started);
  return status;
}

std::string CacheService::RenderMetrics() const {
  std::string out;
  out.reserve(16 * 1024);
  metrics_.RenderPrometheus(out);

  const L1Stats l1 = l1_.Stats();
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
  gauge("tiercache_uptime_seconds", "Seconds since the service started.",
        ToSeconds(std::chrono::steady_clock::now() - started_));
  return out;
}

}  // namespace tiercache
