// Unit tests of the Prometheus text rendered from the service's metrics snapshot.

#include "server/exposition/prometheus_text.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/cache_service.h"
#include "tests/core/sync_service.h"
#include "core/clock.h"
#include "core/l1_shard.h"
#include "core/l1_store.h"
#include "core/status.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;

class MetricsTest {
 protected:
  MetricsTest() {
    L1Options options;
    options.shards = 2;
    options.max_entries = 100;
    options.max_bytes = 1 << 20;
    store_ = std::make_unique<L1Store>(options, AdaptiveOptions{}, clock_);
    cache_ = std::make_unique<TieredCache>(*store_, 1.0, std::vector<TieredCache::LowerTier>{},
                                           TierHealthOptions{}, clock_);
    service_ = std::make_unique<CacheService>(Limits{}, StrategyOptions{}, *cache_);
  }

  // One HTTP set, then over gRPC one hit and one miss.
  void RunSetHitMiss() {
    SetRequest request;
    request.key = "k";
    request.value = "v";
    REQUIRE(test::SyncSet(*service_, Frontend::Named("http"), request).ok());
    REQUIRE(test::SyncGet(*service_, Frontend::Named("grpc"), "k").ok());
    REQUIRE_FALSE(test::SyncGet(*service_, Frontend::Named("grpc"), "absent").ok());
  }

  // The request families, rendered from the recorder alone.
  std::string Render() const {
    MetricsSnapshot snapshot;
    snapshot.requests = metrics_.Snapshot();
    return RenderServiceMetrics(snapshot);
  }

  static std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  static bool HasLine(const std::string& text, std::string_view line) {
    for (const auto& l : Lines(text)) {
      if (l == line) return true;
    }
    return false;
  }

  static constexpr double kAbsent = -1.0;

  // The value of the sample `series` (name plus braces, if any) in `text`; kAbsent if
  // there is no such line.
  static double Sample(const std::string& text, std::string_view series) {
    for (const auto& l : Lines(text)) {
      if (l.size() > series.size() && l.compare(0, series.size(), series) == 0 &&
          l[series.size()] == ' ') {
        const std::string value = l.substr(series.size() + 1);
        if (value == "+Inf") return std::numeric_limits<double>::infinity();
        return std::strtod(value.c_str(), nullptr);
      }
    }
    return kAbsent;
  }

  static std::string BucketSeries(std::string_view le) {
    return std::string(
               "tiercache_request_duration_seconds_bucket{frontend=\"http\",operation=\"get\",le=\"") +
           std::string(le) + "\"}";
  }

  // Every bucket value of the http/get histogram, in the order rendered.
  static std::vector<double> BucketValues(const std::string& text) {
    const std::string prefix =
        "tiercache_request_duration_seconds_bucket{frontend=\"http\",operation=\"get\",le=\"";
    std::vector<double> values;
    for (const auto& l : Lines(text)) {
      if (l.compare(0, prefix.size(), prefix) == 0) {
        values.push_back(std::strtod(l.substr(l.rfind(' ') + 1).c_str(), nullptr));
      }
    }
    return values;
  }

  void Record(Frontend f, Operation op, Outcome o, Duration latency = 1ms) {
    metrics_.Record(f, op, o, latency);
  }

  RequestMetrics metrics_;
  FakeClock clock_;
  std::unique_ptr<L1Store> store_;
  std::unique_ptr<TieredCache> cache_;
  std::unique_ptr<CacheService> service_;
};

TEST_CASE_METHOD(MetricsTest, "Metrics: RequestFamiliesHaveHelpAndType", "[metrics]") {
  Record(Frontend::Named("http"), Operation::kGet, Outcome::kHit);
  const std::string text = Render();
  REQUIRE(HasLine(text, "# HELP tiercache_requests_total Requests served, by front end, "
                        "operation and outcome."));
  REQUIRE(HasLine(text, "# TYPE tiercache_requests_total counter"));
  REQUIRE(HasLine(text, "# TYPE tiercache_request_duration_seconds histogram"));
  REQUIRE(text.find("# HELP tiercache_request_duration_seconds ") != std::string::npos);
}

