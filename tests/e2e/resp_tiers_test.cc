// The RESP front end over a shared L2: two tiercached instances on one Redis (started for
// each test on a free loopback port). What one instance takes over RESP the other serves
// over HTTP and RESP, and counters incremented on both lose no increment.

#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "tests/e2e/e2e_helpers.h"
#include "tests/e2e/redis_cli.h"
#include "tests/support/poll.h"
#include "tests/support/redis_server.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;


// One Redis tier, sync, with coherence on (the default with a Redis tier). The command
// timeout is generous: a benchmark on a 2-core machine must not push commands past it.
std::string SharedL2Yaml(const RedisServer& redis) {
  return "tier_health: {interval: 250ms}\n"
         "tiers:\n  - type: redis\n    url: " +
         redis.url() + "\n    command_timeout: 2s\n";
}

// redis-cli's answer without the final newline (nil: "").
std::string Cli(uint16_t port, std::vector<std::string> args) {
  return CliOutput(RedisCli(port, std::move(args)));
}

// Two instances over one Redis, each subscribed to the other's changes.
struct SharedL2 {
  RedisServer redis;
  DaemonProcess a{SharedL2Yaml(redis)};
  DaemonProcess b{SharedL2Yaml(redis)};
  HttpClient http_a{a.http_port()};
  HttpClient http_b{b.http_port()};

  SharedL2() {
    const auto subscribed = [](HttpClient& c) {
      const nlohmann::json status = StatusJson(c);
      return status.contains("coherence") && status["coherence"].value("subscribed", false);
    };
    REQUIRE(PollUntil([&] { return subscribed(http_a) && subscribed(http_b); }, 5000ms));
  }
};

// `count` SETs of key:0.. as RESP, in a file of the daemon's directory, for redis-cli --pipe.
std::string PipeFile(const DaemonProcess& daemon, int count) {
  const std::string path = (daemon.dir() / "sets.resp").string();
  std::ofstream out(path, std::ios::binary);
  for (int i = 0; i < count; ++i) {
    const std::string key = "key:" + std::to_string(i);
    out << "*3\r\n$3\r\nSET\r\n$" << key.size() << "\r\n" << key << "\r\n$5\r\nvalue\r\n";
  }
  return path;
}

CommandResult Pipe(const DaemonProcess& daemon, const std::string& file) {
  return RunCommand({"/bin/sh", "-c",
                     std::string(kRedisCli) + " -h 127.0.0.1 -p " +
                         std::to_string(daemon.resp_port()) + " --pipe < " + file},
                    std::chrono::seconds(120));
}

