#include "server/config_json.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>

#include "tests/config/load_yaml.h"

namespace tiercache {
namespace {

using config::Load;
using nlohmann::json;

// Every section, non-default values, and a secret wherever the config can hold one.
constexpr const char* kEverySection = R"(
server:
  http_listen: "[::1]:8081"
  grpc_listen: 0.0.0.0:50052
  resp_listen: ""
  io_threads: 3
  max_connections: 500
  idle_timeout: 90s
  shutdown_timeout: 2500ms
limits:
  max_key_bytes: 2KiB
  max_value_bytes: 1MB
  max_request_body_bytes: 2MiB
  max_tags: 8
  max_tag_bytes: 128
  max_pattern_bytes: 1024
  max_keys_per_request: 100
l1:
  shards: 4
  max_entries: 5000
  max_bytes: 64MiB
  ttl_factor: 0.25
  sweep_interval: 1.5s
strategies:
  default_timeout: 10m
  default_strategy: adaptive
  max_timeout: 2d
  adaptive: {base_timeout: 120s, min_timeout: 30s, max_timeout: 1h}
  negative: [{match: "^user:", ttl: 5s}]
logging: {level: debug, format: json}
tiers:
  - type: redis
    name: redis-l2
    url: redis://cache:hunter2-redis@10.0.0.5:6380/2
    database: 1
    key_prefix: "app:"
    pool_size: 3
    connect_timeout: 500ms
    command_timeout: 100ms
    sweep_interval: 20s
    max_queued: 5000
    ttl_factor: 2
    write_mode: async
    write_behind: {capacity: 1000, batch_size: 50, overflow: drop_newest}
    required: true
    failure_threshold: 5
  - type: postgres
    dsn: "host=db dbname=cache user=tc password='hunter2 pg\\'s'"
    table: cache_rows
    pool_size: 6
    connect_timeout: 3s
    command_timeout: 750ms
    sweep_interval: 30s
    sweep_batch: 500
    max_queued: 7000
tier_health: {interval: 2s}
invalidation:
  models:
    - model: auth.User
      keys: ["user:{id}"]
      related: [accounts.Profile]
    - model: accounts.Profile
      on: [delete]
      tags: ["profile:{id}"]
  listen:
    dsn: postgresql://app:hunter2-listen@appdb/app
    channel: app_changes
coherence:
  enabled: true
  url: redis://:hunter2-coherence@10.0.0.6
  channel: "app:coherence"
  max_staleness: 500ms
  instance_id: web-1
scheduler: {workers: 4}
warming:
  max_concurrent_runs: 2
  sources:
    - name: users
      type: sql
      dsn: "host=db user=reader password=hunter2-sql"
      query: SELECT id, name FROM users
      key: "user:{id}"
      tags: ["user:{id}", users]
      value_column: name
      tiers: [L1, redis-l2]
      ttl: 1h
      interval: 15m
      on_start: true
      max_keys_per_second: 200
      max_in_flight: 64
      batch_rows: 250
      connect_timeout: 4s
      statement_timeout: 90s
    - name: pages
      type: http
      base_url: http://origin.internal:8000/app
      key: "page:{path}"
      endpoints:
        - /api/dashboard
        - path: /api/stats?api_token=hunter2-query&team=1
          method: POST
          name: stats
          key: "stats:{name}"
          tags: [stats]
          headers:
            Accept: application/json
            Authorization: Bearer hunter2-bearer
            Cookie: session=hunter2-cookie
            X-Api-Key: hunter2-apikey
            X-Refresh-Token: hunter2-refresh
      max_attempts: 5
      backoff: 250ms
      timeout: 3s
      max_body_bytes: 1MiB
      concurrency: 2
    - name: hot
      type: hot
      top: 50
      interval: 1m
)";

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(TIERCACHE_SOURCE_DIR) + "/" + relative);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

