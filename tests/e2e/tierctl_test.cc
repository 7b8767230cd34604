// tierctl, the management CLI, run as a program against a real tiercached over gRPC:
// its output, its JSON, and its exit status (0 ok, 1 server error, 2 usage, 3 unreachable).

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/e2e/e2e_helpers.h"
#include "tests/e2e/tierctl_runner.h"
#include "tests/support/process.h"

namespace tiercache::test {
namespace {

using std::chrono::milliseconds;

TEST_CASE("tierctl: SetThenGetRoundTripsAValueAndAMissExits1", "[e2e][tierctl]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);

  const CommandResult set =
      Tierctl(daemon, {"set", "greeting", "hello world", "--ttl", "60", "--tags", "a,b"});
  TIERCTL_CAPTURE(set);
  REQUIRE(set.exit_code == 0);
  CHECK(Contains(set.out, "stored greeting"));

  const CommandResult get = Tierctl(daemon, {"get", "greeting"});
  TIERCTL_CAPTURE(get);
  REQUIRE(get.exit_code == 0);
  CHECK(get.out == "hello world\n");

  const CommandResult json = Tierctl(daemon, {"--json", "get", "greeting"});
  TIERCTL_CAPTURE(json);
  REQUIRE(json.exit_code == 0);
  const auto doc = nlohmann::json::parse(json.out);
  CHECK(doc.at("found") == true);
  CHECK(doc.at("value") == "hello world");
  CHECK(doc.at("tier") == "L1");

  const CommandResult miss = Tierctl(daemon, {"get", "absent"});
  TIERCTL_CAPTURE(miss);
  CHECK(miss.exit_code == 1);
  CHECK(miss.out.empty());
  CHECK(Contains(miss.err, "not found"));
}

TEST_CASE("tierctl: InvalidateByTagsKeysAndPatternRemovesOnlyWhatMatches", "[e2e][tierctl]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  const auto set = [&](const std::string& key, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"set", key, "v"};
    args.insert(args.end(), extra.begin(), extra.end());
    const CommandResult r = Tierctl(daemon, args);
    TIERCTL_CAPTURE(r);
    REQUIRE(r.exit_code == 0);
  };
  const auto present = [&](const std::string& key) {
    return Tierctl(daemon, {"get", key}).exit_code == 0;
  };
  set("tagged:1", {"--tags", "group:7"});
  set("tagged:2", {"--tags", "group:7,other"});
  set("plain:1");
  set("plain:2");
  set("user:42");
  set("user:43");
  set("user:42:settings");
  set("keep");

  const CommandResult by_tags = Tierctl(daemon, {"invalidate", "--tags", "group:7"});
  TIERCTL_CAPTURE(by_tags);
  REQUIRE(by_tags.exit_code == 0);
  CHECK(by_tags.out == "invalidated 2 (L1 2)\n");
  CHECK_FALSE(present("tagged:1"));
  CHECK_FALSE(present("tagged:2"));

  const CommandResult by_keys = Tierctl(daemon, {"invalidate", "--keys", "plain:1", "plain:2"});
  TIERCTL_CAPTURE(by_keys);
  REQUIRE(by_keys.exit_code == 0);
  CHECK(by_keys.out == "invalidated 2 (L1 2)\n");
  CHECK_FALSE(present("plain:1"));
  CHECK_FALSE(present("plain:2"));

  const CommandResult by_pattern = Tierctl(daemon, {"invalidate", "--pattern", "^user:[0-9]+$"});
  TIERCTL_CAPTURE(by_pattern);
  REQUIRE(by_pattern.exit_code == 0);
  CHECK(by_pattern.out == "invalidated 2 (L1 2)\n");
  CHECK_FALSE(present("user:42"));
  CHECK_FALSE(present("user:43"));

  CHECK(present("user:42:settings"));
  CHECK(present("keep"));
}

TEST_CASE("tierctl: InvalidateJsonIsOneObjectWithTheCounts", "[e2e][tierctl]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  REQUIRE(Tierctl(daemon, {"set", "k1", "v", "--tags", "t"}).exit_code == 0);
  REQUIRE(Tierctl(daemon, {"set", "k2", "v"}).exit_code == 0);
  REQUIRE(Tierctl(daemon, {"set", "k3", "v"}).exit_code == 0);

  const CommandResult r =
      Tierctl(daemon, {"invalidate", "--json", "--tags", "t", "--keys", "k2", "--pattern", "3$"});
  TIERCTL_CAPTURE(r);
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc.at("invalidated") == 3);
  CHECK(doc.at("by_keys") == 1);
  CHECK(doc.at("by_tags") == 1);
  CHECK(doc.at("by_pattern") == 1);
  CHECK(doc.at("tiers").at("L1") == 3);
  CHECK(doc.at("models") == nlohmann::json::array());
}

