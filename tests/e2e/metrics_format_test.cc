// /metrics as Prometheus tooling reads it: a daemon with a Redis tier (async, so the
// write-behind families have samples), a warming source and some traffic is scraped, and
// the text must pass `promtool check metrics` without a remark and parse whole with
// prometheus_client. The alert rules of deploy/prometheus/ must name series it exports.

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/e2e/e2e_helpers.h"
#include "tests/support/poll.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;

// Debian's python3-prometheus-client is installed for the system interpreter; a pyenv or
// virtualenv python3 earlier on PATH would not see it.
constexpr const char* kPython = "/usr/bin/python3";

// promtool's verdict on a metrics text: exit 0 and no output when it has no remark.
CommandResult PromtoolCheckMetrics(const TempDir& dir, const std::string& text) {
  const auto path = dir.WriteFile("promtool-input.txt", text);
  return RunCommand({"/bin/sh", "-c", "exec promtool check metrics < \"$1\"", "sh", path.string()});
}

struct ParsedFamily {
  std::string type;
  size_t samples = 0;
};

// The families prometheus_client reads from `text`, by the name it gives them (counters
// without `_total`); `run` is the parser's exit and output.
std::map<std::string, ParsedFamily> ParseWithPrometheusClient(const TempDir& dir,
                                                              const std::string& text,
                                                              CommandResult& run) {
  const auto path = dir.WriteFile("parser-input.txt", text);
  run = RunCommand({kPython, TIERCACHE_SOURCE_DIR "/tests/e2e/metric_families.py", path.string()});
  std::map<std::string, ParsedFamily> families;
  std::istringstream lines(run.out);
  std::string name;
  ParsedFamily family;
  while (lines >> name >> family.type >> family.samples) families[name] = family;
  return families;
}

// Every `# TYPE name type` line of `text`, by name.
std::map<std::string, std::string> DeclaredFamilies(const std::string& text) {
  std::map<std::string, std::string> declared;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string hash, keyword, name, type;
    if (words >> hash >> keyword >> name >> type && hash == "#" && keyword == "TYPE") {
      declared[name] = type;
    }
  }
  return declared;
}

// The name prometheus_client gives a family declared as `name` of `type`.
std::string ParserName(const std::string& name, const std::string& type) {
  if (type == "counter" && name.ends_with("_total")) return name.substr(0, name.size() - 6);
  return name;
}

// True if `text` has a sample line starting with `series` (name and labels as rendered).
bool HasSample(const std::string& text, const std::string& series) {
  return text.find("\n" + series + " ") != std::string::npos;
}

// The families README's Metrics table promises, with their types.
const std::map<std::string, std::string> kExpectedFamilies = {
    {"tiercache_requests_total", "counter"},
    {"tiercache_request_duration_seconds", "histogram"},
    {"tiercache_l1_hits_total", "counter"},
    {"tiercache_l1_misses_total", "counter"},
    {"tiercache_l1_evictions_total", "counter"},
    {"tiercache_l1_expirations_total", "counter"},
    {"tiercache_l1_entries", "gauge"},
    {"tiercache_l1_bytes", "gauge"},
    {"tiercache_l1_max_entries", "gauge"},
    {"tiercache_l1_max_bytes", "gauge"},
    {"tiercache_connections_open", "gauge"},
    {"tiercache_connections_rejected_total", "counter"},
    {"tiercache_uptime_seconds", "gauge"},
    {"tiercache_tier_state", "gauge"},
    {"tiercache_tier_hits_total", "counter"},
    {"tiercache_tier_misses_total", "counter"},
    {"tiercache_tier_errors_total", "counter"},
    {"tiercache_tier_skipped_total", "counter"},
    {"tiercache_tier_promotions_total", "counter"},
    {"tiercache_tier_round_trip_seconds", "gauge"},
    {"tiercache_write_behind_depth", "gauge"},
    {"tiercache_write_behind_flushed_total", "counter"},
    {"tiercache_write_behind_dropped_total", "counter"},
    {"tiercache_write_behind_failed_batches_total", "counter"},
    {"tiercache_tag_index_memberships", "gauge"},
    {"tiercache_tag_index_bytes", "gauge"},
    {"tiercache_warm_runs_total", "counter"},
    {"tiercache_warm_failed_runs_total", "counter"},
    {"tiercache_warm_attempted_total", "counter"},
    {"tiercache_warm_keys_total", "counter"},
    {"tiercache_warm_failures_total", "counter"},
    {"tiercache_warm_success_ratio", "gauge"},
    {"tiercache_warm_running", "gauge"},
    {"tiercache_warm_last_run_duration_seconds", "gauge"},
    {"tiercache_warm_next_run_timestamp_seconds", "gauge"},
    {"process_cpu_seconds_total", "counter"},
    {"process_resident_memory_bytes", "gauge"},
    {"process_virtual_memory_bytes", "gauge"},
    {"process_start_time_seconds", "gauge"},
    {"process_open_fds", "gauge"},
    {"process_max_fds", "gauge"},
};

