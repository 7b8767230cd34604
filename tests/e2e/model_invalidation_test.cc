// Model invalidation through the daemon with Redis (L2) and PostgreSQL (L3), using the
// example rules of deploy/tiercache-tiers.yaml: auth.User -> profile, permissions, groups.

#include <catch2/catch.hpp>
#include <cctype>
#include <string>
#include <vector>

#include "tests/e2e/e2e_helpers.h"
#include "tests/support/poll.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;

// The `invalidation:` section of the example config, as shipped.
std::string ExampleRules() {
  const std::string example = ReadFile(TIERCACHE_SOURCE_DIR "/deploy/tiercache-tiers.yaml");
  const size_t at = example.find("\ninvalidation:");
  REQUIRE(at != std::string::npos);
  // Up to the next top-level key.
  size_t end = at + 1;
  while ((end = example.find('\n', end)) != std::string::npos) {
    ++end;
    if (end < example.size() && std::isalpha(static_cast<unsigned char>(example[end]))) break;
  }
  return example.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
}

std::string Config(const RedisServer& redis, const PostgresServer& pg) {
  return "tiers:\n  - type: redis\n    url: " + redis.url() +
         "\n  - type: postgres\n    dsn: \"" + pg.dsn() + "\"\n    write_mode: sync\n" +
         ExampleRules();
}

struct Entry {
  std::string key;
  std::string tags;  // for ?tags=
};

// What user `id` has in the cache under the example rules, one entry per criterion.
std::vector<Entry> UserEntries(const std::string& id) {
  return {
      {"user:" + id, ""},                                  // key user:{id}
      {"session:of:" + id, "user:" + id},                  // tag user:{id}
      {"user:" + id + ":settings", ""},                    // pattern ^user:{id}:.*
      {"profile:" + id, ""},                               // profile key
      {"avatar:of:" + id, "profile:" + id},                // profile tag
      {"perms:" + id, "permissions:user:" + id},           // permission tag
      {"groups:user:" + id + ":admins", ""},               // group pattern
  };
}

TEST_CASE("Models: InvalidatingAUserRemovesItsAndItsRelatedEntriesFromEveryTierAndNoOthers",
          "[e2e][tiers][models]") {
  RedisServer redis;
  PostgresServer pg;
  DaemonProcess daemon(Config(redis, pg));
  HttpClient client(daemon.http_port());
  for (const std::string id : {"7", "8", "70"}) {
    for (const Entry& e : UserEntries(id)) {
      const std::string query = e.tags.empty() ? "" : "?tags=" + e.tags;
      REQUIRE(client.Put("/v1/keys/" + e.key + query, "v").status == 204);
    }
  }
  const auto redis_has = [&](const std::string& key) {
    return redis.Cli({"EXISTS", "tiercache:k:" + key}) == "1";
  };
  const auto pg_has = [&](const std::string& key) {
    return pg.Psql("SELECT count(*) FROM tiercache_entries WHERE key = '" + key + "'::bytea") ==
           "1";
  };

  const HttpResponse r = client.PostJson(
      "/v1/invalidate", R"({"model": "auth.User", "instance_id": 7, "event": "delete"})");
  REQUIRE(r.status == 200);
  const auto body = nlohmann::json::parse(r.body);
  CHECK(body.at("models") == nlohmann::json::array(
                                 {"auth.User", "accounts.Profile", "auth.Permission", "auth.Group"}));
  const size_t per_user = UserEntries("7").size();
  CHECK(body.at("tiers").at("L1") == per_user);
  CHECK(body.at("tiers").at("L2") == per_user);
  CHECK(body.at("tiers").at("L3") == per_user);

  for (const Entry& e : UserEntries("7")) {
    INFO(e.key);
    CHECK(client.Get("/v1/keys/" + e.key).status == 404);
    CHECK(!redis_has(e.key));
    CHECK(!pg_has(e.key));
  }
  // Nothing of user 8, nor of user 70 whose id starts with 7.
  for (const std::string id : {"8", "70"}) {
    for (const Entry& e : UserEntries(id)) {
      INFO(e.key);
      CHECK(client.Get("/v1/keys/" + e.key).status == 200);
      CHECK(redis_has(e.key));
      CHECK(pg_has(e.key));
    }
  }
}