TEST_CASE("a deep pipeline of SETs through a Redis tier gets every reply", "[e2e][tiers][resp]") {
  RedisServer redis;
  DaemonProcess daemon(SharedL2Yaml(redis));
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  // Far more than the replies a connection may owe (reading pauses), each answered only
  // once Redis has the write: the connection must wait for them, not go away.
  const CommandResult r = Pipe(daemon, PipeFile(daemon, 20'000));
  TIERCACHE_CAPTURE_COMMAND(r);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("errors: 0, replies: 20000"));
  CHECK(redis.Cli({"EVAL", "return #redis.call('KEYS', 'tiercache:k:*')", "0"}) == "20000");
}

TEST_CASE("SIGTERM while a pipeline writes through a Redis tier drains and exits 0",
          "[e2e][tiers][resp]") {
  RedisServer redis;
  DaemonProcess daemon(SharedL2Yaml(redis));
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  const std::string file = PipeFile(daemon, 300'000);
  auto load = std::async(std::launch::async, [&] { return Pipe(daemon, file); });
  REQUIRE(PollUntil([&] { return std::stoll(redis.Cli({"DBSIZE"})) > 2000; }, 30s));
  daemon.Signal(SIGTERM);
  // Writes in flight in Redis answer while the service they report to still exists.
  CHECK(daemon.WaitForExit(30s) == 0);
  load.wait();
}

TEST_CASE("a key SET over RESP on one instance is read over HTTP on another",
          "[e2e][tiers][resp]") {
  SharedL2 s;
  TIERCACHE_CAPTURE_DAEMON_LOG(s.a);

  REQUIRE(Cli(s.a.resp_port(), {"SET", "shared:greeting", "hello", "EX", "100"}) == "OK");
  const HttpResponse get = s.http_b.Get("/v1/keys/shared:greeting");
  REQUIRE(get.status == 200);
  CHECK(get.body == "hello");
  CHECK(get.Header("X-Cache-Tier") == "L2");
  // The lifetime given over RESP is the one L2 keeps (factor 1.0).
  REQUIRE(get.HasHeader("X-Cache-TTL"));
  const long ttl = std::stol(get.Header("X-Cache-TTL"));
  CHECK(ttl >= 95);
  CHECK(ttl <= 100);

  // And the other way: a PUT over HTTP on B is read over RESP on A.
  REQUIRE(s.http_b.Put("/v1/keys/shared:from-http?ttl=100", "written by B").status == 204);
  CHECK(Cli(s.a.resp_port(), {"GET", "shared:from-http"}) == "written by B");
  // A value with spaces and quotes, set over RESP on B, comes back byte for byte on A.
  REQUIRE(Cli(s.b.resp_port(), {"SET", "shared:spaces", "a \"quoted\" value"}) == "OK");
  CHECK(s.http_a.Get("/v1/keys/shared:spaces").body == "a \"quoted\" value");
}

TEST_CASE("TC.INVALIDATE TAGS on one instance removes what another SET over RESP",
          "[e2e][tiers][resp]") {
  SharedL2 s;
  TIERCACHE_CAPTURE_DAEMON_LOG(s.a);
  const uint16_t a = s.a.resp_port();
  const uint16_t b = s.b.resp_port();

  REQUIRE(Cli(a, {"SET", "tagged:1", "v", "EX", "300", "TAGS", "group"}) == "OK");
  REQUIRE(Cli(a, {"SET", "untagged:1", "v", "EX", "300"}) == "OK");
  // Read on both, so that both L1s hold a copy.
  REQUIRE(Cli(a, {"GET", "tagged:1"}) == "v");
  REQUIRE(Cli(b, {"GET", "tagged:1"}) == "v");

  CHECK(Cli(b, {"TC.INVALIDATE", "TAGS", "group"}) == "1");
  CHECK(Cli(b, {"GET", "tagged:1"}).empty());
  // A hears of it over the coherence channel, within a Redis round trip or so.
  CHECK(PollUntil([&] { return Cli(a, {"GET", "tagged:1"}).empty(); }, 1000ms));
  CHECK(Cli(a, {"GET", "untagged:1"}) == "v");
  CHECK(s.http_a.Get("/v1/keys/tagged:1").status == 404);
}

TEST_CASE("INCR from two instances sharing L2 counts every increment", "[e2e][tiers][resp]") {
  SharedL2 s;
  constexpr int kPerInstance = 10'000;

  // redis-benchmark, the real client, with 8 connections to each instance at once. The
  // options go before the command: everything after it is the command's arguments.
  const auto incr = [](uint16_t port) {
    return RunCommand({kRedisBenchmark, "-h", "127.0.0.1", "-p", std::to_string(port), "-n",
                       std::to_string(kPerInstance), "-c", "8", "-q", "INCR", "counter"},
                      240s);
  };
  auto on_a = std::async(std::launch::async, incr, s.a.resp_port());
  auto on_b = std::async(std::launch::async, incr, s.b.resp_port());
  const CommandResult ra = on_a.get();
  const CommandResult rb = on_b.get();
  {
    TIERCACHE_CAPTURE_COMMAND(ra);
    REQUIRE_FALSE(ra.timed_out);
    REQUIRE(ra.exit_code == 0);  // exit 1 at the first error reply
  }
  {
    TIERCACHE_CAPTURE_COMMAND(rb);
    REQUIRE_FALSE(rb.timed_out);
    REQUIRE(rb.exit_code == 0);
  }
  TIERCACHE_CAPTURE_DAEMON_LOG(s.a);

  // Each instance's last increments reach the other's L1 as coherence messages, a
  // moment after the benchmarks end: poll briefly. A lost increment never turns up.
  const std::string want = std::to_string(2 * kPerInstance);
  std::string on_a_value, on_b_value;
  const bool settled = PollUntil(
      [&] {
        on_a_value = Cli(s.a.resp_port(), {"GET", "counter"});
        on_b_value = Cli(s.b.resp_port(), {"GET", "counter"});
        return on_a_value == want && on_b_value == want;
      },
      2000ms);
  CAPTURE(on_a_value, on_b_value);
  CHECK(settled);
  CHECK(on_a_value == want);
  CHECK(on_b_value == want);
  CHECK(s.http_b.Get("/v1/keys/counter").body == want);
}

TEST_CASE("TTL and read-modify-writes keep the lifetime a key was written with, across tiers",
          "[e2e][tiers][resp]") {
  SharedL2 s;
  TIERCACHE_CAPTURE_DAEMON_LOG(s.a);
  const uint16_t a = s.a.resp_port();
  // L1 keeps a tenth of the lifetime with a lower tier (l1.ttl_factor 0.1): TTL still
  // answers at the scale of EX, and an APPEND keeps it rather than shrinking it.
  REQUIRE(Cli(a, {"SET", "life", "v", "EX", "100"}) == "OK");
  const long first = std::stol(Cli(a, {"TTL", "life"}));
  CHECK(first >= 98);
  CHECK(first <= 100);
  REQUIRE(Cli(a, {"APPEND", "life", "w"}) == "2");
  REQUIRE(Cli(a, {"APPEND", "life", "x"}) == "3");
  const long after = std::stol(Cli(a, {"TTL", "life"}));
  CHECK(after >= 97);
  CHECK(after <= 100);
  const HttpResponse l2 = s.http_b.Get("/v1/keys/life");
  REQUIRE(l2.status == 200);
  CHECK(l2.body == "vwx");
  CHECK(std::stol(l2.Header("X-Cache-TTL")) >= 95);
}

TEST_CASE("a counter incremented in L2 keeps its tags in every tier", "[e2e][tiers][resp]") {
  SharedL2 s;
  TIERCACHE_CAPTURE_DAEMON_LOG(s.a);
  const uint16_t a = s.a.resp_port();
  const uint16_t b = s.b.resp_port();
  REQUIRE(Cli(a, {"SET", "hits", "1", "EX", "300", "TAGS", "page"}) == "OK");
  CHECK(Cli(a, {"INCR", "hits"}) == "2");
  CHECK(Cli(b, {"INCR", "hits"}) == "3");
  CHECK(Cli(a, {"INCR", "hits"}) == "4");
  CHECK(Cli(b, {"TC.TAGS", "hits"}) == "page");
  CHECK(Cli(b, {"TC.INVALIDATE", "TAGS", "page"}) == "1");
  CHECK(PollUntil([&] { return Cli(a, {"GET", "hits"}).empty(); }, 1000ms));
  CHECK(Cli(b, {"GET", "hits"}).empty());
}

}  // namespace
}  // namespace tiercache::test