TEST_CASE("tierctl: StatusAndClear", "[e2e][tierctl]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  REQUIRE(Tierctl(daemon, {"set", "a", "1"}).exit_code == 0);
  REQUIRE(Tierctl(daemon, {"set", "b", "2"}).exit_code == 0);

  const CommandResult status = Tierctl(daemon, {"status"});
  TIERCTL_CAPTURE(status);
  REQUIRE(status.exit_code == 0);
  CHECK(Contains(status.out, "tiercached "));
  CHECK(Contains(status.out, "\nL1 "));

  const CommandResult json = Tierctl(daemon, {"status", "--json"});
  TIERCTL_CAPTURE(json);
  REQUIRE(json.exit_code == 0);
  const auto doc = nlohmann::json::parse(json.out);
  REQUIRE(doc.at("tiers").size() >= 1);
  CHECK(doc.at("tiers")[0].at("name") == "L1");
  CHECK(doc.at("tiers")[0].at("entries") == 2);

  const CommandResult cleared = Tierctl(daemon, {"clear", "--yes"});
  TIERCTL_CAPTURE(cleared);
  REQUIRE(cleared.exit_code == 0);
  CHECK(cleared.out == "cleared 2 (L1 2)\n");
  CHECK(Tierctl(daemon, {"get", "a"}).exit_code == 1);
}

TEST_CASE("tierctl: DeleteRemovesAKeyAndAMissingKeyExits1", "[e2e][tierctl]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  REQUIRE(Tierctl(daemon, {"set", "gone", "v"}).exit_code == 0);
  const CommandResult deleted = Tierctl(daemon, {"delete", "gone"});
  TIERCTL_CAPTURE(deleted);
  CHECK(deleted.exit_code == 0);
  CHECK(deleted.out == "deleted gone\n");
  CHECK(Tierctl(daemon, {"get", "gone"}).exit_code == 1);
  const CommandResult again = Tierctl(daemon, {"delete", "gone"});
  TIERCTL_CAPTURE(again);
  CHECK(again.exit_code == 1);
  CHECK(Contains(again.err, "NOT_FOUND"));
}

// At a terminal (tmux), clear asks first: "n" keeps everything, "y" clears.
TEST_CASE("tierctl: ClearAsksForConfirmationAtATerminal", "[e2e][tierctl]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  REQUIRE(Tierctl(daemon, {"set", "kept", "v"}).exit_code == 0);
  const std::string socket = (daemon.dir() / "tmux.sock").string();
  const auto tmux = [&](std::vector<std::string> args) { return Tmux(socket, std::move(args)); };
  const auto answer_clear = [&](const std::string& answer) {
    const std::string status_file = (daemon.dir() / ("exit-" + answer)).string();
    const std::string command = std::string(TIERCTL_PATH) + " --server " +
                                daemon.grpc_target() + " clear; echo $? > " + status_file;
    REQUIRE(tmux({"new-session", "-d", "-s", "clear-" + answer, "-x", "120", "-y", "10",
                  "sh", "-c", command})
                .exit_code == 0);
    std::string screen;
    for (int i = 0; i < 40 && !Contains(screen, "[y/N]"); ++i) {
      std::this_thread::sleep_for(milliseconds(100));
      screen = tmux({"capture-pane", "-p", "-t", "clear-" + answer}).out;
    }
    INFO("screen:\n" << screen);
    REQUIRE(Contains(screen, "Remove every entry from every tier"));
    tmux({"send-keys", "-t", "clear-" + answer, answer, "Enter"});
    std::string code;
    for (int i = 0; i < 50 && code.empty(); ++i) {
      std::this_thread::sleep_for(milliseconds(100));
      std::ifstream in(status_file);
      std::getline(in, code);
    }
    return code;
  };
  CHECK(answer_clear("n") == "2");
  CHECK(Tierctl(daemon, {"get", "kept"}).exit_code == 0);
  CHECK(answer_clear("y") == "0");
  CHECK(Tierctl(daemon, {"get", "kept"}).exit_code == 1);
  tmux({"kill-server"});
}

TEST_CASE("tierctl: BadUsageExits2WithoutCallingTheServer", "[e2e][tierctl]") {
  // Nothing listens here: a usage error must be reported before any call is tried.
  const std::string nowhere = "127.0.0.1:" + std::to_string(PickFreePorts(1)[0]);
  const std::vector<std::vector<std::string>> cases = {
      {"invalidate"},
      {"invalidate", "--in", "10"},
      {"invalidate", "--id", "7"},
      {"invalidate", "--model", "auth.User", "--event", "explode"},
      {"invalidate", "--model", "auth.User", "--field", "no-equals-sign"},
      {"clear"},
      {"get"},
      {"warm", "--no-wait"},
      {"warm", "--source"},
      {"frobnicate"},
      {},
  };
  for (const auto& args : cases) {
    const CommandResult r = Tierctl(nowhere, args);
    TIERCTL_CAPTURE(r);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(r.err.empty());
  }
  const CommandResult none = Tierctl(nowhere, {"invalidate"});
  CHECK(Contains(none.err, "at least one criterion"));
}