TEST_CASE_METHOD(MetricsTest, "Metrics: RequestCounterCarriesFrontendOperationOutcomeLabels",
                 "[metrics]") {
  for (int i = 0; i < 3; ++i) Record(Frontend::Named("grpc"), Operation::kSet, Outcome::kTooLarge);
  Record(Frontend::Named("http"), Operation::kGet, Outcome::kMiss);
  const std::string text = Render();
  REQUIRE(Sample(text, "tiercache_requests_total{frontend=\"grpc\",operation=\"set\","
                       "outcome=\"too_large\"}") == 3.0);
  REQUIRE(Sample(text, "tiercache_requests_total{frontend=\"http\",operation=\"get\","
                       "outcome=\"miss\"}") == 1.0);
  REQUIRE(Sample(text, "tiercache_requests_total{frontend=\"http\",operation=\"get\","
                       "outcome=\"hit\"}") == kAbsent);
}

TEST_CASE_METHOD(MetricsTest, "Metrics: HistogramBucketsAreCumulativeAndCountEqualsInfBucket",
                 "[metrics]") {
  Record(Frontend::Named("http"), Operation::kGet, Outcome::kHit, 5us);    // le 1e-05
  Record(Frontend::Named("http"), Operation::kGet, Outcome::kHit, 30us);   // le 5e-05
  Record(Frontend::Named("http"), Operation::kGet, Outcome::kHit, 1ms);    // le 0.001 (on the bound)
  Record(Frontend::Named("http"), Operation::kGet, Outcome::kMiss, 2ms);   // le 0.0025
  Record(Frontend::Named("http"), Operation::kGet, Outcome::kMiss, 2s);    // only +Inf
  const std::string text = Render();

  REQUIRE(Sample(text, BucketSeries("1e-05")) == 1.0);
  REQUIRE(Sample(text, BucketSeries("2.5e-05")) == 1.0);
  REQUIRE(Sample(text, BucketSeries("5e-05")) == 2.0);
  REQUIRE(Sample(text, BucketSeries("0.0005")) == 2.0);
  REQUIRE(Sample(text, BucketSeries("0.001")) == 3.0);
  REQUIRE(Sample(text, BucketSeries("0.0025")) == 4.0);
  REQUIRE(Sample(text, BucketSeries("1")) == 4.0);
  REQUIRE(Sample(text, BucketSeries("+Inf")) == 5.0);

  const std::vector<double> buckets = BucketValues(text);
  REQUIRE(buckets.size() == RequestMetrics::kBuckets.size() + 1);
  for (size_t i = 1; i < buckets.size(); ++i) REQUIRE(buckets[i] >= buckets[i - 1]);

  const std::string base = "{frontend=\"http\",operation=\"get\"}";
  REQUIRE(Sample(text, "tiercache_request_duration_seconds_count" + base) == buckets.back());
  REQUIRE(Sample(text, "tiercache_request_duration_seconds_count" + base) == 5.0);
  REQUIRE(Sample(text, "tiercache_request_duration_seconds_sum" + base) ==
          Approx(2.003035).epsilon(1e-12));
}

TEST_CASE_METHOD(MetricsTest, "Metrics: HistogramIsRenderedOnlyForUsedFrontendOperations",
                 "[metrics]") {
  Record(Frontend::Named("http"), Operation::kGet, Outcome::kHit);
  const std::string text = Render();
  REQUIRE(text.find("frontend=\"grpc\"") == std::string::npos);
  REQUIRE(text.find("operation=\"set\"") == std::string::npos);
  REQUIRE(Sample(text, "tiercache_request_duration_seconds_count{frontend=\"http\","
                       "operation=\"get\"}") == 1.0);
}

