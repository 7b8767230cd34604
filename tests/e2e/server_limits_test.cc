// The server's own limits and observability: connection limit, idle timeout, Prometheus
// metrics for a known workload, liveness and readiness.

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/e2e/e2e_helpers.h"

namespace tiercache::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// Parses Prometheus text into "name{labels}" -> value (comments skipped).
std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

TEST_CASE("with max_connections 2, a third concurrent connection gets a 503 and is closed",
          "[limits]") {
  DaemonProcess daemon(R"(
server:
  max_connections: 2
)");
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);

  // Two connections, each proven open by a request. The readiness probe's connection may
  // take a moment to be counted as closed, so a first refusal is retried.
  HttpClient first(daemon.http_port());
  HttpClient second(daemon.http_port());
  for (HttpClient* client : {&first, &second}) {
    const auto deadline = steady_clock::now() + seconds(10);
    HttpOutcome outcome;
    do {
      outcome = client->TryRequest("GET", "/healthz");
      if (outcome.ok() && outcome.response.status == 200) break;
      std::this_thread::sleep_for(milliseconds(50));
    } while (steady_clock::now() < deadline);
    REQUIRE(outcome.ok());
    REQUIRE(outcome.response.status == 200);
    REQUIRE(client->connected());
  }

  HttpClient third(daemon.http_port());
  const HttpOutcome refused = third.TryRequest("GET", "/healthz");
  REQUIRE(refused.ok());
  CHECK(refused.response.status == 503);
  CHECK(IsJsonError(refused.response));
  CHECK_FALSE(refused.response.keep_alive);
  // The server closed it: nothing more comes.
  HttpClient fourth(daemon.http_port());
  fourth.Connect();
  std::string extra;
  const std::error_code closed = fourth.WaitForClose(seconds(10), &extra);
  CHECK_FALSE(IsTimeout(closed));
  CHECK(extra.find("503") != std::string::npos);

  // The first two still work, and once one goes, a new connection is served.
  CHECK(first.Get("/healthz").status == 200);
  CHECK(second.Get("/healthz").status == 200);
  second.Close();
  const auto deadline = steady_clock::now() + seconds(10);
  unsigned status = 0;
  do {
    HttpClient later(daemon.http_port());
    const HttpOutcome outcome = later.TryRequest("GET", "/healthz");
    status = outcome.ok() ? outcome.response.status : 0;
    if (status == 200) break;
    std::this_thread::sleep_for(milliseconds(50));
  } while (steady_clock::now() < deadline);
  CHECK(status == 200);
}

TEST_CASE(
    "with idle_timeout 1s, the server closes an idle keep-alive connection after about "
    "a second",
    "[limits]") {
  DaemonProcess daemon(R"(
server:
  idle_timeout: 1s
)");
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  REQUIRE(client.Put("/v1/keys/k", "v").status == 204);
  const auto idle_since = steady_clock::now();
  std::string received;
  const std::error_code closed = client.WaitForClose(seconds(30), &received);
  const auto idle_for = steady_clock::now() - idle_since;
  CAPTURE(closed.message(), received);
  CHECK_FALSE(IsTimeout(closed));
  CHECK(received.empty());
  CHECK(idle_for >= milliseconds(800));
  CHECK(idle_for < seconds(20));

  // A connection that keeps talking is not closed: requests 0.4 s apart for 2 s.
  HttpClient busy(daemon.http_port());
  for (int i = 0; i < 5; ++i) {
    REQUIRE(busy.Get("/v1/keys/k").status == 200);
    std::this_thread::sleep_for(milliseconds(400));
  }
  CHECK(busy.connections_opened() == 1);
}

TEST_CASE("/metrics counts a known workload: 3 GET hits and 2 misses", "[limits][metrics]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  REQUIRE(client.Put("/v1/keys/m", "v").status == 204);
  for (int i = 0; i < 3; ++i) REQUIRE(client.Get("/v1/keys/m").status == 200);
  REQUIRE(client.Get("/v1/keys/absent1").status == 404);
  REQUIRE(client.Get("/v1/keys/absent2").status == 404);

  const HttpResponse r = client.Get("/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.Header("Content-Type").rfind("text/plain", 0) == 0);
  INFO(r.body);
  CHECK(r.body.find("# TYPE tiercache_requests_total counter") != std::string::npos);
  CHECK(r.body.find("# TYPE tiercache_request_duration_seconds histogram") != std::string::npos);
  const auto samples = ParseMetrics(r.body);
  const auto value = [&](const std::string& name) {
    const auto it = samples.find(name);
    return it == samples.end() ? -1.0 : it->second;
  };
  const std::string http_get = R"(frontend="http",operation="get")";
  CHECK(value(R"(tiercache_requests_total{frontend="http",operation="get",outcome="hit"})") == 3);
  CHECK(value(R"(tiercache_requests_total{frontend="http",operation="get",outcome="miss"})") == 2);
  CHECK(value(R"(tiercache_requests_total{frontend="http",operation="set",outcome="ok"})") == 1);
  CHECK(value("tiercache_l1_hits_total") == 3);
  CHECK(value("tiercache_l1_misses_total") == 2);
  CHECK(value("tiercache_l1_entries") == 1);
  CHECK(value("tiercache_request_duration_seconds_bucket{" + http_get + R"(,le="+Inf"})") == 5);
  CHECK(value("tiercache_request_duration_seconds_count{" + http_get + "}") == 5);
  CHECK(value("tiercache_request_duration_seconds_bucket{" + http_get + R"(,le="1"})") <= 5);
  CHECK(value("tiercache_request_duration_seconds_sum{" + http_get + "}") >= 0);
  // Nothing was asked over gRPC.
  for (const auto& [name, v] : samples) {
    if (name.rfind("tiercache_requests_total{", 0) == 0) {
      CAPTURE(name);
      CHECK(name.find(R"(frontend="grpc")") == std::string::npos);
    }
  }
}

TEST_CASE("/healthz and /readyz answer 200 while serving", "[limits]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());
  const HttpResponse health = client.Get("/healthz");
  CHECK(health.status == 200);
  CHECK(health.Header("Content-Type").rfind("application/json", 0) == 0);
  const HttpResponse ready = client.Get("/readyz");
  CHECK(ready.status == 200);
  CHECK(client.Head("/healthz").status == 200);
}

}  // namespace
}  // namespace tiercache::test
