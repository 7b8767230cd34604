#include "core/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace tiercache {

std::string_view FrontendName(Frontend f) {
  switch (f) {
    case Frontend::kHttp: return "http";
    case Frontend::kGrpc: return "grpc";
    case Frontend::kInternal: return "internal";
  }
  return "unknown";
}

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

void AppendHistogram(std::string& out, std::string_view name, std::string_view labels,
                     const LatencyHistogram::Counts& counts) {
  if (counts.count() == 0) return;
  const std::string base(labels);
  const std::string prefix = base.empty() ? "" : base + ",";
  uint64_t cumulative = 0;
  char le[32];
  for (size_t b = 0; b < counts.buckets.size(); ++b) {
    cumulative += counts.buckets[b];
    if (b < LatencyHistogram::kBuckets.size()) {
      std::snprintf(le, sizeof le, "%g", LatencyHistogram::kBuckets[b]);
    } else {
      std::snprintf(le, sizeof le, "+Inf");
    }
    AppendSample(out, std::string(name) + "_bucket", prefix + "le=\"" + le + "\"",
                 static_cast<double>(cumulative));
  }
  AppendSample(out, std::string(name) + "_sum", base, counts.sum_seconds);
  // The +Inf bucket total, so that _count always agrees with the buckets.
  AppendSample(out, std::string(name) + "_count", base, static_cast<double>(cumulative));
}

void RequestMetrics::Record(Frontend f, Operation op, Outcome outcome, Duration latency) {
  const size_t fo = static_cast<size_t>(f) * kOperationCount + static_cast<size_t>(op);
  requests_[fo * kOutcomeCount + static_cast<size_t>(outcome)].fetch_add(
      1, std::memory_order_relaxed);
  latency_[fo].Observe(latency);
  total_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t RequestMetrics::Requests(Frontend f, Operation op, Outcome outcome) const {
  const size_t fo = static_cast<size_t>(f) * kOperationCount + static_cast<size_t>(op);
  return requests_[fo * kOutcomeCount + static_cast<size_t>(outcome)].load(
      std::memory_order_relaxed);
}

std::array<uint64_t, LatencyHistogram::kBuckets.size() + 1> RequestMetrics::LatencyBuckets(
    Frontend f, Operation op) const {
  return latency_[static_cast<size_t>(f) * kOperationCount + static_cast<size_t>(op)]
      .Read()
      .buckets;
}

std::string LabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c > 0x7e) {
      out += '_';
    } else {
      out += c;
    }
  }
  return out;
}

void AppendSample(std::string& out, std::string_view name, std::string_view labels,
                  double value) {
  out.append(name);
  if (!labels.empty()) {
    out.push_back('{');
    out.append(labels);
    out.push_back('}');
  }
  char buf[64];
  if (std::isinf(value)) {
    std::snprintf(buf, sizeof buf, " %s\n", value > 0 ? "+Inf" : "-Inf");
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, " %.0f\n", value);
  } else {
    // The shortest text that reads back as `value`: timestamps keep their milliseconds.
    buf[0] = ' ';
    const auto end = std::to_chars(buf + 1, buf + sizeof buf - 1, value).ptr;
    *end = '\n';
    out.append(buf, end + 1);
    return;
  }
  out.append(buf);
}

void AppendFamilyHeader(std::string& out, std::string_view name, std::string_view type,
                        std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void RequestMetrics::RenderPrometheus(std::string& out) const {
  AppendFamilyHeader(out, "tiercache_requests_total", "counter",
                     "Requests served, by front end, operation and outcome.");
  for (size_t f = 0; f < kFrontendCount; ++f) {
    for (size_t op = 0; op < kOperationCount; ++op) {
      for (size_t o = 0; o < kOutcomeCount; ++o) {
        const uint64_t n = requests_[(f * kOperationCount + op) * kOutcomeCount + o].load(
            std::memory_order_relaxed);
        if (n == 0) continue;
        std::string labels = "frontend=\"";
        labels.append(FrontendName(static_cast<Frontend>(f)))
            .append("\",operation=\"")
            .append(OperationName(static_cast<Operation>(op)))
            .append("\",outcome=\"")
            .append(OutcomeName(static_cast<Outcome>(o)))
            .append("\"");
        AppendSample(out, "tiercache_requests_total", labels, static_cast<double>(n));
      }
    }
  }

  AppendFamilyHeader(out, "tiercache_request_duration_seconds", "histogram",
                     "Time the service took to handle a request, by front end and operation.");
  for (size_t f = 0; f < kFrontendCount; ++f) {
    for (size_t op = 0; op < kOperationCount; ++op) {
      std::string labels = "frontend=\"";
      labels.append(FrontendName(static_cast<Frontend>(f)))
          .append("\",operation=\"")
          .append(OperationName(static_cast<Operation>(op)))
          .append("\"");
      AppendHistogram(out, "tiercache_request_duration_seconds", labels,
                      latency_[f * kOperationCount + op].Read());
    }
  }
}

}  // namespace tiercache
