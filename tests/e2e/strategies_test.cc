// The L1 strategies seen from outside: TTL expiry, LRU eviction by entry count and by
// bytes, and adaptive lifetimes.

#include <atomic>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/e2e/e2e_helpers.h"

namespace tiercache::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

TEST_CASE("a key stored with ttl=1 is gone 1.5 s later", "[strategies]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  REQUIRE(client.Put("/v1/keys/long-lived", "v").status == 204);
  const auto stored = steady_clock::now();
  REQUIRE(client.Put("/v1/keys/short-lived?ttl=1", "v").status == 204);
  const HttpResponse fresh = client.Get("/v1/keys/short-lived");
  if (steady_clock::now() - stored < milliseconds(500)) {
    // Read well within its second (the machine may stall, so only then is it asserted).
    CHECK(fresh.status == 200);
    CHECK(fresh.Header("X-Cache-TTL") == "1");
  }

  std::this_thread::sleep_until(stored + milliseconds(1500));
  CHECK(client.Get("/v1/keys/short-lived").status == 404);
  CHECK(client.Get("/v1/keys/long-lived").status == 200);
}

TEST_CASE(
    "with max_entries 1000, 10000 writes leave at most 1000 entries, the keys read "
    "most recently among them",
    "[strategies]") {
  DaemonProcess daemon(R"(
l1:
  max_entries: 1000
)");
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  constexpr int kHotKeys = 20;
  const auto hot = [](int i) { return "/v1/keys/hot:" + std::to_string(i); };
  for (int i = 0; i < kHotKeys; ++i) REQUIRE(client.Put(hot(i), "hot").status == 204);

  for (int i = 0; i < 10000; ++i) {
    REQUIRE(client.Put("/v1/keys/bulk:" + std::to_string(i), "sixteen bytes..!").status == 204);
    // Keep reading the hot keys while the bulk writes push everything else out.
    if (i % 100 == 99) {
      for (int h = 0; h < kHotKeys; ++h) REQUIRE(client.Get(hot(h)).status == 200);
    }
  }

  const nlohmann::json l1 = L1Status(client);
  INFO("L1 status: " << l1.dump());
  CHECK(l1.at("entries").get<uint64_t>() <= 1000);
  CHECK(l1.at("entries").get<uint64_t>() >= 500);
  CHECK(l1.at("evictions").get<uint64_t>() >= 9000);
  for (int h = 0; h < kHotKeys; ++h) {
    CAPTURE(h);
    CHECK(client.Get(hot(h)).status == 200);
  }
  // The last keys written are the most recently used of the bulk.
  CHECK(client.Get("/v1/keys/bulk:9999").status == 200);
  // The first ones, written long before and never read, were evicted.
  CHECK(client.Get("/v1/keys/bulk:0").status == 404);
}

TEST_CASE("with max_bytes set, the byte count in /v1/status never exceeds it while writing",
          "[strategies]") {
  constexpr uint64_t kMaxBytes = 64 * 1024;
  DaemonProcess daemon(R"(
l1:
  shards: 4
  max_bytes: 64KiB
)");
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);

  // A reader polls the status while a writer fills the cache several times over.
  std::atomic<bool> writing{true};
  uint64_t polls = 0;
  uint64_t max_seen = 0;
  std::string poll_error;
  std::thread poller([&] {
    try {
      HttpClient status_client(daemon.http_port());
      while (writing.load()) {
        const nlohmann::json l1 =
            nlohmann::json::parse(status_client.Get("/v1/status").body).at("tiers")[0];
        max_seen = std::max(max_seen, l1.at("bytes").get<uint64_t>());
        ++polls;
      }
    } catch (const std::exception& e) {
      poll_error = e.what();
    }
  });

  HttpClient client(daemon.http_port());
  uint64_t written = 0;
  for (int i = 0; i < 1500; ++i) {
    const std::string value(100 + (i * 37) % 1400, static_cast<char>('a' + i % 26));
    const HttpResponse put = client.Put("/v1/keys/sized:" + std::to_string(i), value);
    REQUIRE(put.status == 204);
    written += value.size();
    if (i % 25 == 0) {
      const uint64_t bytes = L1Status(client).at("bytes").get<uint64_t>();
      CAPTURE(i, bytes);
      REQUIRE(bytes <= kMaxBytes);
    }
  }
  writing.store(false);
  poller.join();

  REQUIRE(poll_error.empty());
  CHECK(polls > 0);
  CHECK(max_seen <= kMaxBytes);
  const nlohmann::json l1 = L1Status(client);
  INFO("L1 status: " << l1.dump());
  CHECK(written > 10 * kMaxBytes);
  CHECK(l1.at("max_bytes").get<uint64_t>() == kMaxBytes);
  CHECK(l1.at("bytes").get<uint64_t>() <= kMaxBytes);
  CHECK(l1.at("bytes").get<uint64_t>() > 0);
  CHECK(l1.at("evictions").get<uint64_t>() > 0);
}

TEST_CASE(
    "an adaptive key read 100 times lives longer than one read once, both within "
    "[min_timeout, max_timeout]",
    "[strategies]") {
  DaemonProcess daemon(R"(
strategies:
  adaptive:
    base_timeout: 100s
    min_timeout: 10s
    max_timeout: 1000s
)");
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  REQUIRE(client.Put("/v1/keys/hot?strategy=adaptive", "h").status == 204);
  REQUIRE(client.Put("/v1/keys/cold?strategy=adaptive", "c").status == 204);

  const HttpResponse cold = client.Get("/v1/keys/cold");
  REQUIRE(cold.status == 200);
  HttpResponse hot;
  for (int i = 0; i < 100; ++i) {
    hot = client.Get("/v1/keys/hot");
    REQUIRE(hot.status == 200);
  }
  const long hot_ttl = std::stol(hot.Header("X-Cache-TTL"));
  const long cold_ttl = std::stol(cold.Header("X-Cache-TTL"));
  CAPTURE(hot_ttl, cold_ttl);
  CHECK(hot_ttl > cold_ttl);
  CHECK(hot_ttl >= 10);
  CHECK(hot_ttl <= 1000);
  CHECK(cold_ttl >= 10);
  CHECK(cold_ttl <= 1000);

  // Reading the cold key once more keeps it well below the hot one.
  const long cold_again = std::stol(client.Get("/v1/keys/cold").Header("X-Cache-TTL"));
  CHECK(cold_again < hot_ttl);
}

}  // namespace
}  // namespace tiercache::test
