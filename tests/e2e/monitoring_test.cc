// Monitoring against a real tiercached: the figures of /v1/status, /metrics and `tierctl
// status --json` agree with each other and with a scripted workload; `tierctl optimize`
// finds a TTL that is too short; `tierctl monitor` refreshes in a terminal (tmux) and
// writes plain lines into a file.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/e2e_helpers.h"
#include "tests/e2e/tierctl_runner.h"
#include "tests/support/process.h"

namespace tiercache::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The value of one sample (`name{labels}` exactly as exposed); -1 when absent.
double Sample(const std::string& metrics, const std::string& series) {
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

const json& PatternOf(const json& status, const std::string& name) {
  for (const json& p : status.at("patterns")) {
    if (p.at("pattern") == name) return p;
  }
  FAIL("no pattern " << name << " in " << status.at("patterns").dump());
  throw;  // not reached
}

TEST_CASE("Monitoring: StatusMetricsAndTierctlAgreeWithAScriptedWorkload", "[e2e][monitoring]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());
  // 10 user keys, each read twice (20 hits); 5 absent user keys and 4 absent session keys.
  for (int i = 0; i < 10; ++i) {
    REQUIRE(client.Put("/v1/keys/user:" + std::to_string(i) + "?ttl=600", "v").status == 204);
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 10; ++i) {
      REQUIRE(client.Get("/v1/keys/user:" + std::to_string(i)).status == 200);
    }
  }
  for (int i = 10; i < 15; ++i) {
    REQUIRE(client.Get("/v1/keys/user:" + std::to_string(i)).status == 404);
  }
  for (int i = 0; i < 4; ++i) {
    REQUIRE(client.Get("/v1/keys/session:" + std::to_string(i)).status == 404);
  }

  const json status = StatusJson(client);
  INFO(status.dump());
  CHECK(status.at("performance").at("hits") == 20);
  CHECK(status.at("performance").at("misses") == 9);
  CHECK(status.at("performance").at("operations").at("set").at("requests") == 10);
  CHECK(status.at("performance").at("hit_rate").get<double>() == Approx(20.0 / 29));
  const json& user = PatternOf(status, "user");
  CHECK(user.at("reads") == 25);
  CHECK(user.at("hits") == 20);
  CHECK(user.at("writes") == 10);
  CHECK(user.at("l1_entries") == 10);
  const json& session = PatternOf(status, "session");
  CHECK(session.at("reads") == 4);
  CHECK(session.at("misses") == 4);
  CHECK(status.at("tiers").at(0).at("hits") == 20);
  CHECK(status.at("tiers").at(0).at("misses") == 9);

  const std::string metrics = client.Get("/metrics").body;
  CHECK(Sample(metrics, R"(tiercache_pattern_reads_total{pattern="user",result="hit"})") == 20);
  CHECK(Sample(metrics, R"(tiercache_pattern_reads_total{pattern="user",result="miss"})") == 5);
  CHECK(Sample(metrics, R"(tiercache_pattern_reads_total{pattern="session",result="miss"})") == 4);
  CHECK(Sample(metrics, R"(tiercache_pattern_writes_total{pattern="user"})") == 10);
  CHECK(Sample(metrics, R"(tiercache_pattern_l1_entries{pattern="user"})") == 10);
  CHECK(Sample(metrics, R"(tiercache_requests_total{frontend="http",operation="get",outcome="hit"})") == 20);
  CHECK(Sample(metrics, R"(tiercache_requests_total{frontend="http",operation="get",outcome="miss"})") == 9);
  CHECK(Sample(metrics, "tiercache_l1_hits_total") == 20);
  CHECK(Sample(metrics, "tiercache_l1_misses_total") == 9);

  const CommandResult tierctl = Tierctl(daemon, {"status", "--json"});
  TIERCTL_CAPTURE(tierctl);
  REQUIRE(tierctl.exit_code == 0);
  const json doc = json::parse(tierctl.out);
  CHECK(doc.at("performance").at("hits") == 20);
  CHECK(doc.at("performance").at("misses") == 9);
  CHECK(PatternOf(doc, "user").at("hits") == 20);
  CHECK(PatternOf(doc, "session").at("misses") == 4);
  CHECK(doc.at("tiers").at(0).at("hits") == 20);
}

