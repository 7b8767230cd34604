// Warming through the daemon: a `sql` source over a PostgreSQL table fills L1 and L2, on
// demand and at start; bulk loads; bad requests.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "tests/e2e/e2e_helpers.h"
#include "tests/support/poll.h"
#include "tests/support/postgres_server.h"
#include "tests/support/redis_server.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;

// 100,000 users, the even ids active.
void MakeUsers(PostgresServer& pg) {
  pg.Psql("CREATE TABLE app_users (id int PRIMARY KEY, name text, email text, active bool);"
          "INSERT INTO app_users SELECT i, 'user ' || i, 'u' || i || '@example.com', i % 2 = 0 "
          "FROM generate_series(1, 100000) AS i;");
}

std::string Config(const RedisServer& redis, const PostgresServer& pg, bool on_start) {
  return "tiers:\n  - type: redis\n    url: " + redis.url() +
         "\n  - type: postgres\n    dsn: \"" + pg.dsn() + "\"\n    write_mode: async\n" +
         "warming:\n  sources:\n    - name: users\n      type: sql\n      dsn: \"" + pg.dsn() +
         "\"\n      query: SELECT id, name, email FROM app_users WHERE active\n"
         "      key: \"user:{id}\"\n      tags: [\"user:{id}\", user_list]\n"
         "      tiers: [L1, L2]\n      ttl: 1h\n" +
         (on_start ? "      on_start: true\n" : "");
}

nlohmann::json Source(HttpClient& client) {
  const auto status = StatusJson(client);
  REQUIRE(status.contains("warming"));
  return status.at("warming").at(0);
}

bool RunFinished(HttpClient& client, uint64_t runs) {
  const auto s = Source(client);
  return s.at("runs").get<uint64_t>() >= runs && !s.at("running").get<bool>();
}

TEST_CASE("Warming: ASqlSourceFillsL1AndL2WithExactlyTheActiveUsers", "[e2e][tiers][warming]") {
  RedisServer redis;
  PostgresServer pg;
  MakeUsers(pg);
  DaemonProcess daemon(Config(redis, pg, false));
  HttpClient client(daemon.http_port());
  CHECK(Source(client).at("runs") == 0);

  const auto started = std::chrono::steady_clock::now();
  const HttpResponse r = client.PostJson("/v1/warm", R"({"source": "users"})");
  REQUIRE(r.status == 202);
  REQUIRE(PollUntil([&] { return RunFinished(client, 1); }, 60s));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto source = Source(client);
  INFO(source.dump());
  CHECK(source.at("last_run").at("ok") == true);
  CHECK(source.at("last_run").at("attempted") == 50000);
  CHECK(source.at("last_run").at("written") == 50000);
  CHECK(source.at("last_run").at("failures") == 0);
  CHECK(source.at("success_rate") == 1.0);
  WARN("sql warm of 50,000 rows into L1+L2: "
       << source.at("last_run").at("duration_seconds").get<double>() << " s in the run, "
       << seconds << " s from the request to the status showing it finished");

  CHECK(StatusJson(client).at("tiers").at(0).at("entries") == 50000);
  CHECK(redis.Cli({"EVAL", "return #redis.call('KEYS', 'tiercache:k:user:*')", "0"}) == "50000");
  // Not in L3: the source's tiers are L1 and L2.
  CHECK(pg.Psql("SELECT count(*) FROM tiercache_entries") == "0");
  HttpResponse hit = client.Get("/v1/keys/user:42");
  REQUIRE(hit.status == 200);
  CHECK(hit.Header("X-Cache-Tier") == "L1");
  const auto value = nlohmann::json::parse(hit.body);
  CHECK(value.at("id") == 42);
  CHECK(value.at("email") == "u42@example.com");
  CHECK(client.Get("/v1/keys/user:43").status == 404);  // inactive
  // Its tags came along: invalidating one removes the user.
  REQUIRE(client.PostJson("/v1/invalidate", R"({"tags": ["user:42"]})").status == 200);
  CHECK(client.Get("/v1/keys/user:42").status == 404);
}

TEST_CASE("Warming: AnOnStartSourceRunsWhenTheDaemonStarts", "[e2e][tiers][warming]") {
  RedisServer redis;
  PostgresServer pg;
  MakeUsers(pg);
  DaemonProcess daemon(Config(redis, pg, true));
  HttpClient client(daemon.http_port());
  REQUIRE(PollUntil([&] { return RunFinished(client, 1); }, 60s));
  CHECK(client.Get("/v1/keys/user:100000").Header("X-Cache-Tier") == "L1");
}

TEST_CASE("Warming: BulkLoadAndBadRequests", "[e2e][warming]") {
  DaemonProcess daemon;
  HttpClient client(daemon.http_port());
  HttpResponse r = client.PostJson(
      "/v1/warm", R"({"entries": [{"key": "a", "value": "1", "tags": ["t"]},
                                 {"key": "b", "value": "2", "ttl": 60}]})");
  REQUIRE(r.status == 200);
  CHECK(nlohmann::json::parse(r.body).at("loaded") == 2);
  CHECK(client.Get("/v1/keys/a").body == "1");
  CHECK(client.Get("/v1/keys/b").body == "2");
  // One bad entry and nothing is loaded.
  r = client.PostJson("/v1/warm", R"({"entries": [{"key": "c", "value": "3"}, {"key": ""}]})");
  CHECK(r.status == 400);
  CHECK(IsJsonError(r));
  CHECK(client.Get("/v1/keys/c").status == 404);
  CHECK(client.PostJson("/v1/warm", R"({"source": "nope"})").status == 404);
  CHECK(client.PostJson("/v1/warm", R"({})").status == 400);
  CHECK(client.PostJson("/v1/warm", R"({"entries": [{"key": "x", "value": 1}]})").status == 400);
}

}  // namespace
}  // namespace tiercache::test