TEST_CASE("Models: AModelWithoutARuleIs404AndChangesNothing", "[e2e][tiers][models]") {
  RedisServer redis;
  PostgresServer pg;
  DaemonProcess daemon(Config(redis, pg));
  HttpClient client(daemon.http_port());
  REQUIRE(client.Put("/v1/keys/user:7", "v").status == 204);
  const HttpResponse r = client.PostJson(
      "/v1/invalidate", R"({"keys": ["user:7"], "model": "shop.Order", "instance_id": 7})");
  CHECK(r.status == 404);
  CHECK(IsJsonError(r));
  CHECK(client.Get("/v1/keys/user:7").status == 200);
}

TEST_CASE("Models: AnUpdateInTheApplicationsDatabaseRemovesTheUsersEntries",
          "[e2e][tiers][models]") {
  RedisServer redis;
  PostgresServer pg;  // both tiercache's L3 and, here, the application's database
  pg.Psql(ReadFile(TIERCACHE_SOURCE_DIR "/deploy/sql/notify/model_changes.sql"));
  pg.Psql("CREATE TABLE app_users (id int PRIMARY KEY, name text);"
          "INSERT INTO app_users VALUES (7, 'a'), (8, 'b'), (99, 'c');"
          "CREATE TRIGGER app_users_tiercache AFTER INSERT OR UPDATE OR DELETE ON app_users "
          "FOR EACH ROW EXECUTE FUNCTION tiercache_notify_change('auth.User');");
  DaemonProcess daemon(Config(redis, pg) + "  listen:\n    dsn: \"" + pg.dsn() + "\"\n");
  HttpClient client(daemon.http_port());
  for (const std::string id : {"7", "8", "99"}) {
    for (const Entry& e : UserEntries(id)) {
      const std::string query = e.tags.empty() ? "" : "?tags=" + e.tags;
      REQUIRE(client.Put("/v1/keys/" + e.key + query, "v").status == 204);
    }
  }
  // Once a change to user 99 is seen, the daemon is listening.
  pg.Psql("UPDATE app_users SET name = 'x' WHERE id = 99");
  REQUIRE(PollUntil([&] { return client.Get("/v1/keys/user:99").status == 404; }, 10s));

  pg.Psql("UPDATE app_users SET name = 'x' WHERE id = 7");
  const auto updated = std::chrono::steady_clock::now();
  const auto gone = [&](const std::string& id) {
    for (const Entry& e : UserEntries(id)) {
      if (client.Get("/v1/keys/" + e.key).status != 404) return false;
    }
    return true;
  };
  REQUIRE(PollUntil([&] { return gone("7"); }, 5s));
  const double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - updated).count();
  WARN("user 7's entries gone " << ms << " ms after the UPDATE returned");
  CHECK(ms < 100);
  for (const Entry& e : UserEntries("7")) {
    CHECK(redis.Cli({"EXISTS", "tiercache:k:" + e.key}) == "0");
  }
  for (const Entry& e : UserEntries("8")) CHECK(client.Get("/v1/keys/" + e.key).status == 200);
}

TEST_CASE("Models: ACycleInTheRulesStopsTheStartNamingIt", "[e2e][models]") {
  TempDir dir;
  const std::string path = dir.WriteFile("cycle.yaml",
                                         "invalidation:\n  models:\n"
                                         "    - {model: a, related: [b]}\n"
                                         "    - {model: b, related: [a]}\n")
                               .string();
  const std::vector<uint16_t> ports = PickFreePorts(2);
  const CommandResult r = RunCommand(
      {DaemonPath(), "--config", path, "--http-listen", "127.0.0.1:" + std::to_string(ports[0]),
       "--grpc-listen", "127.0.0.1:" + std::to_string(ports[1])},
      std::chrono::seconds(20));
  CAPTURE(r.out, r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(path + ":3:5: invalidation.models: related models form a cycle: a -> b -> a") !=
        std::string::npos);
}

}  // namespace
}  // namespace tiercache::test