// A daemon whose every metric family has samples: an async Redis tier, a warming source
// that has run, GETs that hit and miss, SETs, a status request.
class ScrapedDaemon {
 public:
  ScrapedDaemon()
      : daemon_("tiers:\n  - type: redis\n    url: " + redis_.url() +
                "\n    write_mode: async\n    sweep_interval: 250ms\n"
                "warming:\n  sources:\n    - name: hot_keys\n      type: hot\n"
                "      interval: 1h\n      on_start: true\n"),
        client_(daemon_.http_port()) {
    for (int i = 0; i < 20; ++i) {
      REQUIRE(client_
                  .Put("/v1/keys/k" + std::to_string(i) + "?tags=t" + std::to_string(i % 3),
                       "value " + std::to_string(i))
                  .status == 204);
    }
    for (int i = 0; i < 30; ++i) client_.Get("/v1/keys/k" + std::to_string(i));
    REQUIRE(PollUntil(
        [&] {
          const auto status = StatusJson(client_);
          const auto& source = status.at("warming").at(0);
          const auto& l2 = status.at("tiers").at(1);
          return source.at("runs").get<uint64_t>() >= 1 &&
                 l2.at("write_behind").at("flushed").get<uint64_t>() == 20;
        },
        20s));
  }

  std::string Scrape() {
    const HttpResponse r = client_.Get("/metrics");
    REQUIRE(r.status == 200);
    CHECK(r.Header("Content-Type").starts_with("text/plain; version=0.0.4"));
    return r.body;
  }
  std::string Stderr() const { return daemon_.Stderr(); }

 private:
  RedisServer redis_;
  DaemonProcess daemon_;
  HttpClient client_;
};

TEST_CASE("Metrics: EveryFamilyPassesPromtoolAndParsesWithPrometheusClient",
          "[e2e][tiers][metrics]") {
  ScrapedDaemon daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  const std::string text = daemon.Scrape();
  INFO("/metrics:\n" << text);
  TempDir dir;

  const CommandResult promtool = PromtoolCheckMetrics(dir, text);
  INFO("promtool check metrics: exit " << promtool.exit_code << "\n"
                                       << promtool.out << promtool.err);
  CHECK(promtool.exit_code == 0);
  CHECK(promtool.out.empty());
  CHECK(promtool.err.empty());

  CommandResult parser;
  const auto parsed = ParseWithPrometheusClient(dir, text, parser);
  INFO("prometheus_client: exit " << parser.exit_code << "\n" << parser.out << parser.err);
  REQUIRE(parser.exit_code == 0);

  // Every declared family is read back whole, with samples; no sample is outside one
  // (it would come back as an extra untyped family).
  const auto declared = DeclaredFamilies(text);
  CHECK(parsed.size() == declared.size());
  for (const auto& [name, type] : declared) {
    INFO("family " << name);
    const auto it = parsed.find(ParserName(name, type));
    REQUIRE(it != parsed.end());
    CHECK(it->second.type == type);
    CHECK(it->second.samples > 0);
  }
  for (const auto& [name, type] : kExpectedFamilies) {
    INFO("family " << name);
    REQUIRE(declared.count(name) == 1);
    CHECK(declared.at(name) == type);
  }
}

TEST_CASE("Metrics: TheAlertRulesNameSeriesTheDaemonExports", "[e2e][tiers][metrics]") {
  ScrapedDaemon daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  const std::string text = daemon.Scrape();
  INFO("/metrics:\n" << text);
  const auto declared = DeclaredFamilies(text);

  // Every tiercache_* name outside comments (recording rules are tiercache:...).
  std::istringstream rules(ReadFile(TIERCACHE_SOURCE_DIR "/deploy/prometheus/tiercache_rules.yml"));
  const std::regex comment(R"(^\s*#)");
  const std::regex metric_name(R"(\b(tiercache_[a-z0-9_]+))");
  std::set<std::string> used;
  std::string line;
  while (std::getline(rules, line)) {
    if (std::regex_search(line, comment)) continue;
    for (auto it = std::sregex_iterator(line.begin(), line.end(), metric_name);
         it != std::sregex_iterator(); ++it) {
      used.insert((*it)[1]);
    }
  }
  CHECK(used.size() >= 4);
  for (const std::string& name : used) {
    INFO("tiercache_rules.yml uses " << name);
    CHECK(declared.count(name) == 1);
  }
  // The label values the rules select on (and tiercache_rules_test.yml feeds them).
  CHECK(HasSample(text,
                  R"(tiercache_requests_total{frontend="http",operation="get",outcome="hit"})"));
  CHECK(HasSample(text,
                  R"(tiercache_requests_total{frontend="http",operation="get",outcome="miss"})"));
  CHECK(HasSample(text, R"(tiercache_tier_state{tier="L2",state="down"})"));
  CHECK(HasSample(text, R"(tiercache_write_behind_depth{tier="L2"})"));
  CHECK(HasSample(text, R"(tiercache_write_behind_dropped_total{tier="L2"})"));
}

// The checks above must be able to fail: each tool refuses what it should.
TEST_CASE("Metrics: TheChecksRejectALintProblemAndAnUnparsableSample", "[e2e][metrics]") {
  TempDir dir;
  const std::string good = "# HELP x_total Things.\n# TYPE x_total counter\nx_total 1\n";
  CHECK(PromtoolCheckMetrics(dir, good).exit_code == 0);

  const CommandResult lint = PromtoolCheckMetrics(dir, "# TYPE x counter\nx 1\n");
  const std::string remarks = lint.out + lint.err;
  INFO(remarks);
  CHECK(lint.exit_code != 0);
  CHECK(remarks.find("no help text") != std::string::npos);
  CHECK(remarks.find("\"_total\" suffix") != std::string::npos);

  CommandResult run;
  CHECK(ParseWithPrometheusClient(dir, good, run).count("x") == 1);
  CHECK(run.exit_code == 0);
  ParseWithPrometheusClient(dir, "# HELP x Things.\n# TYPE x gauge\nx{a=\"b\"} one\n", run);
  INFO(run.err);
  CHECK(run.exit_code == 1);
}

}  // namespace
}  // namespace tiercache::test
