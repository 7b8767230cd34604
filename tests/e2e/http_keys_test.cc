// /v1/keys/{key} over real HTTP: store, read, delete, binary values, encoded keys,
// keep-alive and HEAD, against a daemon on its embedded default.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_helpers.h"

namespace tiercache::test {
namespace {

TEST_CASE("a value PUT over HTTP is read back by GET from L1 with its TTL", "[http]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  const HttpResponse put = client.Put("/v1/keys/a", "x");
  CHECK(put.status == 204);
  CHECK(put.body.empty());

  const HttpResponse get = client.Get("/v1/keys/a");
  REQUIRE(get.status == 200);
  CHECK(get.body == "x");
  CHECK(get.Header("X-Cache-Tier") == "L1");
  // RFC 9110 date form, e.g. "Tue, 24 Nov 2026 19:22:18 GMT".
  CHECK(get.Header("Date").size() == 29);
  CHECK(get.Header("Date").ends_with(" GMT"));
  REQUIRE(get.HasHeader("X-Cache-TTL"));
  // The embedded default lifetime is 300 s.
  const long ttl = std::stol(get.Header("X-Cache-TTL"));
  CHECK(ttl > 0);
  CHECK(ttl <= 300);
}

TEST_CASE("values are binary-safe: every byte value, NUL included, round-trips", "[http]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  std::string value;
  for (int round = 0; round < 3; ++round) {
    for (int b = 0; b < 256; ++b) value.push_back(static_cast<char>(b));
  }
  value.insert(0, 1, '\0');  // starts with NUL, too
  REQUIRE(client.Put("/v1/keys/binary", value).status == 204);

  const HttpResponse get = client.Get("/v1/keys/binary");
  REQUIRE(get.status == 200);
  CHECK(get.Header("Content-Length") == std::to_string(value.size()));
  CHECK(get.body.size() == value.size());
  CHECK(get.body == value);

  // A value of only NULs.
  const std::string zeros(1000, '\0');
  REQUIRE(client.Put("/v1/keys/zeros", zeros).status == 204);
  CHECK(client.Get("/v1/keys/zeros").body == zeros);
}

TEST_CASE("percent-encoded keys are decoded, and a malformed escape is a 400 JSON error",
          "[http]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  REQUIRE(client.Put("/v1/keys/a%2Fb%20c", "slash and space").status == 204);
  const HttpResponse get = client.Get("/v1/keys/a%2Fb%20c");
  REQUIRE(get.status == 200);
  CHECK(get.body == "slash and space");
  // The same key, encoded with lower-case hex and with the slash left as is.
  CHECK(client.Get("/v1/keys/a%2fb%20c").body == "slash and space");
  CHECK(client.Get("/v1/keys/a/b%20c").body == "slash and space");
  // A different key.
  CHECK(client.Get("/v1/keys/a%2Fb").status == 404);

  // Any byte can be part of a key once encoded.
  const std::string odd_key = std::string("k\0\xff?#%+ \x01", 9);
  REQUIRE(client.Put("/v1/keys/" + PercentEncode(odd_key), "odd").status == 204);
  CHECK(client.Get("/v1/keys/" + PercentEncode(odd_key)).body == "odd");

  const uint64_t entries = L1Entries(client);
  for (const char* method : {"GET", "PUT", "DELETE"}) {
    CAPTURE(method);
    const HttpResponse bad = client.Request(method, "/v1/keys/bad%zzkey", "v");
    CHECK(bad.status == 400);
    CHECK(IsJsonError(bad));
    const HttpResponse truncated = client.Request(method, "/v1/keys/bad%2", "v");
    CHECK(truncated.status == 400);
    CHECK(IsJsonError(truncated));
  }
  CHECK(L1Entries(client) == entries);
}

TEST_CASE("DELETE answers 204, then the key is gone and a second DELETE is 404", "[http]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  REQUIRE(client.Put("/v1/keys/doomed", "v").status == 204);
  REQUIRE(client.Put("/v1/keys/kept", "v").status == 204);
  const HttpResponse del = client.Delete("/v1/keys/doomed");
  CHECK(del.status == 204);
  CHECK(del.body.empty());
  CHECK(client.Get("/v1/keys/doomed").status == 404);
  const HttpResponse again = client.Delete("/v1/keys/doomed");
  CHECK(again.status == 404);
  CHECK(IsJsonError(again));
  CHECK(client.Get("/v1/keys/kept").status == 200);
}

TEST_CASE("a GET miss is a 404 with a JSON error body", "[http]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  const HttpResponse miss = client.Get("/v1/keys/never-stored");
  CHECK(miss.status == 404);
  CHECK(IsJsonError(miss));
  CHECK_FALSE(miss.HasHeader("X-Cache-Tier"));
}

TEST_CASE("one keep-alive connection carries many requests", "[http]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  for (int i = 0; i < 300; ++i) {
    const std::string target = "/v1/keys/ka:" + std::to_string(i);
    const std::string value = "value " + std::to_string(i);
    const HttpResponse put = client.Put(target, value);
    REQUIRE(put.status == 204);
    REQUIRE(put.keep_alive);
    const HttpResponse get = client.Get(target);
    REQUIRE(get.status == 200);
    REQUIRE(get.body == value);
    REQUIRE(client.Get("/v1/keys/ka:missing").status == 404);
  }
  CHECK(client.connections_opened() == 1);
}

TEST_CASE("HEAD answers like GET, headers only", "[http]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  REQUIRE(client.Put("/v1/keys/h", "hello").status == 204);
  const HttpResponse head = client.Head("/v1/keys/h");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.Header("Content-Length") == "5");
  CHECK(head.Header("X-Cache-Tier") == "L1");
  CHECK(head.HasHeader("X-Cache-TTL"));
  CHECK(client.Head("/v1/keys/absent").status == 404);

  // The connection is still in step: no body bytes were left behind.
  const HttpResponse get = client.Get("/v1/keys/h");
  CHECK(get.status == 200);
  CHECK(get.body == "hello");
  CHECK(client.connections_opened() == 1);
}

}  // namespace
}  // namespace tiercache::test
