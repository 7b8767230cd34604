// Compression through every front end and tier: a 64 KiB JSON value written over HTTP,
// gRPC or RESP reads back byte for byte over the others, from L1, from Redis (zstd) and
// from PostgreSQL (lz4), while each tier holds it compressed and reports the bytes saved.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_helpers.h"
#include "tests/e2e/redis_cli.h"
#include "tests/support/grpc_clients.h"
#include "tests/support/postgres_server.h"
#include "tests/support/redis_server.h"

namespace tiercache::test {
namespace {

namespace v1 = ::tiercache::v1;

// About 64 KiB of JSON, as a cached API response would be.
std::string JsonDocument(const std::string& tag) {
  std::string doc = "{\"source\": \"" + tag + "\", \"users\": [";
  for (int i = 0; doc.size() < 64 * 1024 - 64; ++i) {
    if (i > 0) doc += ", ";
    doc += "{\"id\": " + std::to_string(i) + ", \"email\": \"user" + std::to_string(i) +
           "@example.com\", \"active\": " + (i % 3 == 0 ? "false" : "true") + "}";
  }
  return doc + "]}";
}

std::string GrpcGet(v1::Cache::Stub& stub, const std::string& key) {
  v1::GetRequest req;
  req.set_key(key);
  v1::GetResponse resp;
  const grpc::Status s = stub.Get(MakeContext().get(), req, &resp);
  INFO("gRPC Get " << key << ": " << s.error_message());
  REQUIRE(s.ok());
  return resp.value();
}

nlohmann::json TierNamed(const nlohmann::json& status, const std::string& name) {
  for (const auto& tier : status.at("tiers")) {
    if (tier.at("name") == name) return tier;
  }
  FAIL("no tier " << name);
  return {};
}

TEST_CASE("Compression: A64KiBJsonValueRoundTripsOverHttpGrpcAndRespAndIsStoredSmaller",
          "[e2e][compression]") {
  RedisServer redis;
  PostgresServer pg;
  const std::string yaml = R"(
tier_health: {interval: 250ms}
l1:
  compress_min_bytes: 4KiB
  compression: zstd
tiers:
  - type: redis
    url: )" + redis.url() + R"(
    key_prefix: "tiercache:"
    compression: zstd
  - type: postgres
    dsn: ")" + pg.dsn() + R"("
    compression: lz4
    compress_min_bytes: 1KiB
)";
  const std::string by_http = JsonDocument("http");
  const std::string by_grpc = JsonDocument("grpc");
  const std::string by_resp = JsonDocument("resp");
  {
    DaemonProcess daemon(yaml);
    TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
    HttpClient http(daemon.http_port());
    auto stub = MakeCacheStub(daemon.grpc_target());

    REQUIRE(http.Request("PUT", "/v1/keys/doc:http?ttl=600", by_http,
                         {{"Content-Type", "application/json"}})
                .status == 204);
    {
      v1::SetRequest req;
      req.set_key("doc:grpc");
      req.set_value(by_grpc);
      req.set_ttl_seconds(600);
      v1::SetResponse resp;
      REQUIRE(stub->Set(MakeContext().get(), req, &resp).ok());
    }
    const CommandResult set =
        RedisCli(daemon.resp_port(), {"SET", "doc:resp", by_resp, "EX", "600"});
    TIERCACHE_CAPTURE_COMMAND(set);
    REQUIRE(CliOutput(set) == "OK");

    // Every value over every front end, from L1.
    for (const auto& [key, doc] : {std::pair{"doc:http", &by_http},
                                   std::pair{"doc:grpc", &by_grpc},
                                   std::pair{"doc:resp", &by_resp}}) {
      INFO(key);
      const HttpResponse r = http.Get(std::string("/v1/keys/") + key);
      REQUIRE(r.status == 200);
      CHECK(r.Header("X-Cache-Tier") == "L1");
      CHECK(r.body == *doc);
      CHECK(GrpcGet(*stub, key) == *doc);
      CHECK(CliOutput(RedisCli(daemon.resp_port(), {"GET", key})) == *doc);
    }
    CHECK(http.Get("/v1/keys/doc:http").Header("Content-Type") == "application/json");

    // Stored smaller, and said so.
    const nlohmann::json status = StatusJson(http);
    for (const std::string tier : {"L1", "L2", "L3"}) {
      INFO(tier);
      const nlohmann::json c = TierNamed(status, tier).at("compression");
      CHECK(c.at("values_compressed") == 3);
      CHECK(c.at("bytes_before").get<uint64_t>() == 3 * by_http.size());
      CHECK(c.at("bytes_after").get<uint64_t>() < by_http.size());
      CHECK(c.at("ratio").get<double>() < 0.33);
    }
    CHECK(TierNamed(status, "L1").at("compression").at("codec") == "zstd");
    CHECK(TierNamed(status, "L3").at("compression").at("codec") == "lz4");
    CHECK(TierNamed(status, "L1").at("bytes").get<uint64_t>() < by_http.size());
    const int64_t in_redis =
        std::stoll(redis.Cli({"HSTRLEN", "tiercache:k:doc:http", "v"}));
    CHECK(in_redis > 0);
    CHECK(in_redis < static_cast<int64_t>(by_http.size() / 4));
    const int64_t in_pg = std::stoll(pg.Psql(
        "SELECT octet_length(value) FROM tiercache_entries WHERE key = 'doc:http'::bytea"));
    CHECK(in_pg < static_cast<int64_t>(by_http.size() / 3));
    const std::string metrics = http.Get("/metrics").body;
    CHECK_THAT(metrics, Catch::Contains("tiercache_compression_ratio{tier=\"L2\"}"));
    CHECK_THAT(metrics, Catch::Contains("tiercache_compression_values_total{tier=\"L1\","
                                        "outcome=\"compressed\"} 3"));
    REQUIRE(daemon.Stop() == 0);
  }

  // A new instance starts with an empty L1: the values come back from Redis, then (gone
  // from Redis) from PostgreSQL, byte for byte.
  DaemonProcess daemon(yaml);
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient http(daemon.http_port());
  HttpResponse r = http.Get("/v1/keys/doc:grpc");
  REQUIRE(r.status == 200);
  CHECK(r.Header("X-Cache-Tier") == "L2");
  CHECK(r.body == by_grpc);
  REQUIRE(redis.Cli({"DEL", "tiercache:k:doc:resp"}) == "1");
  r = http.Get("/v1/keys/doc:resp");
  REQUIRE(r.status == 200);
  CHECK(r.Header("X-Cache-Tier") == "L3");
  CHECK(r.body == by_resp);
  CHECK(CliOutput(RedisCli(daemon.resp_port(), {"GET", "doc:http"})) == by_http);
}

}  // namespace
}  // namespace tiercache::test
