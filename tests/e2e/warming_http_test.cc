// An `http` warming source through the daemon, against a test origin on a loopback port:
// 2xx bodies stored, a 500 counted and not stored, retries, and the success rate in
// /v1/status.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "tests/e2e/e2e_helpers.h"
#include "tests/support/poll.h"
#include "tests/support/test_origin.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;

TEST_CASE("Warming: AnHttpSourceStoresTwoHundredsAndCountsAFiveHundredAfterItsRetries",
          "[e2e][warming]") {
  TestOrigin origin;
  origin.Serve("/a", {200, "page a", "text/html"});
  origin.Serve("/b", {200, "page b", "application/xhtml+xml; charset=utf-8"});
  origin.Serve("/err", {500, "broken", "text/plain"});
  origin.Serve("/flaky", {200, "flaky page", "text/html"});
  origin.FailFirst("/flaky", 1, 503);
  DaemonProcess daemon(
      "warming:\n  sources:\n    - name: pages\n      type: http\n      base_url: " +
      origin.base_url() +
      "\n      key: \"page:{name}\"\n      max_attempts: 2\n      backoff: 10ms\n"
      "      endpoints:\n        - {path: /a, name: a}\n        - {path: /b, name: b}\n"
      "        - {path: /err, name: err}\n        - {path: /flaky, name: flaky}\n");
  HttpClient client(daemon.http_port());
  REQUIRE(client.PostJson("/v1/warm", R"({"source": "pages"})").status == 202);
  nlohmann::json source;
  REQUIRE(PollUntil(
      [&] {
        source = StatusJson(client).at("warming").at(0);
        return source.at("runs") == 1;
      },
      10s));
  INFO(source.dump());
  CHECK(source.at("kind") == "http");
  CHECK(source.at("attempted") == 4);
  CHECK(source.at("written") == 3);
  CHECK(source.at("failures") == 1);
  CHECK(source.at("success_rate").get<double>() == Approx(0.75));
  CHECK(source.at("last_run").at("ok") == true);
  CHECK_THAT(source.at("last_run").at("error").get<std::string>(), Catch::Contains("500"));

  CHECK(client.Get("/v1/keys/page:a").body == "page a");
  CHECK(client.Get("/v1/keys/page:a").Header("Content-Type") == "text/html");
  CHECK(client.Get("/v1/keys/page:b").body == "page b");
  // Each body keeps its origin's content type.
  CHECK(client.Get("/v1/keys/page:b").Header("Content-Type") ==
        "application/xhtml+xml; charset=utf-8");
  CHECK(client.Get("/v1/keys/page:flaky").body == "flaky page");  // stored after a retry
  CHECK(client.Get("/v1/keys/page:err").status == 404);
  CHECK(origin.requests("/err") == 2);    // max_attempts
  CHECK(origin.requests("/flaky") == 2);  // one 503, then the page
  const std::string metrics = client.Get("/metrics").body;
  CHECK_THAT(metrics, Catch::Contains("tiercache_warm_success_ratio{source=\"pages\"} 0.75"));
}

// The times of the source's runs as the origin saw them: one request per run.
TEST_CASE("Warming: ATwoSecondIntervalSourceRunsEveryTwoSecondsAndNeverOverlapsItself",
          "[e2e][warming]") {
  TestOrigin origin;
  origin.Serve("/quick", {200, "q", "text/plain"});
  // Each run of the slow source takes 3 s, longer than its 2 s interval.
  origin.Serve("/slow", {200, "s", "text/plain", std::chrono::milliseconds(3000)});
  DaemonProcess daemon(
      "scheduler: {workers: 4}\nwarming:\n  max_concurrent_runs: 2\n  sources:\n"
      "    - {name: quick, type: http, interval: 2s, base_url: \"" + origin.base_url() +
      "\", endpoints: [/quick]}\n"
      "    - {name: slow, type: http, interval: 2s, timeout: 10s, base_url: \"" +
      origin.base_url() + "\", endpoints: [/slow]}\n");
  HttpClient client(daemon.http_port());
  std::this_thread::sleep_for(9s);
  const auto warming = StatusJson(client).at("warming");
  const auto& quick = warming.at(0);
  const auto& slow = warming.at(1);
  INFO(warming.dump());
  // About every 2 s: runs at 2, 4, 6 and 8 s.
  CHECK(origin.requests("/quick") >= 3);
  CHECK(origin.requests("/quick") <= 5);
  CHECK(quick.at("runs").get<uint64_t>() >= 3);
  // Never overlapping: 3 s runs starting at 2 s fit at most three times into 9 s
  // (2-5, 6-9 when due times it overlaps are skipped), never the 4 an overlap would give.
  CHECK(origin.requests("/slow") >= 1);
  CHECK(origin.requests("/slow") <= 3);
  CHECK(slow.at("attempted").get<uint64_t>() + (slow.at("running").get<bool>() ? 1 : 0) <= 3);
}

}  // namespace
}  // namespace tiercache::test
