// Two tiercached instances over one Redis and one PostgreSQL: what one changes, the other
// stops serving from its L1 within a Redis round trip or so, and a broken channel makes the
// other stop trusting its L1.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/e2e/e2e_helpers.h"
#include "tests/support/poll.h"
#include "tests/support/postgres_server.h"
#include "tests/support/redis_server.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;

std::string Config(const RedisServer& redis, const PostgresServer& pg,
                   const std::string& instance) {
  return "tier_health: {interval: 250ms}\n"
         "coherence: {instance_id: " + instance + ", max_staleness: 500ms}\n"
         "tiers:\n  - type: redis\n    url: " + redis.url() +
         "\n    command_timeout: 200ms\n"
         "  - type: postgres\n    dsn: \"" + pg.dsn() + "\"\n    write_mode: sync\n";
}

// Reads `key` from `client` until it is not `old` (a new value or a miss); the time that
// took, or nullopt after `bound`.
std::optional<double> MsUntilNotServing(HttpClient& client, const std::string& key,
                                        const std::string& old, std::chrono::milliseconds bound) {
  const auto start = steady_clock::now();
  while (steady_clock::now() - start < bound) {
    const HttpResponse r = client.Get("/v1/keys/" + key);
    if (r.status != 200 || r.body != old) {
      return std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
    }
  }
  return std::nullopt;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct Pair {
  RedisServer redis;
  PostgresServer pg;
  DaemonProcess a{Config(redis, pg, "a")};
  DaemonProcess b{Config(redis, pg, "b")};
  HttpClient to_a{a.http_port()};
  HttpClient to_b{b.http_port()};

  Pair() {
    const auto subscribed = [](HttpClient& c) {
      return StatusJson(c).at("coherence").at("subscribed").get<bool>();
    };
    REQUIRE(PollUntil([&] { return subscribed(to_a) && subscribed(to_b); }, 5000ms));
  }

  // k = `value` written through A, then read by B twice, so that B's L1 holds it.
  void CachedInB(const std::string& key, const std::string& value, const std::string& tags = "") {
    REQUIRE(to_a.Put("/v1/keys/" + key + "?ttl=300" + (tags.empty() ? "" : "&tags=" + tags),
                     value).status == 204);
    // A's own message may reach B after B's first read copied the value into L1, and
    // remove it again: read until B serves it from L1.
    REQUIRE(PollUntil(
        [&] {
          const HttpResponse r = to_b.Get("/v1/keys/" + key);
          REQUIRE(r.body == value);
          return r.Header("X-Cache-Tier") == "L1";
        },
        1000ms));
  }
};

TEST_CASE("Coherence: AWriteOrInvalidationOnOneInstanceReachesTheOthersL1Within50ms",
          "[e2e][tiers][coherence]") {
  Pair p;
  p.CachedInB("k", "old", "t");

  SECTION("a new value") {
    REQUIRE(p.to_a.Put("/v1/keys/k?ttl=300", "new").status == 204);
    const auto ms = MsUntilNotServing(p.to_b, "k", "old", 1000ms);
    REQUIRE(ms);
    INFO("B served the old value for " << *ms << " ms after A's answer");
    CHECK(*ms < 50);
    // And never the old value again.
    for (int i = 0; i < 50; ++i) CHECK(p.to_b.Get("/v1/keys/k").body == "new");
  }
  SECTION("a tag invalidation") {
    REQUIRE(p.to_a.PostJson("/v1/invalidate", R"({"tags": ["t"]})").status == 200);
    const auto ms = MsUntilNotServing(p.to_b, "k", "old", 1000ms);
    REQUIRE(ms);
    CHECK(*ms < 50);
    for (int i = 0; i < 50; ++i) CHECK(p.to_b.Get("/v1/keys/k").status == 404);
  }
  SECTION("a delete, a pattern and a clear") {
    REQUIRE(p.to_a.Delete("/v1/keys/k").status == 204);
    CHECK(MsUntilNotServing(p.to_b, "k", "old", 1000ms).value_or(1e9) < 50);
    p.CachedInB("user:1:profile", "old");
    REQUIRE(p.to_a.PostJson("/v1/invalidate", R"({"pattern": "^user:1:"})").status == 200);
    CHECK(MsUntilNotServing(p.to_b, "user:1:profile", "old", 1000ms).value_or(1e9) < 50);
    p.CachedInB("c", "old");
    REQUIRE(p.to_a.PostJson("/v1/clear", "").status == 200);
    CHECK(MsUntilNotServing(p.to_b, "c", "old", 1000ms).value_or(1e9) < 50);
  }
  // An instance ignores its own messages: A's writes do not empty A's L1.
  REQUIRE(p.to_a.Put("/v1/keys/mine?ttl=300", "v").status == 204);
  CHECK(p.to_a.Get("/v1/keys/mine").Header("X-Cache-Tier") == "L1");
}

TEST_CASE("Coherence: PropagationDelayFromOneInstanceToAnother", "[e2e][tiers][coherence]") {
  Pair p;
  std::vector<double> delays;
  for (int i = 0; i < 200; ++i) {
    const std::string key = "p" + std::to_string(i);
    p.CachedInB(key, "old");
    REQUIRE(p.to_a.Put("/v1/keys/" + key + "?ttl=300", "new").status == 204);
    const auto ms = MsUntilNotServing(p.to_b, key, "old", 1000ms);
    REQUIRE(ms);
    delays.push_back(*ms);
  }
  WARN("A's answer to B no longer serving the old value, over " << delays.size()
       << " writes: p50 " << Percentile(delays, 0.5) << " ms, p99 " << Percentile(delays, 0.99)
       << " ms, max " << Percentile(delays, 1.0) << " ms");
  CHECK(Percentile(delays, 0.99) < 50);
}

TEST_CASE("Coherence: WithTheChannelBrokenAnInstanceStopsServingItsOlderL1Entries",
          "[e2e][tiers][coherence]") {
  Pair p;
  p.CachedInB("k", "old");
  // A paused Redis: the channel (and L2) stop answering. A writes the new value; only
  // PostgreSQL takes it, and B hears nothing.
  p.redis.Pause();
  REQUIRE(p.to_a.Put("/v1/keys/k?ttl=300", "new").status == 204);
  // B notices the broken subscription within about 1.5 s, then serves nothing older than
  // max_staleness (500 ms) from L1.
  const auto ms = MsUntilNotServing(p.to_b, "k", "old", 5000ms);
  p.redis.Resume();
  REQUIRE(ms);
  INFO("B served the old value for " << *ms << " ms after the channel broke");
  CHECK(*ms < 2500);
  CHECK(p.to_b.Get("/v1/keys/k").body == "new");
  CHECK(PollUntil(
      [&] { return StatusJson(p.to_b).at("coherence").at("subscribed").get<bool>(); }, 5000ms));
  CHECK(StatusJson(p.to_b).at("coherence").at("breaks").get<uint64_t>() >= 1);
}

}  // namespace
}  // namespace tiercache::test
