#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace tiercache {

// Where a request came from: a front end, or the daemon itself (the database change feed,
// scheduled jobs).
enum class Frontend : uint8_t { kHttp, kGrpc, kInternal };
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

inline constexpr size_t kFrontendCount = 3;
inline constexpr size_t kOperationCount = 6;
inline constexpr size_t kOutcomeCount = 8;

std::string_view FrontendName(Frontend f);
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

// Appends the _bucket, _sum and _count samples of one histogram series (`labels` may be
// empty); nothing for a series that has observed nothing.
void AppendHistogram(std::string& out, std::string_view name, std::string_view labels,
                     const LatencyHistogram::Counts& counts);

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

  // Appends the request families in Prometheus text format.
  void RenderPrometheus(std::string& out) const;

 private:
  std::array<std::atomic<uint64_t>, kFrontendCount * kOperationCount * kOutcomeCount> requests_{};
  std::array<LatencyHistogram, kFrontendCount * kOperationCount> latency_{};
  std::atomic<uint64_t> total_{0};
};

// Connection gauges and counters kept by the front ends.
struct ConnectionMetrics {
  std::atomic<int64_t> open{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected{0};  // refused at the connection limit
};

// Appends one sample line: `name{labels} value\n`. `labels` is empty or `a="x",b="y"`.
void AppendSample(std::string& out, std::string_view name, std::string_view labels, double value);
// `value` as a label value: quotes, backslashes and newlines escaped, and any byte that is
// not printable ASCII replaced by '_' (key segments are arbitrary bytes; the exposition
// format wants UTF-8).
std::string LabelValue(std::string_view value);
// Appends the `# HELP` and `# TYPE` lines of a family.
void AppendFamilyHeader(std::string& out, std::string_view name, std::string_view type,
                        std::string_view help);

}  // namespace tiercache