TEST_CASE("EffectiveConfigShowsNoSecret", "[config_json]") {
  // Each of the ten secrets of kEverySection contains "hunter2", and nothing else there does.
  REQUIRE(Count(kEverySection, "hunter2") == 10);
  const std::string dumped = EffectiveConfigJson(Load(kEverySection)).dump();
  INFO(dumped);
  CHECK(Count(dumped, "hunter2") == 0);
  CHECK(Count(dumped, "<redacted>") == 10);
}

TEST_CASE("EffectiveConfigRedactsOnlyTheSecretPartOfEachSetting", "[config_json]") {
  const json j = EffectiveConfigJson(Load(kEverySection));
  CHECK(j["tiers"][0]["url"] == "redis://cache:<redacted>@10.0.0.5:6380/2");
  CHECK(j["tiers"][1]["dsn"] == "host=db dbname=cache user=tc password=<redacted>");
  CHECK(j["invalidation"]["listen"]["dsn"] == "postgresql://app:<redacted>@appdb/app");
  CHECK(j["coherence"]["url"] == "redis://:<redacted>@10.0.0.6");
  const json& sql = j["warming"]["sources"][0];
  CHECK(sql["dsn"] == "host=db user=reader password=<redacted>");
  const json& endpoint = j["warming"]["sources"][1]["endpoints"][1];
  CHECK(endpoint["path"] == "/api/stats?api_token=<redacted>&team=1");
  CHECK(endpoint["headers"] == json{{"Accept", "application/json"},
                                    {"Authorization", "<redacted>"},
                                    {"Cookie", "<redacted>"},
                                    {"X-Api-Key", "<redacted>"},
                                    {"X-Refresh-Token", "<redacted>"}});
}