TEST_CASE("tierctl: AnUnreachableServerExits3WithinTheTimeout", "[e2e][tierctl]") {
  const auto run_timed = [](const std::string& server) {
    const auto start = std::chrono::steady_clock::now();
    CommandResult r = Tierctl(server, {"--timeout", "1", "status"}, std::chrono::seconds(20));
    const auto took = std::chrono::steady_clock::now() - start;
    return std::make_pair(r, took);
  };
  SECTION("nothing listens on the port") {
    const auto [r, took] = run_timed("127.0.0.1:" + std::to_string(PickFreePorts(1)[0]));
    TIERCTL_CAPTURE(r);
    CHECK(r.exit_code == 3);
    CHECK(Contains(r.err, "cannot reach tiercached"));
    CHECK(took < std::chrono::seconds(3));
  }
  SECTION("the port accepts connections but never speaks HTTP/2") {
    PortHolder silent;
    const auto [r, took] = run_timed("127.0.0.1:" + std::to_string(silent.port()));
    TIERCTL_CAPTURE(r);
    CHECK(r.exit_code == 3);
    CHECK(Contains(r.err, "cannot reach tiercached"));
    CHECK(took < std::chrono::seconds(3));
  }
}

TEST_CASE("tierctl: InvalidatingAModelWithoutARuleExits1WithNotFound", "[e2e][tierctl]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  const CommandResult r = Tierctl(daemon, {"invalidate", "--model", "X", "--id", "1"});
  TIERCTL_CAPTURE(r);
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "tierctl: NOT_FOUND: "));
  CHECK(r.out.empty());
}

// Scheduled jobs are declared in the proto before every server implements them: against a
// server without them, tierctl says so plainly and exits 1; against one with them, an idle
// server lists no jobs and a scheduled invalidation shows up and can be cancelled.
TEST_CASE("tierctl: JobsAreScheduledListedAndCancelled", "[e2e][tierctl]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  const CommandResult list = Tierctl(daemon, {"jobs"});
  TIERCTL_CAPTURE(list);
  REQUIRE(list.exit_code == 0);
  CHECK(list.out == "no jobs\n");

  const CommandResult schedule =
      Tierctl(daemon, {"invalidate", "--json", "--in", "600", "--tags", "t"});
  TIERCTL_CAPTURE(schedule);
  REQUIRE(schedule.exit_code == 0);
  const std::string id = nlohmann::json::parse(schedule.out).at("job_id");
  REQUIRE_FALSE(id.empty());

  const CommandResult listed = Tierctl(daemon, {"jobs", "--json"});
  TIERCTL_CAPTURE(listed);
  REQUIRE(listed.exit_code == 0);
  const auto jobs = nlohmann::json::parse(listed.out).at("jobs");
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].at("id") == id);
  CHECK(jobs[0].at("due_in_seconds").get<double>() > 500);

  const CommandResult cancel = Tierctl(daemon, {"jobs", "--cancel", id});
  TIERCTL_CAPTURE(cancel);
  CHECK(cancel.exit_code == 0);
  const CommandResult again = Tierctl(daemon, {"jobs", "--cancel", id});
  TIERCTL_CAPTURE(again);
  CHECK(again.exit_code == 1);
  CHECK(Contains(again.err, "tierctl: NOT_FOUND: "));
}

TEST_CASE("tierctl: WarmWithoutSourcesListsNoneAndAnUnknownSourceExits1", "[e2e][tierctl]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  const CommandResult list = Tierctl(daemon, {"warm"});
  TIERCTL_CAPTURE(list);
  REQUIRE(list.exit_code == 0);
  CHECK(list.out == "no warming sources\n");

  const CommandResult json = Tierctl(daemon, {"warm", "--json"});
  TIERCTL_CAPTURE(json);
  REQUIRE(json.exit_code == 0);
  CHECK(nlohmann::json::parse(json.out) == nlohmann::json{{"sources", nlohmann::json::array()}});

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"warm", "--source", "nope"}, {"warm", "--source", "nope", "--no-wait"}}) {
    const CommandResult unknown = Tierctl(daemon, args);
    TIERCTL_CAPTURE(unknown);
    CHECK(unknown.exit_code == 1);
    CHECK(unknown.out.empty());
    CHECK(Contains(unknown.err, "tierctl: NOT_FOUND: "));
    CHECK(Contains(unknown.err, "nope"));
  }

  // No warming section in the status without sources.
  const CommandResult status = Tierctl(daemon, {"status"});
  TIERCTL_CAPTURE(status);
  REQUIRE(status.exit_code == 0);
  CHECK_FALSE(Contains(status.out, "warming"));
}

}  // namespace
}  // namespace tiercache::test
