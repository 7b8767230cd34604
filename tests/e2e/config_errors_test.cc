// The daemon's command line: --check-config, bad config files, bad listen addresses and
// ports already in use all end with exit status 1 and a message saying what is wrong.

#include <catch2/catch.hpp>

#include "tests/e2e/e2e_helpers.h"

namespace tiercache::test {
namespace {

using std::chrono::seconds;

// Listen flags on free ports, so that a daemon that wrongly starts disturbs nothing.
std::vector<std::string> FreeListenFlags() {
  const std::vector<uint16_t> ports = PickFreePorts(2);
  return {"--http-listen", "127.0.0.1:" + std::to_string(ports[0]), "--grpc-listen",
          "127.0.0.1:" + std::to_string(ports[1])};
}

// Runs the daemon with `args`; a daemon still running after the bound is killed, and
// the result says it timed out.
CommandResult RunDaemon(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), DaemonPath());
  return RunCommand(args, seconds(20), env);
}

TEST_CASE("tiercached --check-config rejects an unknown key with FILE:LINE:COLUMN, exit status 1",
          "[config]") {
  TempDir dir;
  const std::string path = dir.WriteFile("bad.yaml",
                                         "server:\n"
                                         "  max_connections: 10\n"
                                         "  bogus_key: 1\n")
                               .string();
  const CommandResult r = RunDaemon({"--check-config", path});
  CAPTURE(r.out, r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(path + ":3:3") != std::string::npos);
  CHECK(r.err.find("bogus_key") != std::string::npos);
}

TEST_CASE("tiercached --check-config rejects a bad value with FILE:LINE:COLUMN, exit status 1",
          "[config]") {
  TempDir dir;
  const std::string path = dir.WriteFile("bad.yaml",
                                         "l1:\n"
                                         "  shards: 3\n")
                               .string();
  const CommandResult r = RunDaemon({"--check-config", path});
  CAPTURE(r.out, r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(path + ":2:11") != std::string::npos);
}

TEST_CASE("tiercached --check-config accepts a valid file with exit status 0", "[config]") {
  TempDir dir;
  const std::string path = dir.WriteFile("good.yaml",
                                         "server:\n"
                                         "  max_connections: 10\n"
                                         "  idle_timeout: 5s\n"
                                         "l1:\n"
                                         "  max_entries: 1000\n"
                                         "  max_bytes: 1MiB\n"
                                         "strategies:\n"
                                         "  adaptive:\n"
                                         "    base_timeout: 100s\n"
                                         "    min_timeout: 10s\n"
                                         "    max_timeout: 1000s\n")
                               .string();
  const CommandResult r = RunDaemon({"--check-config", path});
  CAPTURE(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
}

TEST_CASE("tiercached --config with a bad file exits 1 without serving", "[config]") {
  TempDir dir;
  const std::string path = dir.WriteFile("bad.yaml",
                                         "limits:\n"
                                         "  max_key_bytes: lots\n")
                               .string();
  std::vector<std::string> args = {"--config", path};
  for (auto& flag : FreeListenFlags()) args.push_back(flag);
  const CommandResult r = RunDaemon(args);
  CAPTURE(r.out, r.err);
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(path + ":2:18") != std::string::npos);

  std::vector<std::string> missing = {"--config", (dir.path() / "absent.yaml").string()};
  for (auto& flag : FreeListenFlags()) missing.push_back(flag);
  const CommandResult m = RunDaemon(missing);
  CAPTURE(m.err);
  CHECK_FALSE(m.timed_out);
  CHECK(m.exit_code == 1);
  CHECK(m.err.find("absent.yaml") != std::string::npos);
}

TEST_CASE("tiercached with a bad --http-listen or --grpc-listen value exits 1 naming the flag",
          "[config]") {
  for (const char* value : {"nonsense", "127.0.0.1:99999", "127.0.0.1:", ":8080", "127.0.0.1:x"}) {
    CAPTURE(value);
    std::vector<std::string> args = FreeListenFlags();
    args[1] = value;
    const CommandResult r = RunDaemon(args);
    CAPTURE(r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("--http-listen") != std::string::npos);

    std::vector<std::string> grpc_args = FreeListenFlags();
    grpc_args[3] = value;
    const CommandResult g = RunDaemon(grpc_args);
    CAPTURE(g.err);
    CHECK_FALSE(g.timed_out);
    CHECK(g.exit_code == 1);
    CHECK(g.err.find("--grpc-listen") != std::string::npos);
  }

  // The environment variable is checked the same way.
  const CommandResult env = RunDaemon({}, {"TIERCACHE_HTTP_LISTEN=nonsense"});
  CAPTURE(env.err);
  CHECK_FALSE(env.timed_out);
  CHECK(env.exit_code == 1);
  CHECK(env.err.find("TIERCACHE_HTTP_LISTEN") != std::string::npos);
}

TEST_CASE("a listen port already in use exits 1 with a clear message", "[config]") {
  PortHolder taken;
  const std::string address = "127.0.0.1:" + std::to_string(taken.port());

  SECTION("the HTTP port") {
    std::vector<std::string> args = FreeListenFlags();
    args[1] = address;
    const CommandResult r = RunDaemon(args);
    CAPTURE(r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find(address) != std::string::npos);
    CHECK(r.err.find("in use") != std::string::npos);
  }
  SECTION("the gRPC port") {
    std::vector<std::string> args = FreeListenFlags();
    args[3] = address;
    const CommandResult r = RunDaemon(args);
    CAPTURE(r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("cannot listen for gRPC on " + address) != std::string::npos);
  }
}

TEST_CASE("tiercached --version prints the version and exits 0", "[config]") {
  const CommandResult r = RunDaemon({"--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("tiercached ") == 0);
}

}  // namespace
}  // namespace tiercache::test