TEST_CASE_METHOD(MetricsTest, "Metrics: AppendSampleFormatsIntegersFractionsAndInfinity",
                 "[metrics]") {
  std::string out;
  AppendSample(out, "a", "", 3.0);
  AppendSample(out, "b", "x=\"y\"", 1.5);
  AppendSample(out, "c", "", std::numeric_limits<double>::infinity());
  AppendSample(out, "d", "", 12345678901.0);
  REQUIRE(out == "a 3\nb{x=\"y\"} 1.5\nc +Inf\nd 12345678901\n");
}

TEST_CASE_METHOD(MetricsTest, "Metrics: AppendFamilyHeaderWritesHelpThenType", "[metrics]") {
  std::string out;
  AppendFamilyHeader(out, "tiercache_x_total", "counter", "Things.");
  REQUIRE(out == "# HELP tiercache_x_total Things.\n# TYPE tiercache_x_total counter\n");
}

TEST_CASE_METHOD(MetricsTest, "Metrics: ServiceRendersEveryFamilyWithHelpAndType", "[metrics]") {
  RunSetHitMiss();
  const std::string text = RenderServiceMetrics(service_->Metrics());

  const std::vector<std::pair<std::string, std::string>> families = {
      {"tiercache_requests_total", "counter"},
      {"tiercache_request_duration_seconds", "histogram"},
      {"tiercache_l1_hits_total", "counter"},
      {"tiercache_l1_misses_total", "counter"},
      {"tiercache_l1_evictions_total", "counter"},
      {"tiercache_l1_expirations_total", "counter"},
      {"tiercache_l1_entries", "gauge"},
      {"tiercache_l1_bytes", "gauge"},
      {"tiercache_l1_max_entries", "gauge"},
      {"tiercache_l1_max_bytes", "gauge"},
      {"tiercache_connections_open", "gauge"},
      {"tiercache_connections_rejected_total", "counter"},
      {"tiercache_uptime_seconds", "gauge"},
  };
  for (const auto& [name, type] : families) {
    CAPTURE(name);
    REQUIRE(text.find("# HELP " + name + " ") != std::string::npos);
    REQUIRE(HasLine(text, "# TYPE " + name + " " + type));
  }
}

TEST_CASE_METHOD(MetricsTest, "Metrics: ServiceRendersL1AndRequestValues", "[metrics]") {
  RunSetHitMiss();
  service_->Connections(Frontend::Named("http")).open = 3;
  service_->Connections(Frontend::Named("grpc")).rejected = 2;
  const std::string text = RenderServiceMetrics(service_->Metrics());

  REQUIRE(Sample(text, "tiercache_requests_total{frontend=\"http\",operation=\"set\","
                       "outcome=\"ok\"}") == 1.0);
  REQUIRE(Sample(text, "tiercache_requests_total{frontend=\"grpc\",operation=\"get\","
                       "outcome=\"hit\"}") == 1.0);
  REQUIRE(Sample(text, "tiercache_requests_total{frontend=\"grpc\",operation=\"get\","
                       "outcome=\"miss\"}") == 1.0);
  REQUIRE(Sample(text, "tiercache_request_duration_seconds_count{frontend=\"grpc\","
                       "operation=\"get\"}") == 2.0);
  REQUIRE(Sample(text, "tiercache_l1_hits_total") == 1.0);
  REQUIRE(Sample(text, "tiercache_l1_misses_total") == 1.0);
  REQUIRE(Sample(text, "tiercache_l1_entries") == 1.0);
  REQUIRE(Sample(text, "tiercache_l1_bytes") == static_cast<double>(L1Shard::Charge("k", "v", {})));
  REQUIRE(Sample(text, "tiercache_l1_max_entries") == 100.0);
  REQUIRE(Sample(text, "tiercache_l1_max_bytes") == 1048576.0);
  REQUIRE(Sample(text, "tiercache_connections_open{frontend=\"http\"}") == 3.0);
  REQUIRE(Sample(text, "tiercache_connections_open{frontend=\"grpc\"}") == 0.0);
  REQUIRE(Sample(text, "tiercache_connections_rejected_total{frontend=\"grpc\"}") == 2.0);
}

}  // namespace
}  // namespace tiercache
