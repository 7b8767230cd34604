// tiercached with real lower tiers: Redis (L2) and PostgreSQL (L3) servers started for
// each test on free loopback ports. Read-through and promotion after a restart, the TTL
// factors as the backends see them, invalidation across instances, the write-behind flush
// at shutdown, and what clients see while a backend hangs, stops and comes back.

#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/e2e/e2e_helpers.h"
#include "tests/e2e/hot_set_workload.h"
#include "tests/support/poll.h"
#include "tests/support/postgres_server.h"
#include "tests/support/redis_server.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;

constexpr const char* kPrefix = "tiercache:";

// The Redis key holding the entry `key` (tiers/redis/README.md).
std::string RedisEntryKey(const std::string& key) { return kPrefix + std::string("k:") + key; }

struct TierYaml {
  std::string redis_url{};     // empty: no L2
  std::string postgres_dsn{};  // empty: no L3
  std::string table = "tiercache_entries";
  std::string l3_mode = "sync";
  std::string extra_l2{};  // more settings of L2, each line "    key: value\n"
  std::string extra_l3{};
};

std::string Yaml(const TierYaml& t) {
  std::string y = "tier_health: {interval: 250ms}\ntiers:\n";
  if (!t.redis_url.empty()) {
    y += "  - type: redis\n    url: " + t.redis_url +
         "\n    key_prefix: \"" + kPrefix + "\"\n    command_timeout: 200ms\n" + t.extra_l2;
  }
  if (!t.postgres_dsn.empty()) {
    y += "  - type: postgres\n    dsn: \"" + t.postgres_dsn + "\"\n    table: " + t.table +
         "\n    write_mode: " + t.l3_mode + "\n    command_timeout: 1s\n" + t.extra_l3;
  }
  return y;
}

nlohmann::json TierStatus(HttpClient& client, const std::string& name) {
  const nlohmann::json status = StatusJson(client);
  for (const auto& tier : status.at("tiers")) {
    if (tier.at("name") == name) return tier;
  }
  FAIL("no tier " << name << " in /v1/status");
  return {};
}

int64_t ToInt(const std::string& text) { return std::stoll(text); }

TEST_CASE("Tiers: AfterARestartAKeyIsServedFromL2ThenL1AndFromL3WhenRedisLostIt",
          "[e2e][tiers]") {
  RedisServer redis;
  PostgresServer pg;
  const std::string yaml = Yaml({.redis_url = redis.url(), .postgres_dsn = pg.dsn()});
  {
    DaemonProcess first(yaml);
    HttpClient client(first.http_port());
    REQUIRE(client.Put("/v1/keys/greeting?ttl=10", "hello").status == 204);
    REQUIRE(first.Stop() == 0);
  }
  DaemonProcess second(yaml);
  HttpClient client(second.http_port());
  HttpResponse r = client.Get("/v1/keys/greeting");
  REQUIRE(r.status == 200);
  CHECK(r.body == "hello");
  CHECK(r.Header("X-Cache-Tier") == "L2");
  r = client.Get("/v1/keys/greeting");
  REQUIRE(r.status == 200);
  CHECK(r.Header("X-Cache-Tier") == "L1");

  // Gone from Redis; once L1's copy (a tenth of the 10 s) expires, L3 still has it.
  REQUIRE(redis.Cli({"DEL", RedisEntryKey("greeting")}) == "1");
  std::this_thread::sleep_for(1300ms);
  r = client.Get("/v1/keys/greeting");
  REQUIRE(r.status == 200);
  CHECK(r.body == "hello");
  CHECK(r.Header("X-Cache-Tier") == "L3");
}

// HMGET calls Redis has served (the Redis tier reads an entry with one HMGET).
int64_t RedisReads(const RedisServer& redis) {
  const std::string stats = redis.Cli({"INFO", "commandstats"});
  const auto at = stats.find("cmdstat_hmget:calls=");
  if (at == std::string::npos) return 0;
  return std::stoll(stats.substr(at + std::string("cmdstat_hmget:calls=").size()));
}

