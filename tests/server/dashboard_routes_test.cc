// GET /v1/stats/history and GET /dashboard as functions from request to response.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/cache_service.h"
#include "core/l1_store.h"
#include "core/stats_history.h"
#include "server/http_router.h"
#include "server/routes.h"

namespace tiercache::http_api {
namespace {

using namespace std::chrono_literals;

class DashboardRoutesFixture {
 public:
  DashboardRoutesFixture()
      : store_(L1Options{}, AdaptiveOptions{}, clock_),
        cache_(store_, 1.0, {}, TierHealthOptions{}, clock_),
        history_(3),
        service_(ServiceOptions{}, cache_, ServiceParts{.history = &history_}) {
    RegisterDashboardRoutes(router_, service_);
  }

  Response Get(std::string target) {
    Request req;
    req.method = Method::kGet;
    req.target = std::move(target);
    std::optional<Response> response;
    router_.Handle(req, [&](Response r) { response = std::move(r); });
    REQUIRE(response.has_value());
    return std::move(*response);
  }

  static std::string Header(const Response& r, std::string_view name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  }

  FakeClock clock_;
  L1Store store_;
  TieredCache cache_;
  StatsHistory history_;
  CacheService service_;
  Router router_;
};

StatsSample SampleAt(int64_t unix_ms, double requests_per_second) {
  StatsSample s;
  s.time = WallTime(std::chrono::milliseconds(unix_ms));
  s.requests_per_second = requests_per_second;
  return s;
}

TEST_CASE_METHOD(DashboardRoutesFixture, "StatsHistoryListsTheSamplesOldestFirst", "[dashboard]") {
  for (int i = 1; i <= 4; ++i) history_.Add(SampleAt(1000 * i, i));
  const Response r = Get("/v1/stats/history");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(Header(r, "Cache-Control") == "no-store");
  const auto doc = nlohmann::json::parse(std::string(r.payload()));
  CHECK(doc.at("capacity") == 3);
  REQUIRE(doc.at("samples").size() == 3);  // the first fell out of the ring
  CHECK(doc.at("samples")[0].at("unix_ms") == 2000);
  CHECK(doc.at("samples")[2].at("unix_ms") == 4000);
  CHECK(doc.at("samples")[2].at("requests_per_second") == 4.0);
}

TEST_CASE_METHOD(DashboardRoutesFixture, "StatsHistorySinceListsOnlyNewerSamples",
                 "[dashboard]") {
  for (int i = 1; i <= 3; ++i) history_.Add(SampleAt(1000 * i, i));
  const Response r = Get("/v1/stats/history?since=2000");
  REQUIRE(r.status == 200);
  const auto doc = nlohmann::json::parse(std::string(r.payload()));
  REQUIRE(doc.at("samples").size() == 1);
  CHECK(doc.at("samples")[0].at("unix_ms") == 3000);
  CHECK(doc.at("tiers").size() == 1);  // the health now comes with every answer
}

TEST_CASE_METHOD(DashboardRoutesFixture, "StatsHistoryRefusesABadQuery", "[dashboard]") {
  for (const char* target : {"/v1/stats/history?since=", "/v1/stats/history?since=-1",
                             "/v1/stats/history?since=12abc", "/v1/stats/history?since=1e3",
                             "/v1/stats/history?since=99999999999999999999",
                             "/v1/stats/history?limit=5"}) {
    CAPTURE(target);
    CHECK(Get(target).status == 400);
  }
}

TEST_CASE_METHOD(DashboardRoutesFixture, "StatsHistoryShowsNothingMeasuredAsNull", "[dashboard]") {
  StatsSample quiet = SampleAt(1000, 0);
  StatsSample busy = SampleAt(2000, 1234.56);
  busy.hit_rate = 2.0 / 3;
  busy.l1_hit_rate = 0.5;
  busy.get_p99_seconds = 0.000123456;
  busy.resident_bytes = 50u << 20;
  busy.l1_bytes = 4096;
  busy.l1_entries = 12;
  busy.tiers = {{"L2", TierState::kDown}};
  history_.Add(quiet);
  history_.Add(busy);
  const auto doc = nlohmann::json::parse(std::string(Get("/v1/stats/history").payload()));
  const auto& q = doc.at("samples")[0];
  CHECK(q.at("hit_rate").is_null());
  CHECK(q.at("l1_hit_rate").is_null());
  CHECK(q.at("get_p99_ms").is_null());
  CHECK(q.at("resident_bytes").is_null());
  CHECK(q.at("tiers") == nlohmann::json::object());
  const auto& b = doc.at("samples")[1];
  // Rounded for the chart: 4 decimals of a rate and of milliseconds.
  CHECK(b.at("hit_rate") == 0.6667);
  CHECK(b.at("l1_hit_rate") == 0.5);
  CHECK(b.at("get_p99_ms") == 0.1235);
  CHECK(b.at("requests_per_second") == 1234.6);
  CHECK(b.at("resident_bytes") == 50u << 20);
  CHECK(b.at("l1_bytes") == 4096);
  CHECK(b.at("l1_entries") == 12);
  CHECK(b.at("tiers") == nlohmann::json{{"L2", "down"}});
}

TEST_CASE_METHOD(DashboardRoutesFixture, "StatsHistoryGivesEveryTiersHealthNowL1First",
                 "[dashboard]") {
  REQUIRE(store_.Set("k", std::make_shared<const std::string>("v"), {},
                     Lifetime{Lifetime::Kind::kFixed, 10s})
              .ok());
  const auto doc = nlohmann::json::parse(std::string(Get("/v1/stats/history").payload()));
  CHECK(doc.at("samples").empty());
  REQUIRE(doc.at("tiers").size() == 1);
  CHECK(doc.at("tiers")[0].at("name") == "L1");
  CHECK(doc.at("tiers")[0].at("state") == "up");
  CHECK(doc.at("tiers")[0].at("entries") == 1);
  CHECK(doc.at("version") == TIERCACHE_VERSION);
}

TEST_CASE_METHOD(DashboardRoutesFixture, "PollingTheHistoryIsNotCountedAsARequest",
                 "[dashboard]") {
  Get("/v1/stats/history");
  for (Outcome o : {Outcome::kOk, Outcome::kHit}) {
    CHECK(service_.request_metrics().Requests(Frontend::Named("http"), Operation::kStatus, o) == 0);
  }
}

TEST_CASE_METHOD(DashboardRoutesFixture, "DashboardIsAnHtmlPageThatMayReachOnlyItsServer",
                 "[dashboard]") {
  const Response r = Get("/dashboard");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "text/html; charset=utf-8");
  const std::string policy = Header(r, "Content-Security-Policy");
  CHECK(policy.find("default-src 'none'") != std::string::npos);
  CHECK(policy.find("connect-src 'self'") != std::string::npos);
  const std::string_view page = r.payload();
  CHECK(page.starts_with("<!doctype html>"));
  CHECK(page.find("/v1/stats/history") != std::string_view::npos);
  CHECK(page.find("http://") == std::string_view::npos);
  CHECK(page.find("https://") == std::string_view::npos);
  CHECK(page.find("<script src") == std::string_view::npos);
  CHECK(page.find("<link rel=\"stylesheet\"") == std::string_view::npos);
}

}  // namespace
}  // namespace tiercache::http_api
