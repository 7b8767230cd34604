// An `http` warming source through the daemon, against a test origin on a loopback port:
// 2xx bodies stored, a 500 counted and not stored, retries, and the success rate in
// /v1/status.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

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
  origin.Serve("/b", {200, "page b", "text/html"});
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
  CHECK(client.Get("/v1/keys/page:b").body == "page b");
  CHECK(client.Get("/v1/keys/page:flaky").body == "flaky page");  // stored after a retry
  CHECK(client.Get("/v1/keys/page:err").status == 404);
  CHECK(origin.requests("/err") == 2);    // max_attempts
  CHECK(origin.requests("/flaky") == 2);  // one 503, then the page
  const std::string metrics = client.Get("/metrics").body;
  CHECK_THAT(metrics, Catch::Contains("tiercache_warm_success_ratio{source=\"pages\"} 0.75"));
}

}  // namespace
}  // namespace tiercache::test
