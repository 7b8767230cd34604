#include "core/metrics.h"

#include <algorithm>
#include <cmath>

namespace tiercache {

std::string_view OperationName(Operation op) {
  switch (op) {
    case Operation::kGet: return "get";
    case Operation::kSet: return "set";
    case Operation::kDelete: return "delete";
    case Operation::kInvalidate: return "invalidate";
    case Operation::kClear: return "clear";
    case Operation::kStatus: return "status";
  }
  return "unknown";
}

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kHit: return "hit";
    case Outcome::kMiss: return "miss";
    case Outcome::kOk: return "ok";
    case Outcome::kNotFound: return "not_found";
    case Outcome::kInvalidArgument: return "invalid_argument";
    case Outcome::kTooLarge: return "too_large";
    case Outcome::kUnavailable: return "unavailable";
    case Outcome::kInternal: return "internal";
  }
  return "unknown";
}

Outcome OutcomeOf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return Outcome::kOk;
    case StatusCode::kNotFound: return Outcome::kNotFound;
    case StatusCode::kInvalidArgument: return Outcome::kInvalidArgument;
    case StatusCode::kTooLarge: return Outcome::kTooLarge;
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded: return Outcome::kUnavailable;
    case StatusCode::kInternal: return Outcome::kInternal;
  }
  return Outcome::kInternal;
}

uint64_t LatencyHistogram::Counts::count() const {
  uint64_t n = 0;
  for (uint64_t b : buckets) n += b;
  return n;
}

void LatencyHistogram::Observe(Duration latency) {
  const double seconds = ToSeconds(latency);
  size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(0, latency.count())),
                    std::memory_order_relaxed);
}

LatencyHistogram::Counts LatencyHistogram::Read() const {
  Counts counts;
  for (size_t b = 0; b < counts.buckets.size(); ++b) {
    counts.buckets[b] = buckets_[b].load(std::memory_order_relaxed);
  }
  counts.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return counts;
}

void RequestMetrics::Record(Frontend f, Operation op, Outcome outcome, Duration latency) {
  const size_t fo = f.index() * kOperationCount + static_cast<size_t>(op);
  requests_[fo * kOutcomeCount + static_cast<size_t>(outcome)].fetch_add(
      1, std::memory_order_relaxed);
  latency_[fo].Observe(latency);
  total_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t RequestMetrics::Requests(Frontend f, Operation op, Outcome outcome) const {
  const size_t fo = f.index() * kOperationCount + static_cast<size_t>(op);
  return requests_[fo * kOutcomeCount + static_cast<size_t>(outcome)].load(
      std::memory_order_relaxed);
}

std::array<uint64_t, LatencyHistogram::kBuckets.size() + 1> RequestMetrics::LatencyBuckets(
    Frontend f, Operation op) const {
  return latency_[f.index() * kOperationCount + static_cast<size_t>(op)]
      .Read()
      .buckets;
}

std::vector<RequestCounts> RequestMetrics::Snapshot() const {
  std::vector<RequestCounts> out;
  const size_t frontends = Frontend::Count();
  out.reserve(frontends * kOperationCount);
  for (size_t f = 0; f < frontends; ++f) {
    for (size_t op = 0; op < kOperationCount; ++op) {
      RequestCounts& c = out.emplace_back();
      c.frontend = Frontend::At(f);
      c.operation = static_cast<Operation>(op);
      const size_t fo = f * kOperationCount + op;
      for (size_t o = 0; o < kOutcomeCount; ++o) {
        c.outcomes[o] = requests_[fo * kOutcomeCount + o].load(std::memory_order_relaxed);
      }
      c.latency = latency_[fo].Read();
    }
  }
  return out;
}

}  // namespace tiercache
