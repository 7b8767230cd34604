#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/frontend.h"
#include "core/status.h"

namespace tiercache {

enum class Operation : uint8_t { kGet, kSet, kDelete, kInvalidate, kClear, kStatus };
enum class Outcome : uint8_t {
  kHit,
  kMiss,
  kOk,
  kNotFound,
  kInvalidArgument,
  kTooLarge,
  kUnavailable,
  kInternal,
};

inline constexpr size_t kOperationCount = 6;
inline constexpr size_t kOutcomeCount = 8;

std::string_view OperationName(Operation op);
std::string_view OutcomeName(Outcome o);
Outcome OutcomeOf(const Status& status);

// A histogram of latencies over fixed buckets (10 µs … 1 s). Observing is three relaxed
// atomic increments, no lock. Thread-safe.
class LatencyHistogram {
 public:
  // Upper bounds of the buckets, in seconds.
  static constexpr std::array<double, 16> kBuckets = {
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
      0.005,   0.01,     0.025,   0.05,   0.1,     0.25,   0.5,   1.0};

  struct Counts {
    std::array<uint64_t, kBuckets.size() + 1> buckets{};  // per bucket, last is +Inf
    double sum_seconds = 0;
    uint64_t count() const;
  };

  void Observe(Duration latency);
  Counts Read() const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

// What one front end's requests of one operation came to so far.
struct RequestCounts {
  Frontend frontend;
  Operation operation = Operation::kGet;
  std::array<uint64_t, kOutcomeCount> outcomes{};  // by Outcome
  LatencyHistogram::Counts latency;
};

// Request counters and latency histograms, recorded by the service facade for every
// request of every front end. Recording is a few relaxed atomic increments, no lock.
class RequestMetrics {
 public:
  static constexpr const auto& kBuckets = LatencyHistogram::kBuckets;

  void Record(Frontend f, Operation op, Outcome outcome, Duration latency);

  uint64_t Requests(Frontend f, Operation op, Outcome outcome) const;
  // Every request recorded, of every front end (the daemon's own included).
  uint64_t total() const { return total_.load(std::memory_order_relaxed); }
  // Requests of one front end and operation counted in each latency bucket (kBuckets, then
  // +Inf), not cumulative: for percentiles over a window (core/stats_sampler.h).
  std::array<uint64_t, LatencyHistogram::kBuckets.size() + 1> LatencyBuckets(
      Frontend f, Operation op) const;

  // Every named front end's counts, operation by operation, front ends in id order.
  std::vector<RequestCounts> Snapshot() const;

 private:
  static constexpr size_t kSeries = Frontend::kMax * kOperationCount;
  std::array<std::atomic<uint64_t>, kSeries * kOutcomeCount> requests_{};
  std::array<LatencyHistogram, kSeries> latency_{};
  std::atomic<uint64_t> total_{0};
};

// Connection gauges and counters kept by the front ends.
struct ConnectionMetrics {
  std::atomic<int64_t> open{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected{0};  // refused at the connection limit
};

}  // namespace tiercache
