// The hot set across a restart of an L1-only tiercached (l1.hot_set): after SIGTERM and a
// new start, the keys read most answer from L1 before any request is served, with the
// values the snapshot kept; keys read less are left out by the bound; status tells.

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/e2e/e2e_helpers.h"
#include "tests/e2e/hot_set_workload.h"

namespace tiercache::test {
namespace {

constexpr int kHot = 50'000;
constexpr int kCold = 10'000;

TEST_CASE("HotSet: AfterARestartTheMostReadKeysAnswerFromL1BeforeTheFirstRequest",
          "[e2e][hot_set]") {
  TempDir state;
  const std::string snapshot = (state.path() / "hot-set").string();
  const std::string yaml = "server: {shutdown_timeout: 20s}\nl1:\n  hot_set:\n    path: " +
                           snapshot + "\n    max_keys: " + std::to_string(kHot) + "\n";
  {
    DaemonProcess first(yaml);
    TIERCACHE_CAPTURE_DAEMON_LOG(first);
    HttpClient client(first.http_port());
    StoreAndReadHotAndCold(client, kHot, kCold);
    REQUIRE(first.Stop() == 0);
    CHECK_THAT(first.Stderr(), Catch::Contains("hot set: 50000 most read entries saved to " +
                                               snapshot + " (keys and values)"));
  }
  REQUIRE(std::filesystem::exists(snapshot));

  DaemonProcess second(yaml);
  TIERCACHE_CAPTURE_DAEMON_LOG(second);
  HttpClient client(second.http_port());
  // The first request: L1 holds the hot keys already, and only them.
  const nlohmann::json status = StatusJson(client);
  CHECK(status.at("tiers")[0].at("entries") == kHot);
  const nlohmann::json& hot_set = status.at("hot_set");
  CHECK(hot_set.at("source") == "snapshot values");
  CHECK(hot_set.at("in_snapshot") == kHot);
  CHECK(hot_set.at("restored") == kHot);
  CHECK(hot_set.at("failed") == 0);
  CHECK(hot_set.at("timed_out") == false);
  CHECK_FALSE(std::filesystem::exists(snapshot));  // used once

  CheckHotKeysAnswerFromL1(client, kHot);
  CHECK(client.Get("/v1/keys/" + ColdKey(0)).status == 404);
  CHECK(client.Get("/v1/keys/" + ColdKey(kCold - 1)).status == 404);
}

TEST_CASE("HotSet: ADamagedSnapshotIsReportedAndTheServerStartsEmpty", "[e2e][hot_set]") {
  TempDir state;
  const auto snapshot =
      state.WriteFile("hot-set", "tiercache hot set 1\nsome bytes that are no snapshot");
  DaemonProcess daemon("l1:\n  hot_set: {path: " + snapshot.string() + "}\n");
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());
  const nlohmann::json status = StatusJson(client);
  CHECK(status.at("tiers")[0].at("entries") == 0);
  CHECK_THAT(status.at("hot_set").at("error").get<std::string>(), Catch::Contains("checksum"));
  CHECK_THAT(daemon.Stderr(), Catch::Contains("hot set: snapshot not restored"));
}

}  // namespace
}  // namespace tiercache::test
