// Namespaces across two instances sharing Redis (L2) and PostgreSQL (L3): keys written in a
// namespace over HTTP, gRPC and tierctl; a bump (tierctl, HTTP) after which no old entry is
// served by either instance from any tier; the version kept across a restart; status and
// metrics per namespace.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/e2e/e2e_helpers.h"
#include "tests/e2e/redis_cli.h"
#include "tests/e2e/tierctl_runner.h"
#include "tests/support/grpc_clients.h"
#include "tests/support/poll.h"
#include "tests/support/postgres_server.h"
#include "tests/support/redis_server.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;
namespace v1 = ::tiercache::v1;

constexpr int kKeys = 2000;

std::string Config(const RedisServer& redis, const PostgresServer& pg, const std::string& id) {
  return "tier_health: {interval: 250ms}\n"
         "coherence: {instance_id: " + id + ", max_staleness: 500ms}\n"
         "namespaces:\n  - {name: app}\n  - {name: api, prefix: 'api|', version: 3}\n"
         "tiers:\n  - type: redis\n    url: " + redis.url() + "\n    command_timeout: 1s\n"
         "  - type: postgres\n    dsn: \"" + pg.dsn() + "\"\n    write_mode: sync\n";
}

HttpResponse GetIn(HttpClient& client, const std::string& ns, const std::string& key) {
  return client.Request("GET", "/v1/keys/" + key, {}, {{"X-Cache-Namespace", ns}});
}

uint64_t VersionOf(HttpClient& client, const std::string& ns) {
  const nlohmann::json doc = nlohmann::json::parse(client.Get("/v1/namespaces").body);
  for (const auto& n : doc.at("namespaces")) {
    if (n.at("name") == ns) return n.at("version").get<uint64_t>();
  }
  FAIL("no namespace " << ns);
  return 0;
}

// Keys 0..kKeys-1 of namespace app, answered by `client` with their values; the others are
// counted as served (the check is that none is).
int Served(HttpClient& client) {
  int served = 0;
  for (int i = 0; i < kKeys; ++i) {
    const HttpResponse r = GetIn(client, "app", "item:" + std::to_string(i));
    if (r.status != 404) ++served;
  }
  return served;
}

TEST_CASE("Namespaces: AfterABumpNoInstanceServesAnOldEntryFromAnyTier",
          "[e2e][namespaces]") {
  RedisServer redis;
  PostgresServer pg;
  const std::string config_a = Config(redis, pg, "a");
  auto a = std::make_unique<DaemonProcess>(config_a);
  DaemonProcess b(Config(redis, pg, "b"));
  TIERCACHE_CAPTURE_DAEMON_LOG(*a);
  HttpClient to_a(a->http_port());
  HttpClient to_b(b.http_port());

  // Written on A in bulk, in namespace app; one more key over gRPC, one with tierctl.
  nlohmann::json entries = nlohmann::json::array();
  for (int i = 0; i < kKeys; ++i) {
    entries.push_back({{"key", "item:" + std::to_string(i)}, {"value", "v1"}, {"ttl", 600}});
  }
  REQUIRE(to_a.PostJson("/v1/warm",
                        nlohmann::json{{"namespace", "app"}, {"entries", entries}}.dump())
              .status == 200);
  {
    auto stub = MakeCacheStub(a->grpc_target());
    v1::SetRequest set;
    set.set_key("by-grpc");
    set.set_value("g");
    auto context = MakeContext();
    context->AddMetadata("x-cache-namespace", "app");
    v1::SetResponse resp;
    REQUIRE(stub->Set(context.get(), set, &resp).ok());
  }
  const CommandResult set = Tierctl(*a, {"--namespace", "app", "set", "by-tierctl", "t"});
  TIERCACHE_CAPTURE_COMMAND(set);
  REQUIRE(set.exit_code == 0);
  // Stored under the version, in both lower tiers; B reads them through L2 into its L1.
  CHECK(redis.Cli({"HGET", "tiercache:k:app:v1:item:0", "v"}) == "v1");
  CHECK(pg.Psql("SELECT count(*) FROM tiercache_entries WHERE key = 'app:v1:by-grpc'::bytea") ==
        "1");
  CHECK(GetIn(to_b, "app", "by-tierctl").body == "t");
  CHECK(Served(to_b) == kKeys);
  CHECK(GetIn(to_b, "app", "item:0").Header("X-Cache-Tier") == "L1");
  // Outside the namespace, and in another one, these keys do not exist.
  CHECK(to_a.Get("/v1/keys/item:0").status == 404);
  CHECK(GetIn(to_a, "api", "item:0").status == 404);
  CHECK(GetIn(to_a, "nope", "item:0").status == 404);
  CHECK(ErrorCode(GetIn(to_a, "nope", "item:0")) == "unknown_namespace");

  const CommandResult bump = Tierctl(*a, {"namespaces", "--bump", "app", "--json"});
  TIERCACHE_CAPTURE_COMMAND(bump);
  REQUIRE(bump.exit_code == 0);
  CHECK(nlohmann::json::parse(bump.out).at("version") == 2);
  CHECK(redis.Cli({"GET", "tiercache:n:namespace-version:app"}) == "2");
  // A: at once. B: once the coherence message is there (a Redis round trip).
  CHECK(Served(to_a) == 0);
  REQUIRE(PollUntil([&] { return VersionOf(to_b, "app") == 2; }, 5s));
  CHECK(Served(to_b) == 0);
  CHECK(GetIn(to_b, "app", "by-grpc").status == 404);
  // Left to age out, not removed.
  CHECK(redis.Cli({"EXISTS", "tiercache:k:app:v1:item:0"}) == "1");
  // New writes go under the new version, on every instance.
  REQUIRE(to_b.Request("PUT", "/v1/keys/item:0", "v2", {{"X-Cache-Namespace", "app"}}).status ==
          204);
  CHECK(GetIn(to_a, "app", "item:0").body == "v2");
  CHECK(redis.Cli({"HGET", "tiercache:k:app:v2:item:0", "v"}) == "v2");

  // Over HTTP, and the namespace untouched by it.
  const HttpResponse bumped = to_b.PostJson("/v1/namespaces/api/bump", "");
  REQUIRE(bumped.status == 200);
  CHECK(nlohmann::json::parse(bumped.body).at("version") == 4);
  CHECK(VersionOf(to_a, "app") == 2);
  CHECK(to_a.PostJson("/v1/namespaces/nope/bump", "").status == 404);

  const nlohmann::json status = StatusJson(to_a);
  const nlohmann::json& app = status.at("namespaces")[0];
  CHECK(app.at("name") == "app");
  CHECK(app.at("version") == 2);
  CHECK(app.at("writes").get<uint64_t>() >= kKeys + 1);
  CHECK(app.at("reads").get<uint64_t>() >= kKeys);
  CHECK_THAT(to_a.Get("/metrics").body,
             Catch::Contains("tiercache_namespace_version{namespace=\"app\"} 2"));

  // A restart keeps the version: it is read back from Redis before the first request.
  REQUIRE(a->Stop() == 0);
  a = std::make_unique<DaemonProcess>(config_a);
  HttpClient again(a->http_port());
  CHECK(VersionOf(again, "app") == 2);
  CHECK(VersionOf(again, "api") == 4);
  CHECK(GetIn(again, "app", "item:0").body == "v2");
  CHECK(GetIn(again, "app", "item:1").status == 404);
}

}  // namespace
}  // namespace tiercache::test