TEST_CASE("Tiers: ReadsOfAKeyNoTierHasReachRedisOncePerNegativeTtl", "[e2e][tiers]") {
  RedisServer redis;
  DaemonProcess daemon(Yaml({redis.url()}) +
                       "strategies:\n  negative:\n    - {match: \"^user:\", ttl: 60s}\n");
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  const int64_t before = RedisReads(redis);
  for (int i = 0; i < 20; ++i) REQUIRE(client.Get("/v1/keys/user:404").status == 404);
  CHECK(RedisReads(redis) - before == 1);
  for (int i = 0; i < 3; ++i) REQUIRE(client.Get("/v1/keys/page:404").status == 404);
  CHECK(RedisReads(redis) - before == 4);  // no rule for page: keys: every read asks
  const nlohmann::json l1 = TierStatus(client, "L1");
  CHECK(l1.at("absences") == 1);
  CHECK(l1.at("absence_hits") == 19);

  // A write ends the absence at once.
  REQUIRE(client.Put("/v1/keys/user:404?ttl=100", "found").status == 204);
  const HttpResponse found = client.Get("/v1/keys/user:404");
  REQUIRE(found.status == 200);
  CHECK(found.body == "found");
}

TEST_CASE("Tiers: AfterARestartTheHotKeysAreReadBackFromRedisBeforeTheFirstRequest",
          "[e2e][tiers][hot_set]") {
  constexpr int kHot = 50'000;
  RedisServer redis;
  TempDir state;
  const std::string snapshot = (state.path() / "hot-set").string();
  const std::string yaml = Yaml({redis.url()}) + "server: {shutdown_timeout: 20s}\n" +
                           "l1:\n  hot_set: {path: " + snapshot + ", max_keys: 50000}\n";
  {
    DaemonProcess first(yaml);
    TIERCACHE_CAPTURE_DAEMON_LOG(first);
    HttpClient client(first.http_port());
    StoreAndReadHotAndCold(client, kHot, 5'000);
    REQUIRE(first.Stop() == 0);
    CHECK_THAT(first.Stderr(), Catch::Contains("hot set: 50000 most read entries saved to " +
                                               snapshot + " (keys)"));
  }
  // Changed while no instance ran: the restore reads what Redis holds now.
  REQUIRE(redis.Cli({"HSET", RedisEntryKey(HotKey(7)), "v", "changed"}) == "0");

  DaemonProcess second(yaml);
  TIERCACHE_CAPTURE_DAEMON_LOG(second);
  HttpClient client(second.http_port());
  const nlohmann::json status = StatusJson(client);
  CHECK(status.at("tiers")[0].at("entries") == kHot);
  CHECK(status.at("hot_set").at("source") == "lower tiers");
  CHECK(status.at("hot_set").at("restored") == kHot);

  const int64_t reads_before = RedisReads(redis);
  const HttpResponse changed = client.Get("/v1/keys/" + HotKey(7));
  CHECK(changed.body == "changed");
  CHECK(changed.Header("X-Cache-Tier") == "L1");
  REQUIRE(client.Put("/v1/keys/" + HotKey(7) + "?ttl=3600", ValueOf(HotKey(7))).status == 204);
  CheckHotKeysAnswerFromL1(client, kHot);
  CHECK(RedisReads(redis) == reads_before);  // not one of them asked Redis
}

TEST_CASE("Tiers: EachTierKeepsTheTimeoutTimesItsFactor", "[e2e][tiers]") {
  RedisServer redis;
  PostgresServer pg;
  DaemonProcess daemon(Yaml({.redis_url = redis.url(), .postgres_dsn = pg.dsn()}));
  HttpClient client(daemon.http_port());
  REQUIRE(client.Put("/v1/keys/k?ttl=100", "v").status == 204);

  const HttpResponse r = client.Get("/v1/keys/k");
  REQUIRE(r.Header("X-Cache-Tier") == "L1");
  const int64_t l1_left = ToInt(r.Header("X-Cache-TTL"));
  CHECK(l1_left >= 9);
  CHECK(l1_left <= 10);
  const int64_t redis_left_ms = ToInt(redis.Cli({"PTTL", RedisEntryKey("k")}));
  CHECK(redis_left_ms > 98'000);
  CHECK(redis_left_ms <= 100'000);
  const double pg_left = std::stod(pg.Psql(
      "SELECT extract(epoch FROM expires_at - now()) FROM tiercache_entries WHERE key = "
      "'k'::bytea"));
  CHECK(pg_left > 995);
  CHECK(pg_left <= 1000);
}

TEST_CASE("Tiers: ATagInvalidatedOnOneInstanceRemovesWhatAnotherWroteFromRedisAndPostgres",
          "[e2e][tiers]") {
  RedisServer redis;
  PostgresServer pg;
  const std::string yaml = Yaml({.redis_url = redis.url(), .postgres_dsn = pg.dsn()});
  DaemonProcess writer(yaml);
  DaemonProcess invalidator(yaml);
  HttpClient w(writer.http_port());
  HttpClient i(invalidator.http_port());
  REQUIRE(w.Put("/v1/keys/user:1?tags=user:1,users", "a").status == 204);
  REQUIRE(w.Put("/v1/keys/user:1:profile?tags=user:1", "b").status == 204);
  REQUIRE(w.Put("/v1/keys/user:2?tags=user:2,users", "c").status == 204);

  const HttpResponse r = i.PostJson("/v1/invalidate", R"({"tags":["user:1"]})");
  REQUIRE(r.status == 200);
  const auto body = nlohmann::json::parse(r.body);
  CHECK(body.at("tiers").at("L2") == 2);
  CHECK(body.at("tiers").at("L3") == 2);
  CHECK(redis.Cli({"EXISTS", RedisEntryKey("user:1")}) == "0");
  CHECK(redis.Cli({"EXISTS", RedisEntryKey("user:1:profile")}) == "0");
  CHECK(redis.Cli({"EXISTS", RedisEntryKey("user:2")}) == "1");
  CHECK(pg.Psql("SELECT count(*) FROM tiercache_entries WHERE key IN ('user:1'::bytea, "
                "'user:1:profile'::bytea)") == "0");
  CHECK(pg.Psql("SELECT count(*) FROM tiercache_entries WHERE key = 'user:2'::bytea") == "1");
  // The invalidating instance never held them; through it they are gone too.
  CHECK(i.Get("/v1/keys/user:1").status == 404);
  CHECK(i.Get("/v1/keys/user:2").status == 200);
}

TEST_CASE("Tiers: EveryWriteAcknowledgedBeforeSigtermIsInPostgresAfterExit", "[e2e][tiers]") {
  RedisServer redis;
  PostgresServer pg;
  // Small batches keep a backlog in the write-behind queue when the signal comes.
  DaemonProcess daemon(Yaml({.redis_url = redis.url(),
                             .postgres_dsn = pg.dsn(),
                             .l3_mode = "async",
                             .extra_l3 = "    write_behind: {batch_size: 20}\n"}));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1500;
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      HttpClient client(daemon.http_port());
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = "wb:" + std::to_string(t) + ":" + std::to_string(i);
        if (client.Put("/v1/keys/" + key + "?ttl=600", "value-" + key).status == 204) {
          acknowledged.fetch_add(1);
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  REQUIRE(acknowledged.load() == kThreads * kPerThread);
  HttpClient client(daemon.http_port());
  const uint64_t depth =
      TierStatus(client, "L3").at("write_behind").at("depth").get<uint64_t>();
  INFO("write-behind depth at SIGTERM: " << depth);
  REQUIRE(daemon.Stop() == 0);
  CHECK(pg.Psql("SELECT count(*) FROM tiercache_entries WHERE key LIKE 'wb:%'") ==
        std::to_string(kThreads * kPerThread));
  CHECK(pg.Psql("SELECT value FROM tiercache_entries WHERE key = 'wb:3:1499'::bytea") ==
        "\\x" + [] {
          std::string hex;
          for (unsigned char c : std::string("value-wb:3:1499")) {
            static const char* digits = "0123456789abcdef";
            hex += digits[c >> 4];
            hex += digits[c & 15];
          }
          return hex;
        }());
}

// Times GETs of keys no tier holds, so that each one asks L2.
std::vector<double> MissLatenciesMs(HttpClient& client, const std::string& prefix, int n) {
  std::vector<double> latencies_ms;
  for (int i = 0; i < n; ++i) {
    const auto started = steady_clock::now();
    const HttpResponse r = client.Get("/v1/keys/" + prefix + std::to_string(i));
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(steady_clock::now() - started).count());
    CHECK(r.status == 404);
  }
  return latencies_ms;
}

// No request waits longer than the 200 ms command timeout (plus scheduling slack), and the
// last five, once L2 is marked down, skip it at no cost.
void CheckBoundedByCommandTimeout(const std::vector<double>& latencies_ms) {
  for (size_t i = 0; i < latencies_ms.size(); ++i) {
    INFO("request " << i << " took " << latencies_ms[i] << " ms");
    CHECK(latencies_ms[i] < 200 + 150);
  }
  for (size_t i = latencies_ms.size() - 5; i < latencies_ms.size(); ++i) {
    INFO("request " << i << " took " << latencies_ms[i] << " ms");
    CHECK(latencies_ms[i] < 20);
  }
}

TEST_CASE("Tiers: ARedisThatStopsAnsweringCostsAtMostTheCommandTimeoutUntilMarkedDown",
          "[e2e][tiers]") {
  RedisServer redis;
  DaemonProcess daemon(Yaml({.redis_url = redis.url()}));
  HttpClient client(daemon.http_port());
  REQUIRE(client.Put("/v1/keys/k", "v").status == 204);
  REQUIRE(TierStatus(client, "L2").at("state") == "up");

  redis.Pause();  // connected, and never answers again
  const std::vector<double> latencies_ms = MissLatenciesMs(client, "miss-", 12);
  CheckBoundedByCommandTimeout(latencies_ms);
  // The first miss did wait on the hung Redis: this is the case being measured.
  CHECK(latencies_ms.front() > 100);
  CHECK(TierStatus(client, "L2").at("state") == "down");
  CHECK(client.Put("/v1/keys/k2", "v").status == 204);
  CHECK(client.Get("/v1/keys/k2").status == 200);

  redis.Resume();
  CHECK(PollUntil([&] { return TierStatus(client, "L2").at("state") == "up"; }, 5s));
}

TEST_CASE("Tiers: ARedisThatNeverAnswersFromTheStartCostsAtMostTheCommandTimeout",
          "[e2e][tiers]") {
  // Accepts connections (the kernel completes them) and never reads or answers.
  PortHolder hung;
  DaemonProcess daemon(Yaml({.redis_url = "redis://127.0.0.1:" + std::to_string(hung.port())}));
  HttpClient client(daemon.http_port());
  CheckBoundedByCommandTimeout(MissLatenciesMs(client, "miss-", 12));
  CHECK(TierStatus(client, "L2").at("state") == "down");
  CHECK(client.Put("/v1/keys/k", "v").status == 204);
  CHECK(client.Get("/v1/keys/k").status == 200);
}

// Writes and reads in a loop until `stop`; counts answers other than 204/200/404.
struct Load {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> failures{0};
  std::vector<std::string> problems;  // first few, for the report
  std::mutex mu;
  std::vector<std::thread> threads;

  void Start(uint16_t port, int n) {
    for (int t = 0; t < n; ++t) {
      threads.emplace_back([this, port, t] {
        HttpClient client(port, 10s);
        for (uint64_t i = 0; !stop.load(); ++i) {
          const std::string key = "load:" + std::to_string(t) + ":" + std::to_string(i % 500);
          const bool put = i % 2 == 0;
          const HttpOutcome o = put ? client.TryRequest("PUT", "/v1/keys/" + key, "v")
                                    : client.TryRequest("GET", "/v1/keys/" + key);
          requests.fetch_add(1);
          const unsigned status = o.ok() ? o.response.status : 0;
          if (status == 204 || status == 200 || status == 404) continue;
          failures.fetch_add(1);
          std::lock_guard lock(mu);
          if (problems.size() < 5) {
            problems.push_back(key + ": " + std::to_string(status) + " " +
                               (o.ok() ? o.response.body : o.error.message()));
          }
        }
      });
    }
  }
  void Stop() {
    stop = true;
    for (auto& t : threads) t.join();
  }
};

// Stops a backend under load, restarts it, and checks what clients and /v1/status saw.
template <class Backend>
void CheckOutageUnderLoad(Backend& backend, const std::string& yaml, const std::string& tier) {
  DaemonProcess daemon(yaml);
  HttpClient status(daemon.http_port());
  Load load;
  load.Start(daemon.http_port(), 4);
  std::this_thread::sleep_for(1s);

  backend.Stop();
  CHECK(PollUntil([&] { return TierStatus(status, tier).at("state") == "down"; }, 5s));
  std::this_thread::sleep_for(2s);
  backend.Start();
  const auto back = steady_clock::now();
  const bool up = PollUntil([&] { return TierStatus(status, tier).at("state") != "down"; }, 5s);
  const double seconds_to_up = std::chrono::duration<double>(steady_clock::now() - back).count();
  INFO(tier << " marked up " << seconds_to_up << " s after its return");
  CHECK(up);
  std::this_thread::sleep_for(1s);
  load.Stop();

  INFO("requests: " << load.requests << ", failed: " << load.failures);
  for (const auto& p : load.problems) INFO(p);
  CHECK(load.requests > 1000);
  CHECK(load.failures == 0);
  CHECK(TierStatus(status, tier).at("errors").get<uint64_t>() > 0);
}

TEST_CASE("Tiers: RedisStoppedAndRestartedUnderLoadFailsNoRequest", "[e2e][tiers]") {
  RedisServer redis;
  PostgresServer pg;
  const std::string yaml =
      Yaml({.redis_url = redis.url(), .postgres_dsn = pg.dsn(), .l3_mode = "async"});
  CheckOutageUnderLoad(redis, yaml, "L2");
}

TEST_CASE("Tiers: PostgresStoppedAndRestartedUnderLoadFailsNoRequest", "[e2e][tiers]") {
  RedisServer redis;
  PostgresServer pg;
  const std::string yaml =
      Yaml({.redis_url = redis.url(), .postgres_dsn = pg.dsn(), .l3_mode = "sync"});
  CheckOutageUnderLoad(pg, yaml, "L3");
}

TEST_CASE("Tiers: ReadinessFollowsARequiredTier", "[e2e][tiers]") {
  RedisServer redis;
  DaemonProcess daemon(Yaml({.redis_url = redis.url(), .extra_l2 = "    required: true\n"}));
  HttpClient client(daemon.http_port());
  REQUIRE(client.Get("/readyz").status == 200);
  redis.Stop();
  CHECK(PollUntil([&] { return client.Get("/readyz").status == 503; }, 5s));
  redis.Start();
  CHECK(PollUntil([&] { return client.Get("/readyz").status == 200; }, 5s));
}

TEST_CASE("Tiers: TagBookkeepingOfExpiredEntriesGoesAwayInRedisAndPostgres", "[e2e][tiers]") {
  RedisServer redis;
  PostgresServer pg;
  DaemonProcess daemon(Yaml({.redis_url = redis.url(),
                             .postgres_dsn = pg.dsn(),
                             .l3_mode = "async",
                             .extra_l2 = "    sweep_interval: 1s\n",
                             .extra_l3 = "    sweep_interval: 1s\n"}));
  HttpClient client(daemon.http_port());
  // Before: one long-lived tagged entry, measured once by each tier's sweep.
  REQUIRE(client.Put("/v1/keys/keeper?ttl=3600&tags=keep", "v").status == 204);
  const auto tag_index = [&](const std::string& tier) {
    return TierStatus(client, tier).at("tag_index");
  };
  const auto memberships = [&](const std::string& tier) {
    const auto index = tag_index(tier);
    return index.is_null() ? int64_t{-1} : index.at("memberships").get<int64_t>();
  };
  REQUIRE(PollUntil([&] { return memberships("L2") == 1 && memberships("L3") == 1; }, 15s));
  const nlohmann::json redis_before = tag_index("L2");
  const nlohmann::json pg_before = tag_index("L3");
  const std::string redis_keys_before = redis.Cli({"DBSIZE"});

  constexpr int kThreads = 4;
  constexpr int kPerThread = 25'000;  // 100,000 entries, two tags each, 1 s timeout
  std::vector<std::thread> writers;
  std::atomic<int> stored{0};
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      HttpClient c(daemon.http_port());
      for (int i = 0; i < kPerThread; ++i) {
        const std::string n = std::to_string(t * kPerThread + i);
        if (c.Put("/v1/keys/short:" + n + "?ttl=1&tags=item:" + n + ",short", "v").status == 204) {
          stored.fetch_add(1);
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  REQUIRE(stored.load() == kThreads * kPerThread);
  REQUIRE(daemon.running());
  const auto written = steady_clock::now();

  // Redis entries live 1 s and PostgreSQL rows 10 s (L3's factor); then the sweeps run.
  const bool back = PollUntil(
      [&] {
        return tag_index("L2") == redis_before && tag_index("L3") == pg_before &&
               redis.Cli({"DBSIZE"}) == redis_keys_before &&
               pg.Psql("SELECT count(*) FROM tiercache_entries") == "1";
      },
      60s);
  INFO("Redis tag index before " << redis_before << ", now " << tag_index("L2"));
  INFO("PostgreSQL tag index before " << pg_before << ", now " << tag_index("L3"));
  INFO("Redis keys before " << redis_keys_before << ", now " << redis.Cli({"DBSIZE"}));
  INFO("back to the baseline after "
       << std::chrono::duration<double>(steady_clock::now() - written).count() << " s");
  CHECK(back);
  CHECK(client.Get("/v1/keys/keeper").status == 200);
}

}  // namespace
}  // namespace tiercache::test
