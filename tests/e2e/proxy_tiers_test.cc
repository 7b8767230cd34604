// The caching proxy over a shared Redis tier: two tiercached instances in front of one
// origin share the responses they store, and a model invalidation on one removes a
// response the origin tagged (Surrogate-Key) from both.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "tests/e2e/e2e_helpers.h"
#include "tests/support/poll.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_origin.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;

DaemonOptions Instance(const RedisServer& redis, const TestOrigin& origin,
                       const std::string& id) {
  DaemonOptions o;
  o.proxy = true;
  o.config_yaml = "tier_health: {interval: 250ms}\n"
                  "coherence: {instance_id: " + id + "}\n"
                  "tiers:\n  - type: redis\n    url: " + redis.url() + "\n"
                  "invalidation:\n  models:\n    - model: auth.User\n"
                  "      tags: [\"user:{id}\"]\n"
                  "proxy:\n  routes:\n    - name: app\n      path_prefix: /\n"
                  "      origin: " + origin.base_url() + "\n";
  return o;
}

OriginAnswer Profile(const std::string& body) {
  OriginAnswer a;
  a.body = body;
  a.headers = {{"Cache-Control", "max-age=300"}, {"Surrogate-Key", "user:7 profiles"}};
  return a;
}

bool IsHit(const HttpResponse& r) {
  return r.Header("Cache-Status").find("hit") != std::string::npos;
}

TEST_CASE("Proxy: AModelInvalidationRemovesATaggedResponseFromEveryInstance",
          "[e2e][tiers][proxy]") {
  RedisServer redis;
  TestOrigin origin;
  origin.ServeAnswer("/users/7", Profile("v1"));
  DaemonProcess a(Instance(redis, origin, "a"));
  DaemonProcess b(Instance(redis, origin, "b"));
  HttpClient api_a(a.http_port());
  HttpClient api_b(b.http_port());
  REQUIRE(PollUntil(
      [&] {
        return StatusJson(api_a).at("coherence").at("subscribed").get<bool>() &&
               StatusJson(api_b).at("coherence").at("subscribed").get<bool>();
      },
      5000ms));
  HttpClient proxy_a(a.proxy_port());
  HttpClient proxy_b(b.proxy_port());

  REQUIRE(proxy_a.Get("/users/7").body == "v1");
  // B finds what A stored in Redis: the origin is asked once for both.
  const HttpResponse from_b = proxy_b.Get("/users/7");
  CHECK(from_b.body == "v1");
  CHECK(IsHit(from_b));
  CHECK(IsHit(proxy_b.Get("/users/7")));
  CHECK(origin.requests("/users/7") == 1);

  origin.ServeAnswer("/users/7", Profile("v2"));
  const HttpResponse invalidated =
      api_a.PostJson("/v1/invalidate", R"({"model": "auth.User", "instance_id": "7"})");
  REQUIRE(invalidated.status == 200);
  const HttpResponse after_a = proxy_a.Get("/users/7");
  CHECK(after_a.body == "v2");
  CHECK_FALSE(IsHit(after_a));
  // B's L1 copy goes with the coherence message, within a moment.
  CHECK(PollUntil([&] { return proxy_b.Get("/users/7").body == "v2"; }, 2000ms));
  // A's fetch, and B's own if it looked before A's copy reached Redis.
  CHECK(origin.requests("/users/7") >= 2);
  CHECK(origin.requests("/users/7") <= 3);
}

}  // namespace
}  // namespace tiercache::test
