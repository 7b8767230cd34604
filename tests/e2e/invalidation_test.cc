// POST /v1/invalidate over real HTTP: by tag at scale, by pattern exactly, and a
// pathological pattern that a backtracking engine would choke on.

#include <catch2/catch.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "tests/e2e/e2e_helpers.h"

namespace tiercache::test {
namespace {

// Runs `body(client, i)` for i in [0, count) on `threads` threads, each with its own
// keep-alive connection; rethrows the first failure.
void ForEachParallel(uint16_t port, int count, int threads,
                     const std::function<void(HttpClient&, int)>& body) {
  std::vector<std::thread> workers;
  std::vector<std::string> errors(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      try {
        HttpClient client(port);
        for (int i = t; i < count; i += threads) body(client, i);
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& w : workers) w.join();
  for (const auto& e : errors) {
    if (!e.empty()) FAIL(e);
  }
}

void PutOrThrow(HttpClient& client, const std::string& target, std::string_view value) {
  const HttpResponse r = client.Put(target, value);
  if (r.status != 204) {
    throw std::runtime_error("PUT " + target + " answered " + std::to_string(r.status) + ": " +
                             r.body);
  }
}

TEST_CASE("invalidating a tag shared by 100000 keys removes all of them and reports 100000",
          "[invalidation]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  constexpr int kTagged = 100000;
  ForEachParallel(daemon.http_port(), kTagged, 4, [](HttpClient& c, int i) {
    PutOrThrow(c, "/v1/keys/tagged:" + std::to_string(i) + "?tags=bulk," + (i % 2 ? "odd" : "even"),
               "v");
  });
  REQUIRE(client.Put("/v1/keys/untagged", "stays").status == 204);
  REQUIRE(client.Put("/v1/keys/other-tag?tags=other", "stays").status == 204);
  REQUIRE(L1Entries(client) == kTagged + 2);

  const HttpResponse r = client.PostJson("/v1/invalidate", R"({"tags":["bulk"]})");
  REQUIRE(r.status == 200);
  const nlohmann::json body = nlohmann::json::parse(r.body);
  CHECK(body.at("invalidated") == kTagged);
  CHECK(body.at("by_tags") == kTagged);

  CHECK(L1Entries(client) == 2);
  for (int i : {0, 1, 4999, 50000, 99999}) {
    CAPTURE(i);
    CHECK(client.Get("/v1/keys/tagged:" + std::to_string(i)).status == 404);
  }
  CHECK(client.Get("/v1/keys/untagged").body == "stays");
  CHECK(client.Get("/v1/keys/other-tag").body == "stays");

  // The other tag of the removed keys names nothing any more.
  const HttpResponse again = client.PostJson("/v1/invalidate", R"({"tags":["odd","even"]})");
  REQUIRE(again.status == 200);
  CHECK(nlohmann::json::parse(again.body).at("invalidated") == 0);
}

TEST_CASE("the pattern ^user:[0-9]+:profile$ removes exactly the matching keys", "[invalidation]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  // A mixed set: matches, and near misses on every side of the pattern.
  std::vector<std::string> keys;
  for (int i = 0; i < 800; ++i) {
    const std::string id = std::to_string(i * 7919 % 100000);
    keys.push_back("user:" + id + ":profile");  // matches
    keys.push_back("user:" + id + ":settings");
    keys.push_back("user:" + id + ":profile:v2");
    keys.push_back("xuser:" + id + ":profile");
    keys.push_back("user:" + id + "a:profile");
    keys.push_back("admin:" + id + ":profile");
    keys.push_back("user:" + id + ":profiles");
  }
  keys.push_back("user::profile");
  keys.push_back("user:-1:profile");
  keys.push_back("user:12:Profile");
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());

  const std::regex pattern("^user:[0-9]+:profile$");
  size_t expected = 0;
  for (const auto& k : keys) expected += std::regex_search(k, pattern) ? 1 : 0;
  REQUIRE(expected == 800);

  ForEachParallel(daemon.http_port(), static_cast<int>(keys.size()), 2,
                  [&](HttpClient& c, int i) { PutOrThrow(c, "/v1/keys/" + keys[i], keys[i]); });
  REQUIRE(L1Entries(client) == keys.size());

  const HttpResponse r =
      client.PostJson("/v1/invalidate", R"({"pattern":"^user:[0-9]+:profile$"})");
  REQUIRE(r.status == 200);
  const nlohmann::json body = nlohmann::json::parse(r.body);
  CHECK(body.at("invalidated") == expected);
  CHECK(body.at("by_pattern") == expected);
  CHECK(L1Entries(client) == keys.size() - expected);

  size_t wrong = 0;
  for (const auto& k : keys) {
    const bool matches = std::regex_search(k, pattern);
    const unsigned status = client.Get("/v1/keys/" + k).status;
    if (status != (matches ? 404u : 200u)) {
      UNSCOPED_INFO("key " << k << " answered " << status);
      ++wrong;
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("a pathological pattern such as (a+)+$ over long keys answers promptly",
          "[invalidation]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  // Long runs of 'a' ending in something else make a backtracking engine take
  // exponential time; RE2 is linear. Half the keys end in 'a' and match.
  const std::string run(900, 'a');
  size_t matching = 0;
  for (int i = 0; i < 200; ++i) {
    const bool match = i % 2 == 0;
    const std::string key = std::to_string(i) + run + (match ? "" : "!");
    matching += match ? 1 : 0;
    REQUIRE(client.Put("/v1/keys/" + PercentEncode(key), "v").status == 204);
  }

  // Bounded by the client's timeout (30 s): a stalled server fails this with a timeout.
  const HttpResponse r = client.PostJson("/v1/invalidate", R"({"pattern":"(a+)+$"})");
  REQUIRE(r.status == 200);
  CHECK(nlohmann::json::parse(r.body).at("invalidated") == matching);
  CHECK(L1Entries(client) == 200 - matching);

  // The server is still responsive afterwards.
  CHECK(client.Get("/healthz").status == 200);
}

}  // namespace
}  // namespace tiercache::test
