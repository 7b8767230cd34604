#include "config/config_loader.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "tiers/backend_kinds.h"

namespace tiercache::config {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSource = "test.yaml";

Config Load(std::string_view yaml) { return LoadConfigString(yaml, kSource, BackendKinds()); }

// The message of the ConfigError that loading `yaml` throws, or "" if it loads.
std::string ErrorOf(std::string_view yaml) {
  try {
    Load(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// A file that exists for the duration of a test.
class TempFile {
 public:
  explicit TempFile(std::string_view contents) {
    char name[] = "/tmp/tiercache_config_test_XXXXXX";
    const int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    path_ = name;
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --- Reading each section ----------------------------------------------------------------

TEST_CASE("RespListenTakesAnAddressOrEmptyToTurnItOff", "[config][loader]") {
  CHECK(Load("server:\n  resp_listen: \"0.0.0.0:7000\"\n").server.resp_listen ==
        ListenAddress{"0.0.0.0", 7000});
  CHECK_FALSE(Load("server:\n  resp_listen: \"\"\n").server.resp_listen.has_value());
  CHECK_THAT(ErrorOf("server:\n  resp_listen: localhost\n"), Catch::Contains("missing port"));
}

TEST_CASE("ParsesServerSection", "[config][loader]") {
  const Config config = Load(R"(
server:
  http_listen: "0.0.0.0:80"
  grpc_listen: "[::]:9090"
  io_threads: 8
  max_connections: 500
  idle_timeout: 5m
  shutdown_timeout: 2.5s
)");
  CHECK(config.server.http_listen == ListenAddress{"0.0.0.0", 80});
  CHECK(config.server.grpc_listen == ListenAddress{"::", 9090});
  CHECK(config.server.resp_listen == ListenAddress{"127.0.0.1", 6380});  // the default
  CHECK(config.server.io_threads == 8);
  CHECK(config.server.max_connections == 500);
  CHECK(config.server.idle_timeout == 5min);
  CHECK(config.server.shutdown_timeout == 2500ms);
}

TEST_CASE("ParsesLimitsSection", "[config][loader]") {
  const Config config = Load(R"(
limits:
  max_key_bytes: 512
  max_value_bytes: 1MB
  max_request_body_bytes: 2MiB
  max_tags: 8
  max_tag_bytes: 64B
  max_pattern_bytes: 1KiB
  max_keys_per_request: 100
)");
  CHECK(config.limits.max_key_bytes == 512);
  CHECK(config.limits.max_value_bytes == 1'000'000);
  CHECK(config.limits.max_request_body_bytes == 2 * 1024 * 1024);
  CHECK(config.limits.max_tags == 8);
  CHECK(config.limits.max_tag_bytes == 64);
  CHECK(config.limits.max_pattern_bytes == 1024);
  CHECK(config.limits.max_keys_per_request == 100);
}

TEST_CASE("ParsesL1Section", "[config][loader]") {
  const Config config = Load(R"(
l1:
  shards: 64
  max_entries: 5000
  max_bytes: 256MiB
  ttl_factor: 0.1
  sweep_interval: 1s
)");
  CHECK(config.l1.shards == 64);
  CHECK(config.l1.max_entries == 5000);
  CHECK(config.l1.max_bytes == uint64_t{256} << 20);
  CHECK(config.l1.ttl_factor == 0.1);
  CHECK(config.l1.sweep_interval == 1s);
  CHECK(config.l1.hot_set.path.empty());  // off unless configured
}

TEST_CASE("CompressionIsOffInL1AndEveryTierUntilConfigured", "[config][loader]") {
  const Config defaults = Load("tiers:\n  - type: redis\n    url: redis://127.0.0.1:6379\n");
  CHECK(defaults.l1.compress_min_bytes == 0);
  CHECK(defaults.tiers[0].options.compression.codec == CompressionCodec::kNone);
  const Config config = Load(R"(
l1:
  compress_min_bytes: 4KiB
  compression: lz4
tiers:
  - type: redis
    url: redis://127.0.0.1:6379
    compression: zstd
    compress_min_bytes: 512
)");
  CHECK(config.l1.compress_min_bytes == 4096);
  CHECK(config.l1.compression == CompressionCodec::kLz4);
  CHECK(config.tiers[0].options.compression.codec == CompressionCodec::kZstd);
  CHECK(config.tiers[0].options.compression.min_bytes == 512);
  CHECK_THAT(ErrorOf("l1: {compression: gzip}\n"),
             Catch::Contains("expected one of: zstd, lz4; got 'gzip'"));
  CHECK_THAT(ErrorOf("l1: {compression: none}\n"), Catch::Contains("expected one of: zstd, lz4"));
  CHECK_THAT(ErrorOf("tiers:\n  - {type: redis, url: 'redis://h:1', compression: brotli}\n"),
             Catch::Contains("expected one of: none, zstd, lz4"));
}

TEST_CASE("NamespacesHaveANameAPrefixAndAStartingVersion", "[config][loader]") {
  const Config config = Load(R"(
namespaces:
  - name: app
  - name: api.v2
    prefix: "api2|"
    version: 7
)");
  REQUIRE(config.namespaces.size() == 2);
  CHECK(config.namespaces[0].name == "app");
  CHECK(config.namespaces[0].prefix == "app:");
  CHECK(config.namespaces[0].version == 1);
  CHECK(config.namespaces[1].prefix == "api2|");
  CHECK(config.namespaces[1].version == 7);
  CHECK(Load("server: {}\n").namespaces.empty());
  CHECK(ErrorOf("namespaces:\n  - {prefix: 'x:'}\n") ==
        "test.yaml:2:5: namespaces[0]: every namespace needs a name");
  CHECK_THAT(ErrorOf("namespaces:\n  - {name: 'a b'}\n"),
             Catch::Contains("a namespace name is 1 to 64 of A-Z a-z 0-9 _ - ."));
  CHECK_THAT(ErrorOf("namespaces:\n  - {name: a}\n  - {name: a}\n"),
             Catch::Contains("duplicate namespace 'a'"));
  CHECK_THAT(ErrorOf("namespaces:\n  - {name: a, prefix: 'app'}\n  - {name: b, prefix: 'app:'}\n"),
             Catch::Contains("must not start one another"));
  CHECK_THAT(ErrorOf("namespaces:\n  - {name: a, version: 0}\n"),
             Catch::Contains("must be greater than 0"));
  CHECK_THAT(ErrorOf("namespaces: {name: a}\n"), Catch::Contains("expected a list of namespaces"));
}

TEST_CASE("HotSetTakesAPathAndOptionallyItsBounds", "[config][loader]") {
  const Config config = Load(R"(
l1:
  hot_set:
    path: /var/lib/tiercache/hot-set
    max_keys: 50000
    restore_timeout: 5s
)");
  CHECK(config.l1.hot_set.path == "/var/lib/tiercache/hot-set");
  CHECK(config.l1.hot_set.max_keys == 50000);
  CHECK(config.l1.hot_set.restore_timeout == 5s);
  CHECK(Load("l1:\n  hot_set: {path: /tmp/h}\n").l1.hot_set.max_keys == 100000);
  CHECK(ErrorOf("l1:\n  hot_set: {max_keys: 10}\n") ==
        "test.yaml:2:12: l1.hot_set: needs a path");
  CHECK_THAT(ErrorOf("l1:\n  hot_set: {path: /tmp/h, max_keys: 0}\n"),
             Catch::Contains("must be greater than 0"));
}

TEST_CASE("ParsesStrategiesSection", "[config][loader]") {
  const Config config = Load(R"(
strategies:
  default_timeout: 10m
  default_strategy: adaptive
  max_timeout: 7d
  adaptive:
    base_timeout: 120
    min_timeout: 30s
    max_timeout: 2h
)");
  CHECK(config.strategies.default_timeout == 10min);
  CHECK(config.strategies.default_strategy == StrategyKind::kAdaptive);
  CHECK(config.strategies.max_timeout == std::chrono::hours(7 * 24));
  CHECK(config.strategies.adaptive.base_timeout == 120s);
  CHECK(config.strategies.adaptive.min_timeout == 30s);
  CHECK(config.strategies.adaptive.max_timeout == 2h);
  CHECK(Load("strategies: {default_strategy: ttl}").strategies.default_strategy ==
        StrategyKind::kTtl);
}

TEST_CASE("ParsesLoggingSection", "[config][loader]") {
  const Config config = Load("logging:\n  level: debug\n  format: json\n");
  CHECK(config.logging.level == "debug");
  CHECK(config.logging.format == LogFormat::kJson);
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    CHECK(Load(std::string("logging: {level: ") + level + "}").logging.level == level);
  }
  CHECK(Load("logging: {format: text}").logging.format == LogFormat::kText);
}

TEST_CASE("KeepsDefaultsForKeysNotSet", "[config][loader]") {
  const Config config = Load("server:\n  io_threads: 4\nl1:\n  shards: 8\n");
  const Config defaults;
  CHECK(config.server.io_threads == 4);
  CHECK(config.server.http_listen == defaults.server.http_listen);
  CHECK(config.server.max_connections == defaults.server.max_connections);
  CHECK(config.l1.shards == 8);
  CHECK(config.l1.max_bytes == defaults.l1.max_bytes);
  CHECK(config.strategies.default_timeout == defaults.strategies.default_timeout);
}

TEST_CASE("AcceptsQuotedNumbersAndDurations", "[config][loader]") {
  const Config config = Load("server: {io_threads: '2', idle_timeout: \"0.5\"}");
  CHECK(config.server.io_threads == 2);
  CHECK(config.server.idle_timeout == 500ms);
}

TEST_CASE("IgnoresTrailingDocumentMarker", "[config][loader]") {
  CHECK(Load("server: {io_threads: 2}\n---\n").server.io_threads == 2);
}

// --- Unknown keys ------------------------------------------------------------------------

TEST_CASE("RejectsUnknownKeyWithFileLineAndColumn", "[config][loader]") {
  const std::string yaml = "server:\n  http_listen: \"127.0.0.1:8080\"\n  max_conections: 10\n";
  try {
    LoadConfigString(yaml, "/etc/tiercache.yaml", BackendKinds());
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) ==
          "/etc/tiercache.yaml:3:3: unknown key 'max_conections' in 'server' (expected one of: "
          "http_listen, grpc_listen, resp_listen, io_threads, max_connections, idle_timeout, "
          "shutdown_timeout)");
  }
}

TEST_CASE("RejectsUnknownTopLevelKey", "[config][loader]") {
  CHECK(ErrorOf("server: {}\n\ncache:\n  size: 1\n") ==
        "test.yaml:3:1: unknown key 'cache' at the top level (expected one of: server, limits, "
        "l1, strategies, logging, tiers, tier_health, invalidation, coherence, warming, "
        "monitoring, scheduler, namespaces, proxy)");
}

TEST_CASE("RejectsUnknownKeyInNestedSection", "[config][loader]") {
  CHECK(ErrorOf("strategies:\n  adaptive:\n    base_timeout: 60s\n    mid_timeout: 90s\n") ==
        "test.yaml:4:5: unknown key 'mid_timeout' in 'strategies.adaptive' (expected one of: "
        "base_timeout, min_timeout, max_timeout)");
  CHECK(ErrorOf("l1: {shards: 4, size: 1}") ==
        "test.yaml:1:17: unknown key 'size' in 'l1' (expected one of: shards, max_entries, "
        "max_bytes, ttl_factor, sweep_interval, policy, compress_min_bytes, compression, "
        "hot_set)");
  CHECK_THAT(ErrorOf("limits:\n  max_value: 1\n"),
             Catch::StartsWith("test.yaml:2:3: unknown key 'max_value' in 'limits'"));
  CHECK_THAT(ErrorOf("logging:\n  file: x\n"),
             Catch::StartsWith("test.yaml:2:3: unknown key 'file' in 'logging'"));
}

TEST_CASE("RejectsDuplicateKey", "[config][loader]") {
  CHECK(ErrorOf("server:\n  io_threads: 1\n  io_threads: 2\n") ==
        "test.yaml:3:3: duplicate key 'io_threads' in 'server'");
}

// --- Wrong types ---------------------------------------------------------------------------

TEST_CASE("RejectsDocumentThatIsNotAMap", "[config][loader]") {
  CHECK_THAT(ErrorOf("just a string\n"),
             Catch::StartsWith("test.yaml:1:1: expected a map at the top level (with keys server, "
                               "limits, l1, strategies, logging, tiers, tier_health, "
                               "invalidation, coherence, warming, monitoring, scheduler, "
                               "namespaces, proxy), got 'just a string'"));
  CHECK_THAT(ErrorOf("- server\n- l1\n"),
             Catch::StartsWith("test.yaml:1:1: expected a map at the top level"));
}

TEST_CASE("RejectsSectionThatIsNotAMap", "[config][loader]") {
  CHECK(ErrorOf("l1: 16\n") ==
        "test.yaml:1:5: l1: expected a map (with keys shards, max_entries, max_bytes, "
        "ttl_factor, sweep_interval, policy, compress_min_bytes, compression, hot_set), got "
        "'16'");
  CHECK_THAT(ErrorOf("strategies:\n  adaptive: [1, 2]\n"),
             Catch::StartsWith("test.yaml:2:13: strategies.adaptive: expected a map"));
}

TEST_CASE("RejectsMapWhereAScalarGoes", "[config][loader]") {
  CHECK(ErrorOf("server:\n  io_threads: {a: 1}\n") ==
        "test.yaml:2:15: server.io_threads: expected a non-negative integer, got a map");
  CHECK(ErrorOf("server:\n  http_listen: [127.0.0.1, 8080]\n") ==
        "test.yaml:2:16: server.http_listen: expected host:port, got a sequence");
}

TEST_CASE("RejectsNonKeyMapKey", "[config][loader]") {
  CHECK_THAT(ErrorOf("server:\n  ? [a, b]\n  : 1\n"),
             Catch::StartsWith("test.yaml:2:5: expected a key name in 'server', got a sequence"));
}

TEST_CASE("RejectsTextWhereANumberGoes", "[config][loader]") {
  CHECK(ErrorOf("server:\n  max_connections: abc\n") ==
        "test.yaml:2:20: server.max_connections: expected a non-negative integer, got 'abc'");
  CHECK(ErrorOf("l1:\n  ttl_factor: fast\n") ==
        "test.yaml:2:15: l1.ttl_factor: expected a number, got 'fast'");
  CHECK_THAT(ErrorOf("l1:\n  ttl_factor: .nan\n"), Catch::Contains("expected a number"));
  CHECK_THAT(ErrorOf("l1:\n  ttl_factor: inf\n"), Catch::Contains("expected a number"));
}

TEST_CASE("RejectsNegativeNumbers", "[config][loader]") {
  CHECK(ErrorOf("limits:\n  max_tags: -1\n") ==
        "test.yaml:2:13: limits.max_tags: expected a non-negative integer, got '-1'");
  CHECK(ErrorOf("limits:\n  max_value_bytes: -1MiB\n") ==
        "test.yaml:2:20: limits.max_value_bytes: a size must not be negative, got '-1MiB'");
  CHECK(ErrorOf("server:\n  idle_timeout: -5s\n") ==
        "test.yaml:2:17: server.idle_timeout: a duration must not be negative, got '-5s'");
}

TEST_CASE("RejectsFractionsForCounts", "[config][loader]") {
  CHECK(ErrorOf("server:\n  io_threads: 1.5\n") ==
        "test.yaml:2:15: server.io_threads: expected a non-negative integer, got '1.5'");
  CHECK_THAT(ErrorOf("l1:\n  max_entries: 1e6\n"),
             Catch::StartsWith("test.yaml:2:16: l1.max_entries: expected a non-negative integer"));
}

TEST_CASE("RejectsMalformedDurationAndSize", "[config][loader]") {
  CHECK_THAT(ErrorOf("l1:\n  sweep_interval: 250us\n"),
             Catch::StartsWith("test.yaml:2:19: l1.sweep_interval: expected a duration"));
  CHECK_THAT(ErrorOf("l1:\n  max_bytes: 1TB\n"),
             Catch::StartsWith("test.yaml:2:14: l1.max_bytes: expected a size"));
}

TEST_CASE("RejectsEmptyValueAtItsKey", "[config][loader]") {
  // yaml-cpp places an empty value at the next token; the error points at the key instead.
  CHECK(ErrorOf("server:\n  io_threads:\n  max_connections: 3\n") ==
        "test.yaml:2:3: server.io_threads: expected a non-negative integer, got nothing");
}

// --- Validation rules ----------------------------------------------------------------------

TEST_CASE("RejectsListenPortOutOfRange", "[config][validation]") {
  CHECK(ErrorOf("server:\n  http_listen: \"127.0.0.1:0\"\n") ==
        "test.yaml:2:16: server.http_listen: invalid listen address '127.0.0.1:0': the port "
        "must be in 1..65535 (expected host:port or [ipv6]:port, e.g. 127.0.0.1:8080)");
  CHECK_THAT(ErrorOf("server:\n  grpc_listen: \"[::1]:70000\"\n"),
             Catch::StartsWith("test.yaml:2:16: server.grpc_listen: invalid listen address "
                               "'[::1]:70000': the port must be in 1..65535"));
}

TEST_CASE("RejectsListenAddressWithoutHostOrPort", "[config][validation]") {
  CHECK_THAT(ErrorOf("server:\n  http_listen: \":8080\"\n"),
             Catch::StartsWith("test.yaml:2:16: server.http_listen: invalid listen address "
                               "':8080': empty host"));
  CHECK_THAT(ErrorOf("server:\n  grpc_listen: localhost\n"), Catch::Contains("missing port"));
}

TEST_CASE("RejectsShardsThatAreNotAPowerOfTwoUpTo1024", "[config][validation]") {
  CHECK(ErrorOf("l1:\n  shards: 12\n") ==
        "test.yaml:2:11: l1.shards: must be a power of two in 1..1024, got 12");
  CHECK_THAT(ErrorOf("l1:\n  shards: 0\n"), Catch::Contains("must be a power of two"));
  CHECK_THAT(ErrorOf("l1:\n  shards: 2048\n"), Catch::Contains("must be a power of two"));
  CHECK(Load("l1:\n  shards: 1\n").l1.shards == 1);
  CHECK(Load("l1:\n  shards: 1024\n").l1.shards == 1024);
}

TEST_CASE("RejectsFewerMaxEntriesThanShards", "[config][validation]") {
  CHECK(ErrorOf("l1:\n  shards: 16\n  max_entries: 8\n") ==
        "test.yaml:3:16: l1.max_entries (8) must be at least l1.shards (16)");
  // Only max_entries is set: the error points at it, against the default shard count.
  CHECK(ErrorOf("l1:\n  max_entries: 0\n") ==
        "test.yaml:2:16: l1.max_entries (0) must be at least l1.shards (16)");
  CHECK(Load("l1: {shards: 16, max_entries: 16}").l1.max_entries == 16);
}

TEST_CASE("RejectsZeroL1MaxBytes", "[config][validation]") {
  CHECK(ErrorOf("l1:\n  max_bytes: 0GiB\n") ==
        "test.yaml:2:14: l1.max_bytes: must be greater than 0");
}

TEST_CASE("RejectsTtlFactorOutsideZeroTo1000", "[config][validation]") {
  CHECK(ErrorOf("l1:\n  ttl_factor: 0\n") ==
        "test.yaml:2:15: l1.ttl_factor: must be greater than 0 and at most 1000, got '0'");
  CHECK_THAT(ErrorOf("l1:\n  ttl_factor: -0.5\n"), Catch::Contains("must be greater than 0"));
  CHECK_THAT(ErrorOf("l1:\n  ttl_factor: 1000.5\n"), Catch::Contains("at most 1000"));
  CHECK(Load("l1: {ttl_factor: 1000}\nstrategies: {max_timeout: 30d}").l1.ttl_factor == 1000);
}

TEST_CASE("RejectsL1LifetimeBeyondTheClockRange", "[config][validation]") {
  // 365d (the default max_timeout) x 200 = 200 years of nanoseconds: too close to overflow.
  CHECK(ErrorOf("l1:\n  ttl_factor: 200\n") ==
        "test.yaml:2:15: l1.ttl_factor (200) x the longest timeout (31536000s, "
        "strategies.max_timeout or strategies.adaptive.max_timeout) must be at most 100 years");
  CHECK_THAT(ErrorOf("strategies:\n  max_timeout: 40000d\n"),
             Catch::StartsWith("test.yaml:2:16: l1.ttl_factor (1) x the longest timeout"));
}

TEST_CASE("RejectsZeroSweepInterval", "[config][validation]") {
  CHECK(ErrorOf("l1:\n  sweep_interval: 0ms\n") ==
        "test.yaml:2:19: l1.sweep_interval: must be greater than 0");
}

TEST_CASE("RejectsZeroLimits", "[config][validation]") {
  for (const char* key : {"max_key_bytes", "max_value_bytes", "max_request_body_bytes", "max_tags",
                          "max_tag_bytes", "max_pattern_bytes", "max_keys_per_request"}) {
    INFO(key);
    CHECK(ErrorOf(std::string("limits:\n  ") + key + ": 0\n") ==
          "test.yaml:2:" + std::to_string(5 + std::string(key).size()) + ": limits." + key +
              ": must be greater than 0");
  }
}

TEST_CASE("LoadsNegativeCachingRulesInOrder", "[config]") {
  const auto config = Load(
      "strategies:\n  negative:\n    - {match: \"^user:\", ttl: 5s}\n"
      "    - {match: \"^page:\", ttl: 1m}\n");
  REQUIRE(config.strategies.negative.size() == 2);
  CHECK(config.strategies.negative[0].match->pattern() == "^user:");
  CHECK(config.strategies.negative[0].ttl == std::chrono::seconds(5));
  CHECK(config.strategies.negative[1].ttl == std::chrono::minutes(1));
}

TEST_CASE("RejectsNegativeCachingRulesWithoutAMatchOrTtl", "[config][validation]") {
  CHECK_THAT(ErrorOf("strategies:\n  negative:\n    - {ttl: 5s}\n"),
             Catch::Contains("needs a match (a regular expression over keys) and a ttl"));
  CHECK_THAT(ErrorOf("strategies:\n  negative:\n    - {match: \"^a\"}\n"),
             Catch::Contains("needs a match (a regular expression over keys) and a ttl"));
  CHECK_THAT(ErrorOf("strategies:\n  negative:\n    - {match: \"(\", ttl: 5s}\n"),
             Catch::Contains("invalid pattern"));
}

TEST_CASE("RejectsKeysLongerThanL1Holds", "[config][validation]") {
  CHECK(ErrorOf("limits:\n  max_key_bytes: 64KiB\n") ==
        "test.yaml:2:18: limits.max_key_bytes: must be at most 65535 bytes");
  CHECK(ErrorOf("limits:\n  max_key_bytes: 65535\n").empty());
}

TEST_CASE("RejectsZeroDefaultTimeout", "[config][validation]") {
  CHECK(ErrorOf("strategies:\n  default_timeout: 0\n") ==
        "test.yaml:2:20: strategies.default_timeout: must be greater than 0");
}

TEST_CASE("RejectsDefaultTimeoutAboveMaxTimeout", "[config][validation]") {
  CHECK(ErrorOf("strategies:\n  max_timeout: 1h\n  default_timeout: 2h\n") ==
        "test.yaml:3:20: strategies.default_timeout (7200s) must not exceed "
        "strategies.max_timeout (3600s)");
  // Only max_timeout is set, below the default default_timeout: it is the one to blame.
  CHECK(ErrorOf("strategies:\n  max_timeout: 60s\n") ==
        "test.yaml:2:16: strategies.default_timeout (300s) must not exceed "
        "strategies.max_timeout (60s)");
}

TEST_CASE("RejectsZeroAdaptiveMinTimeout", "[config][validation]") {
  CHECK(ErrorOf("strategies:\n  adaptive:\n    min_timeout: 0s\n") ==
        "test.yaml:3:18: strategies.adaptive.min_timeout: must be greater than 0");
}

TEST_CASE("RejectsAdaptiveMinAboveBase", "[config][validation]") {
  CHECK(ErrorOf("strategies:\n  adaptive:\n    base_timeout: 60s\n    min_timeout: 2m\n") ==
        "test.yaml:4:18: strategies.adaptive.min_timeout (120s) must not exceed "
        "strategies.adaptive.base_timeout (60s)");
  CHECK(ErrorOf("strategies:\n  adaptive:\n    base_timeout: 30s\n") ==
        "test.yaml:3:19: strategies.adaptive.min_timeout (60s) must not exceed "
        "strategies.adaptive.base_timeout (30s)");
}

TEST_CASE("RejectsAdaptiveBaseAboveMax", "[config][validation]") {
  CHECK(ErrorOf("strategies:\n  adaptive: {base_timeout: 2h, max_timeout: 1h}\n") ==
        "test.yaml:2:28: strategies.adaptive.base_timeout (7200s) must not exceed "
        "strategies.adaptive.max_timeout (3600s)");
  CHECK_THAT(ErrorOf("strategies:\n  adaptive:\n    max_timeout: 100s\n"),
             Catch::StartsWith("test.yaml:3:18: strategies.adaptive.base_timeout (300s)"));
}

TEST_CASE("RejectsMoreThan256IoThreads", "[config][validation]") {
  CHECK(ErrorOf("server:\n  io_threads: 257\n") ==
        "test.yaml:2:15: server.io_threads: must be at most 256 (0 = half the CPU cores), got 257");
  CHECK(Load("server: {io_threads: 256}").server.io_threads == 256);
}

TEST_CASE("RejectsZeroMaxConnections", "[config][validation]") {
  CHECK(ErrorOf("server:\n  max_connections: 0\n") ==
        "test.yaml:2:20: server.max_connections: must be greater than 0");
}

TEST_CASE("RejectsZeroIdleAndShutdownTimeouts", "[config][validation]") {
  CHECK(ErrorOf("server:\n  idle_timeout: 0\n") ==
        "test.yaml:2:17: server.idle_timeout: must be greater than 0");
  CHECK(ErrorOf("server:\n  shutdown_timeout: 0s\n") ==
        "test.yaml:2:21: server.shutdown_timeout: must be greater than 0");
}

TEST_CASE("RejectsUnknownLogLevelAndFormat", "[config][validation]") {
  CHECK(ErrorOf("logging:\n  level: verbose\n") ==
        "test.yaml:2:10: logging.level: expected one of: trace, debug, info, warn, error, "
        "critical, off; got 'verbose'");
  CHECK(ErrorOf("logging:\n  format: xml\n") ==
        "test.yaml:2:11: logging.format: expected one of: text, json; got 'xml'");
}

TEST_CASE("RejectsUnknownDefaultStrategy", "[config][validation]") {
  CHECK(ErrorOf("strategies:\n  default_strategy: lru\n") ==
        "test.yaml:2:21: strategies.default_strategy: expected one of: ttl, adaptive; got 'lru'");
}

// --- Syntax and files ----------------------------------------------------------------------

TEST_CASE("ReportsYamlSyntaxErrorPosition", "[config][loader]") {
  CHECK(ErrorOf("server:\n  io_threads: 4\n bad: x\n") ==
        "test.yaml:3:2: YAML syntax error: end of map not found");
  CHECK(ErrorOf("server: {io_threads: 4\n") ==
        "test.yaml:2:1: YAML syntax error: end of map flow not found");
}

TEST_CASE("RejectsSecondDocument", "[config][loader]") {
  CHECK(ErrorOf("server: {}\n---\nl1: {}\n") ==
        "test.yaml:3:1: expected one YAML document, found another");
}

TEST_CASE("LoadsFileAndNamesItInErrors", "[config][loader]") {
  const TempFile good("server:\n  io_threads: 3\n");
  CHECK(LoadConfigFile(good.path(), BackendKinds()).server.io_threads == 3);

  const TempFile bad("server:\n  io_thread: 3\n");
  try {
    LoadConfigFile(bad.path(), BackendKinds());
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith(bad.path() + ":2:3: unknown key 'io_thread'"));
  }
}

TEST_CASE("ReportsMissingFile", "[config][loader]") {
  try {
    LoadConfigFile("/nonexistent/tiercache.yaml", BackendKinds());
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) ==
          "/nonexistent/tiercache.yaml: cannot read: No such file or directory");
  }
}

TEST_CASE("ReportsDirectoryAsUnreadable", "[config][loader]") {
  try {
    LoadConfigFile("/tmp", BackendKinds());
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) == "/tmp: cannot read: Is a directory");
  }
}

}  // namespace
}  // namespace tiercache::config

namespace tiercache::config {
namespace {

TEST_CASE("RejectsMaxBytesUnderOneKibPerShard", "[config][l1]") {
  CHECK_THROWS_WITH(
      LoadConfigString("l1:\n  shards: 16\n  max_bytes: 8KiB\n", "t.yaml", BackendKinds()),
      Catch::Contains("t.yaml:3:14:") && Catch::Contains("at least 1024 bytes per shard"));
  CHECK(LoadConfigString("l1:\n  shards: 16\n  max_bytes: 16KiB\n", "t.yaml", BackendKinds())
            .l1.max_bytes == 16 * 1024);
}

}  // namespace
}  // namespace tiercache::config
