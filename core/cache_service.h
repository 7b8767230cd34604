#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/l1_store.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "core/status.h"
#include "core/strategy_options.h"

namespace tiercache {

struct SetRequest {
  std::string key;
  std::string value;
  std::optional<Duration> ttl;          // default: strategies.default_timeout
  std::vector<std::string> tags;
  std::optional<StrategyKind> strategy;  // default: strategies.default_strategy
};

struct Hit {
  std::shared_ptr<const std::string> value;
  std::string_view tier;  // "L1"
  Duration ttl_left;
};

struct InvalidateRequest {
  std::vector<std::string> keys;
  std::vector<std::string> tags;
  std::optional<std::string> pattern;
};

// Entries removed by one invalidation, each counted once, under the criterion that
// removed it first (keys, then tags, then pattern).
struct InvalidateResult {
  uint64_t by_keys = 0;
  uint64_t by_tags = 0;
  uint64_t by_pattern = 0;
  uint64_t total() const { return by_keys + by_tags + by_pattern; }
};

struct ServiceStatus {
  std::string version;
  Duration uptime{0};
  L1Stats l1;
  Limits limits;
};

// The one entry point of the data path. Every front end (HTTP, gRPC) is a thin adapter
// that decodes a request, calls one of these methods and encodes the result; all
// validation against the limits, all cache logic and all request metrics are here.
// Thread-safe.
class CacheService {
 public:
  // Time comes from `l1`'s clock: the service reads none of its own.
  CacheService(const Limits& limits, const StrategyOptions& strategies, L1Store& l1);

  // kNotFound on a miss; kInvalidArgument / kTooLarge for a bad key.
  Result<Hit> Get(Frontend from, std::string_view key);
  Status Set(Frontend from, SetRequest request);
  // kNotFound if there was no live entry.
  Status Delete(Frontend from, std::string_view key);
  // Validates the whole request first: a bad key, tag or pattern changes nothing.
  Result<InvalidateResult> Invalidate(Frontend from, const InvalidateRequest& request);
  Result<uint64_t> Clear(Frontend from);
  ServiceStatus GetStatus(Frontend from);
  // Every metric family in Prometheus text format.
  std::string RenderMetrics() const;

  const Limits& limits() const { return limits_; }
  RequestMetrics& request_metrics() { return metrics_; }
  ConnectionMetrics& connection_metrics(Frontend f) {
    return connections_[static_cast<size_t>(f)];
  }

 private:
  Status ValidateKey(std::string_view key) const;
  Status ValidateTags(const std::vector<std::string>& tags) const;
  void Record(Frontend from, Operation op, Outcome outcome, TimePoint started);

  const Limits limits_;
  const StrategyOptions strategies_;
  L1Store& l1_;
  const TimePoint started_;
  RequestMetrics metrics_;
  std::array<ConnectionMetrics, kFrontendCount> connections_;
};

}  // namespace tiercache