TEST_CASE("Monitoring: OptimizeRecommendsALongerTtlForAPatternReadAfterItExpires",
          "[e2e][monitoring]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());
  // Cache-aside with a 1 s TTL, read every 2 s: every read after the first misses because
  // the entry expired. A second pattern with a long TTL is read as often and never misses.
  constexpr int kKeys = 15;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kKeys; ++i) {
      const std::string n = std::to_string(i);
      if (client.Get("/v1/keys/session:" + n).status == 404) {
        REQUIRE(client.Put("/v1/keys/session:" + n + "?ttl=1", "s").status == 204);
      }
      if (client.Get("/v1/keys/profile:" + n).status == 404) {
        REQUIRE(client.Put("/v1/keys/profile:" + n + "?ttl=600", "p").status == 204);
      }
    }
    if (round < 2) std::this_thread::sleep_for(seconds(2));
  }

  const std::string output = daemon.dir() / "recommendations.json";
  const CommandResult r = Tierctl(daemon, {"optimize", "--output", output});
  TIERCTL_CAPTURE(r);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("[longer_ttl] pattern 'session'") != std::string::npos);
  CHECK(r.out.find("because the entry had expired") != std::string::npos);
  CHECK(r.out.find("'profile'") == std::string::npos);

  std::ifstream file(output);
  REQUIRE(file.good());
  const json doc = json::parse(file);
  INFO(doc.dump(2));
  REQUIRE(doc.at("recommendations").size() == 1);
  const json& rec = doc.at("recommendations").at(0);
  CHECK(rec.at("kind") == "longer_ttl");
  CHECK(rec.at("subject") == "session");
  // 45 reads: the first round's 15 are misses of keys never stored, the next 30 expired.
  CHECK(rec.at("evidence").at("reads") == 45);
  CHECK(rec.at("evidence").at("expired_misses") == 30);
  CHECK(rec.at("evidence").at("mean_ttl_seconds") == 1.0);
  CHECK(rec.at("evidence").at("mean_reread_age_seconds").get<double>() >= 2.0);
  CHECK(rec.at("evidence").at("suggested_ttl_seconds").get<double>() >= 3.0);
}

TEST_CASE("Monitoring: MonitorWritesPlainLinesIntoAFileAndExportsOneScrape",
          "[e2e][monitoring]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());
  REQUIRE(client.Put("/v1/keys/k", "v").status == 204);
  REQUIRE(client.Get("/v1/keys/k").status == 200);

  const CommandResult lines = Tierctl(daemon, {"monitor", "--interval", "0.2", "--count", "3"});
  TIERCTL_CAPTURE(lines);
  REQUIRE(lines.exit_code == 0);
  std::istringstream in(lines.out);
  int count = 0;
  for (std::string line; std::getline(in, line); ++count) {
    CHECK(line.find("ops/s=") != std::string::npos);
    CHECK(line.find("hit_rate=") != std::string::npos);
    CHECK(line.find("tiers=\"L1 up\"") != std::string::npos);
    CHECK(line.find("\x1b[") == std::string::npos);  // no terminal control codes
  }
  CHECK(count == 3);

  const CommandResult scrape = Tierctl(daemon, {"monitor", "--export", "prometheus"});
  TIERCTL_CAPTURE(scrape);
  REQUIRE(scrape.exit_code == 0);
  CHECK(Sample(scrape.out, "tiercache_l1_hits_total") == 1);
  CHECK(scrape.out.find("# TYPE tiercache_requests_total counter") != std::string::npos);
}

// tmux gives tierctl a real terminal: the screen is drawn in place and redrawn.
TEST_CASE("Monitoring: MonitorRefreshesItsViewInATerminal", "[e2e][monitoring]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());
  REQUIRE(client.Put("/v1/keys/k", "v").status == 204);
  const std::string session = "tierctl-monitor-" + std::to_string(getpid());
  const std::string socket = (daemon.dir() / "tmux.sock").string();
  const std::string command = std::string(TIERCTL_PATH) + " --server " + daemon.grpc_target() +
                              " monitor --interval 0.5";
  const auto tmux = [&](std::vector<std::string> args) { return Tmux(socket, std::move(args)); };
  REQUIRE(tmux({"new-session", "-d", "-s", session, "-x", "100", "-y", "20", command}).exit_code ==
          0);
  const auto screen = [&] { return tmux({"capture-pane", "-p", "-t", session}).out; };
  std::this_thread::sleep_for(milliseconds(1500));
  const std::string before = screen();
  INFO("screen before:\n" << before);
  CHECK(before.find("hit rate") != std::string::npos);
  CHECK(before.find("tiers        L1 up") != std::string::npos);
  // Reads now: the next refresh shows them (a 100% hit rate), on the same screen.
  for (int i = 0; i < 50; ++i) REQUIRE(client.Get("/v1/keys/k").status == 200);
  std::string after;
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::this_thread::sleep_for(milliseconds(250));
    after = screen();
    if (after.find("100.0%") != std::string::npos) break;
  }
  INFO("screen after:\n" << after);
  CHECK(after.find("100.0%") != std::string::npos);
  CHECK(after.find("ops/s") != std::string::npos);
  // Redrawn in place: the panel appears once, not once per refresh.
  CHECK(after.find("hit rate") == after.rfind("hit rate"));
  tmux({"kill-server"});
}

}  // namespace
}  // namespace tiercache::test