TEST_CASE("EffectiveConfigShowsTheConfiguredValuesInTheFilesUnits", "[config_json]") {
  const json j = EffectiveConfigJson(Load(kEverySection));
  CHECK(j["server"] == json{{"http_listen", "[::1]:8081"},
                            {"grpc_listen", "0.0.0.0:50052"},
                            {"resp_listen", ""},
                            {"io_threads", 3},
                            {"max_connections", 500},
                            {"idle_timeout", "90s"},
                            {"shutdown_timeout", "2500ms"}});
  CHECK(j["limits"] == json{{"max_key_bytes", 2048},
                            {"max_value_bytes", 1000000},
                            {"max_request_body_bytes", 2097152},
                            {"max_tags", 8},
                            {"max_tag_bytes", 128},
                            {"max_pattern_bytes", 1024},
                            {"max_keys_per_request", 100}});
  CHECK(j["l1"] == json{{"shards", 4},
                        {"max_entries", 5000},
                        {"max_bytes", 67108864},
                        {"ttl_factor", 0.25},
                        {"sweep_interval", "1500ms"},
                        {"policy", "tinylfu"},
                        {"compress_min_bytes", 0},
                        {"compression", "zstd"}});
  CHECK(j["strategies"] ==
        json{{"default_timeout", "600s"},
             {"default_strategy", "adaptive"},
             {"max_timeout", "172800s"},
             {"adaptive",
              {{"base_timeout", "120s"}, {"min_timeout", "30s"}, {"max_timeout", "3600s"}}},
             {"negative", json::array({{{"match", "^user:"}, {"ttl", "5s"}}})}});
  CHECK(j["logging"] == json{{"level", "debug"}, {"format", "json"}});
  CHECK(
      j["tiers"][0] ==
      json{{"type", "redis"},
           {"name", "redis-l2"},
           {"url", "redis://cache:<redacted>@10.0.0.5:6380/2"},
           {"database", 1},
           {"key_prefix", "app:"},
           {"pool_size", 3},
           {"connect_timeout", "500ms"},
           {"command_timeout", "100ms"},
           {"sweep_interval", "20s"},
           {"max_queued", 5000},
           {"ttl_factor", 2.0},
           {"write_mode", "async"},
           {"write_behind", {{"capacity", 1000}, {"batch_size", 50}, {"overflow", "drop_newest"}}},
           {"required", true},
           {"failure_threshold", 5},
           {"compression", "none"},
           {"compress_min_bytes", 1024}});
  CHECK(j["tiers"][1]["table"] == "cache_rows");
  CHECK(j["tiers"][1]["pool_size"] == 6);
  CHECK(j["tiers"][1]["connect_timeout"] == "3s");
  CHECK(j["tiers"][1]["command_timeout"] == "750ms");
  CHECK(j["tiers"][1]["sweep_interval"] == "30s");
  CHECK(j["tiers"][1]["sweep_batch"] == 500);
  CHECK(j["tiers"][1]["max_queued"] == 7000);
  CHECK(j["tier_health"] == json{{"interval", "2s"}});
  CHECK(j["invalidation"]["listen"]["channel"] == "app_changes");
  CHECK(j["coherence"] == json{{"enabled", true},
                               {"url", "redis://:<redacted>@10.0.0.6"},
                               {"channel", "app:coherence"},
                               {"max_staleness", "500ms"},
                               {"instance_id", "web-1"}});
  CHECK(j["scheduler"] == json{{"workers", 4}});
  CHECK(j["warming"]["max_concurrent_runs"] == 2);

  const json& sql = j["warming"]["sources"][0];
  CHECK(sql == json{{"name", "users"},
                    {"type", "sql"},
                    {"dsn", "host=db user=reader password=<redacted>"},
                    {"query", "SELECT id, name FROM users"},
                    {"key", "user:{id}"},
                    {"tags", {"user:{id}", "users"}},
                    {"value_column", "name"},
                    {"tiers", {"L1", "redis-l2"}},
                    {"ttl", "3600s"},
                    {"interval", "900s"},
                    {"on_start", true},
                    {"max_keys_per_second", 200},
                    {"max_in_flight", 64},
                    {"batch_rows", 250},
                    {"connect_timeout", "4s"},
                    {"statement_timeout", "90s"}});
  const json& http = j["warming"]["sources"][1];
  CHECK(http["base_url"] == "http://origin.internal:8000/app");
  CHECK(http["key"] == "page:{path}");
  CHECK(http["max_attempts"] == 5);
  CHECK(http["backoff"] == "250ms");
  CHECK(http["timeout"] == "3s");
  CHECK(http["max_body_bytes"] == 1048576);
  CHECK(http["concurrency"] == 2);
  CHECK(http["endpoints"][0] == json{{"path", "/api/dashboard"},
                                     {"method", "GET"},
                                     {"headers", json::object()},
                                     {"tags", json::array()}});
  CHECK(http["endpoints"][1]["method"] == "POST");
  CHECK(http["endpoints"][1]["name"] == "stats");
  CHECK(http["endpoints"][1]["key"] == "stats:{name}");
  CHECK(http["endpoints"][1]["tags"] == json{"stats"});
  const json& hot = j["warming"]["sources"][2];
  CHECK(hot["top"] == 50);
  CHECK(hot["interval"] == "60s");
}

TEST_CASE("EffectiveConfigOfAnEmptyFileShowsEveryDefault", "[config_json]") {
  const json j = EffectiveConfigJson(Load(""));
  CHECK(j["server"] == json{{"http_listen", "127.0.0.1:8080"},
                            {"grpc_listen", "127.0.0.1:50051"},
                            {"resp_listen", "127.0.0.1:6380"},
                            {"io_threads", 0},
                            {"max_connections", 10000},
                            {"idle_timeout", "60s"},
                            {"shutdown_timeout", "10s"}});
  CHECK(j["limits"] == json{{"max_key_bytes", 1024},
                            {"max_value_bytes", 8388608},
                            {"max_request_body_bytes", 9437184},
                            {"max_tags", 64},
                            {"max_tag_bytes", 256},
                            {"max_pattern_bytes", 4096},
                            {"max_keys_per_request", 10000}});
  CHECK(j["l1"] == json{{"shards", 16},
                        {"max_entries", 1000000},
                        {"max_bytes", 1073741824},
                        {"ttl_factor", 1.0},
                        {"sweep_interval", "250ms"},
                        {"policy", "tinylfu"},
                        {"compress_min_bytes", 0},
                        {"compression", "zstd"}});
  CHECK(j["strategies"] ==
        json{{"default_timeout", "300s"},
             {"default_strategy", "ttl"},
             {"max_timeout", "31536000s"},
             {"adaptive",
              {{"base_timeout", "300s"}, {"min_timeout", "60s"}, {"max_timeout", "3600s"}}},
             {"negative", json::array()}});
  CHECK(j["logging"] == json{{"level", "info"}, {"format", "text"}});
  CHECK(j["tiers"] == json::array());
  CHECK(j["tier_health"] == json{{"interval", "1s"}});
  CHECK(j["invalidation"] == json::object());  // no listen: the database feed is off
  CHECK(j["coherence"] ==
        json{{"enabled", false}, {"channel", "tiercache:coherence"}, {"max_staleness", "1s"}});
  CHECK(j["scheduler"] == json{{"workers", 2}});
  CHECK(j["warming"] == json{{"max_concurrent_runs", 1},
                             {"busy_requests_per_second", 1000},
                             {"busy_share", 0.25},
                             {"sources", json::array()}});
  CHECK(j["monitoring"] == json{{"enabled", true},
                                {"key_patterns", json::array()},
                                {"max_patterns", 100},
                                {"miss_history", 16384}});
}

