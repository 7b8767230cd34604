// Scheduled invalidations through the daemon: timing, cancelling, listing, and jobs kept
// in PostgreSQL across a restart.

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
using std::chrono::steady_clock;

std::string Config(const RedisServer& redis, const PostgresServer& pg) {
  return "tiers:\n  - type: redis\n    url: " + redis.url() +
         "\n  - type: postgres\n    dsn: \"" + pg.dsn() + "\"\n    write_mode: sync\n";
}

std::string ScheduleTag(HttpClient& client, double delay, const std::string& tag) {
  const HttpResponse r = client.PostJson(
      "/v1/invalidations/scheduled",
      R"({"delay_seconds": )" + std::to_string(delay) + R"(, "tags": [")" + tag + R"("]})");
  REQUIRE(r.status == 202);
  const auto body = nlohmann::json::parse(r.body);
  CHECK(body.at("persisted") == true);
  return body.at("job_id").get<std::string>();
}

nlohmann::json Jobs(HttpClient& client) {
  const HttpResponse r = client.Get("/v1/jobs");
  REQUIRE(r.status == 200);
  return nlohmann::json::parse(r.body).at("jobs");
}

TEST_CASE("Jobs: AnInvalidationScheduledFor2sRunsWithinHalfASecondOfIt", "[e2e][tiers][jobs]") {
  RedisServer redis;
  PostgresServer pg;
  DaemonProcess daemon(Config(redis, pg));
  HttpClient client(daemon.http_port());
  REQUIRE(client.Put("/v1/keys/k?tags=t", "v").status == 204);
  const auto scheduled = steady_clock::now();
  const std::string id = ScheduleTag(client, 2, "t");
  const auto listed = Jobs(client);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].at("id") == id);
  CHECK(listed[0].at("kind") == "invalidation");
  CHECK(listed[0].at("description") == "tags t");
  REQUIRE(PollUntil([&] { return client.Get("/v1/keys/k").status == 404; }, 5s));
  const double s = std::chrono::duration<double>(steady_clock::now() - scheduled).count();
  WARN("the 2 s job ran after " << s << " s");
  CHECK(s > 1.5);
  CHECK(s < 2.5);
  CHECK(redis.Cli({"EXISTS", "tiercache:k:k"}) == "0");
  CHECK(PollUntil([&] { return Jobs(client).empty(); }, 2s));
  CHECK(pg.Psql("SELECT count(*) FROM tiercache_entries_jobs") == "0");
}

TEST_CASE("Jobs: ACancelledJobNeverRuns", "[e2e][tiers][jobs]") {
  RedisServer redis;
  PostgresServer pg;
  DaemonProcess daemon(Config(redis, pg));
  HttpClient client(daemon.http_port());
  REQUIRE(client.Put("/v1/keys/k?tags=t", "v").status == 204);
  const std::string id = ScheduleTag(client, 1, "t");
  CHECK(client.Delete("/v1/jobs/" + id).status == 204);
  CHECK(client.Delete("/v1/jobs/" + id).status == 404);
  CHECK(Jobs(client).empty());
  std::this_thread::sleep_for(2s);
  CHECK(client.Get("/v1/keys/k").status == 200);
  CHECK(pg.Psql("SELECT count(*) FROM tiercache_entries_jobs") == "0");
}

TEST_CASE("Jobs: BadScheduledRequestsAreRefusedAndScheduleNothing", "[e2e][tiers][jobs]") {
  RedisServer redis;
  PostgresServer pg;
  DaemonProcess daemon(Config(redis, pg));
  HttpClient client(daemon.http_port());
  CHECK(client.PostJson("/v1/invalidations/scheduled", R"({"tags": ["t"]})").status == 400);
  CHECK(client.PostJson("/v1/invalidations/scheduled", R"({"delay_seconds": -1, "tags": ["t"]})")
            .status == 400);
  CHECK(client.PostJson("/v1/invalidations/scheduled", R"({"delay_seconds": 5})").status == 400);
  CHECK(client.PostJson("/v1/invalidations/scheduled",
                        R"({"delay_seconds": 5, "pattern": "(a"})").status == 400);
  CHECK(client.PostJson("/v1/invalidations/scheduled",
                        R"({"delay_seconds": 5, "model": "none", "instance_id": 1})").status == 404);
  CHECK(Jobs(client).empty());
}

TEST_CASE("Jobs: AJobScheduledBeforeARestartRunsAfterIt", "[e2e][tiers][jobs]") {
  RedisServer redis;
  PostgresServer pg;
  const std::string yaml = Config(redis, pg);
  std::string later_id;
  {
    DaemonProcess first(yaml);
    HttpClient client(first.http_port());
    REQUIRE(client.Put("/v1/keys/due-while-down?tags=a", "v").status == 204);
    REQUIRE(client.Put("/v1/keys/due-later?tags=b", "v").status == 204);
    ScheduleTag(client, 1, "a");
    // Due well after the restart, even on a loaded machine (stop, 1.5 s, start and
    // readiness have taken over 4 s under a parallel suite): it must still be pending then.
    later_id = ScheduleTag(client, 12, "b");
    REQUIRE(first.Stop() == 0);
  }
  std::this_thread::sleep_for(1500ms);  // the first job falls due while no daemon runs
  DaemonProcess second(yaml);
  HttpClient client(second.http_port());
  // Due while down: run at once after the start.
  CHECK(PollUntil([&] { return client.Get("/v1/keys/due-while-down").status == 404; }, 2s));
  const auto listed = Jobs(client);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].at("id") == later_id);
  CHECK(client.Get("/v1/keys/due-later").status == 200);
  CHECK(PollUntil([&] { return client.Get("/v1/keys/due-later").status == 404; }, 15s));
}

}  // namespace
}  // namespace tiercache::test