TEST_CASE("EffectiveConfigShowsTheDefaultsOfUnsetKeysInListedItems", "[config_json]") {
  const json j = EffectiveConfigJson(Load(R"(
tiers: [{type: redis}, {type: postgres}]
strategies: {default_timeout: 45s}
warming:
  sources:
    - {name: s, type: sql, dsn: "host=db", query: SELECT 1 AS id, key: "k:{id}"}
    - {name: h, type: http, base_url: "http://o", endpoints: [/a]}
    - {name: hot, type: hot}
)"));
  CHECK(j["l1"]["ttl_factor"] == 0.1);  // the default once lower tiers exist
  CHECK(j["tiers"][0] ==
        json{{"type", "redis"},
             {"name", "L2"},
             {"url", "redis://127.0.0.1:6379"},
             {"database", 0},
             {"key_prefix", "tiercache:"},
             {"pool_size", 2},
             {"connect_timeout", "1s"},
             {"command_timeout", "250ms"},
             {"sweep_interval", "10s"},
             {"max_queued", 100000},
             {"ttl_factor", 1.0},
             {"write_mode", "sync"},
             {"write_behind",
              {{"capacity", 100000}, {"batch_size", 500}, {"overflow", "drop_oldest"}}},
             {"required", false},
             {"failure_threshold", 3},
             {"compression", "none"},
             {"compress_min_bytes", 1024}});
  CHECK(j["tiers"][1]["name"] == "L3");
  CHECK(j["tiers"][1]["ttl_factor"] == 10.0);
  CHECK(j["tiers"][1]["dsn"] == "host=127.0.0.1 port=5432 dbname=tiercache");
  CHECK(j["tiers"][1]["table"] == "tiercache_entries");
  CHECK(j["tiers"][1]["pool_size"] == 4);
  CHECK(j["tiers"][1]["connect_timeout"] == "2s");
  CHECK(j["tiers"][1]["command_timeout"] == "1s");
  CHECK(j["tiers"][1]["sweep_batch"] == 10000);
  // A Redis tier turns coherence on, over that tier's Redis (no url of its own).
  CHECK(j["coherence"]["enabled"] == true);
  CHECK_FALSE(j["coherence"].contains("url"));

  const json& sql = j["warming"]["sources"][0];
  CHECK(sql["tiers"] == json{"L1", "L2", "L3"});  // every tier
  CHECK(sql["ttl"] == "45s");                     // strategies.default_timeout
  CHECK(sql["on_start"] == false);
  CHECK(sql["max_keys_per_second"] == 0);
  CHECK(sql["max_in_flight"] == 1024);
  CHECK(sql["tags"] == json::array());
  CHECK(sql["batch_rows"] == 1000);
  CHECK(sql["connect_timeout"] == "5s");
  CHECK(sql["statement_timeout"] == "300s");
  CHECK_FALSE(sql.contains("interval"));      // no schedule
  CHECK_FALSE(sql.contains("value_column"));  // the row as JSON
  const json& http = j["warming"]["sources"][1];
  CHECK(http["key"] == "http:{path}");
  CHECK(http["max_attempts"] == 3);
  CHECK(http["backoff"] == "100ms");
  CHECK(http["timeout"] == "10s");
  CHECK(http["max_body_bytes"] == 8388608);
  CHECK(http["concurrency"] == 1);
  const json& hot = j["warming"]["sources"][2];
  CHECK(hot["top"] == 1000);
  CHECK(hot["tiers"] == json{"L1"});
}

// JSON is YAML: what the loader reads back must render the same, which holds only if every
// key name, unit and spelling is the loader's own.
void CheckLoadsBackTheSame(const config::Config& config) {
  const json rendered = EffectiveConfigJson(config);
  const json reloaded = EffectiveConfigJson(Load(rendered.dump()));
  INFO(rendered.dump(2));
  CHECK(reloaded == rendered);
}

TEST_CASE("EffectiveConfigLoadsBackAsTheSameConfig", "[config_json]") {
  CheckLoadsBackTheSame(Load(""));
  CheckLoadsBackTheSame(Load(R"yaml(
server: {http_listen: "[::1]:8081", io_threads: 2, shutdown_timeout: 1500ms}
limits: {max_value_bytes: 1.5MB}
l1: {shards: 8, max_bytes: 256MiB, sweep_interval: 0.0000015s}
strategies: {default_strategy: adaptive, max_timeout: 30d, adaptive: {min_timeout: 10s}}
logging: {level: warn, format: json}
tiers:
  - {type: redis, url: "redis://cache@10.0.0.5:6380/2", key_prefix: "a:", write_mode: async,
     write_behind: {capacity: 10, batch_size: 5, overflow: drop_newest}}
  - {type: postgres, name: pg, dsn: "postgresql://tc@db/cache?sslmode=require", ttl_factor: 3.5,
     table: rows, required: true}
tier_health: {interval: 250ms}
invalidation: {listen: {dsn: "host=appdb dbname=app"}}
coherence: {enabled: false, instance_id: web-2}
scheduler: {workers: 3}
warming:
  max_concurrent_runs: 3
  sources:
    - {name: s, type: sql, dsn: "host=db", query: "SELECT 1 AS id", key: "k:{id}",
       tags: [a], value_column: v, interval: 90s, on_start: true, tiers: [L2]}
    - name: h
      type: http
      base_url: http://origin:8000
      endpoints:
        - /a
        - {path: "/b?x=1", method: HEAD, name: b, key: "b:{name}", tags: [t],
           headers: {Accept: text/html, X-Trace: "1"}}
      ttl: 2m
    - {name: hot, type: hot, top: 10, tiers: [L1, pg]}
    - {name: v, type: view, paths: [/a, {path: "/b?x=1", headers: {X-A: "1"}}],
       variants: [{Accept-Language: fr}], timeout: 5s}
proxy:
  listen: 127.0.0.1:8081
  routes:
    - {name: users, path_pattern: "^/users/(?P<id>[0-9]+)", origin: http://app:8000,
       timeout: 0s, vary_on: [Accept], vary_on_auth: "cookie:sid", vary_on_params: [page],
       cache_errors: true, bypass: [{cookie: staff, matches: "^1$"}, {path: "^/users/0"}],
       only_if: [{header: X-Ok}], tags: ["user:{id}"], stale_if_error: 5m,
       key_prefix: "u:"}
    - {name: rest, path_prefix: /, origin: http://app:8000, vary_on_auth: true,
       vary_on_params: none, cache_methods: [GET]}
)yaml"));
}

TEST_CASE("EffectiveConfigOfTheShippedConfigsLoadsBackAsTheSame", "[config_json]") {
  for (const char* file : {"deploy/tiercache.yaml", "deploy/tiercache-tiers.yaml"}) {
    INFO(file);
    CheckLoadsBackTheSame(Load(ReadSourceFile(file)));
  }
}

}  // namespace
}  // namespace tiercache
