// The caching reverse proxy end to end: tiercached in front of a small test origin, driven
// over HTTP as a browser or API client would, with the origin's request counts telling what
// reached it.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/e2e_helpers.h"
#include "tests/e2e/tierctl_runner.h"
#include "tests/support/poll.h"
#include "tests/support/test_origin.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;

// One route over `origin` with `route_yaml` added to its settings (indented for a list
// item's map).
std::string ProxyConfig(const TestOrigin& origin, const std::string& route_yaml = "",
                        const std::string& more = "") {
  return "invalidation:\n  models:\n    - model: auth.User\n      tags: [\"user:{id}\"]\n"
         "proxy:\n  routes:\n    - name: app\n      path_prefix: /\n      origin: " +
         origin.base_url() + "\n" + route_yaml + more;
}

DaemonOptions WithProxy(std::string yaml) {
  DaemonOptions o;
  o.config_yaml = std::move(yaml);
  o.proxy = true;
  return o;
}

OriginAnswer Cacheable(std::string body, std::string cache_control = "max-age=60") {
  OriginAnswer r;
  r.body = std::move(body);
  r.headers = {{"Cache-Control", std::move(cache_control)}};
  return r;
}

bool IsHit(const HttpResponse& r) {
  return r.Header("Cache-Status").find("hit") != std::string::npos;
}

TEST_CASE("Proxy: AFreshResponseIsServedFromTheCacheWithAgeAndCacheStatus", "[e2e][proxy]") {
  TestOrigin origin;
  origin.ServeAnswer("/page", Cacheable("page"));
  DaemonProcess daemon(WithProxy(ProxyConfig(origin)));
  HttpClient client(daemon.proxy_port());

  const HttpResponse first = client.Get("/page");
  REQUIRE(first.status == 200);
  CHECK(first.body == "page");
  CHECK(first.Header("Cache-Status") == "tiercache; fwd=uri-miss; fwd-status=200; stored");
  const HttpResponse second = client.Get("/page");
  CHECK(second.body == "page");
  CHECK(second.Header("Cache-Status").starts_with("tiercache; hit; ttl="));
  CHECK(second.HasHeader("Age"));
  CHECK(second.Header("Cache-Control") == "max-age=60");
  const HttpResponse head = client.Head("/page");
  CHECK(head.status == 200);
  CHECK(IsHit(head));
  CHECK(head.body.empty());
  CHECK(origin.requests("/page") == 1);
  CHECK(origin.last_header("/page", "X-Forwarded-For") == "127.0.0.1");
  CHECK(origin.last_header("/page", "Via") == "1.1 tiercache");
  // The entry is one like any other: tiercache's own API sees it and its tags.
  HttpClient api(daemon.http_port());
  CHECK(StatusJson(api).at("proxy").at("routes").at(0).at("hits").get<uint64_t>() == 2);
}

TEST_CASE("Proxy: VaryOnAcceptLanguageKeepsOneEntryPerLanguage", "[e2e][proxy]") {
  TestOrigin origin;
  OriginAnswer reply = Cacheable("page:");
  reply.echo = {"Accept-Language"};
  origin.ServeAnswer("/", reply);
  DaemonProcess daemon(WithProxy(ProxyConfig(origin, "      vary_on: [Accept-Language]\n")));
  HttpClient client(daemon.proxy_port());

  for (int round = 0; round < 2; ++round) {
    const HttpResponse en = client.Request("GET", "/", "", {{"Accept-Language", "en"}});
    const HttpResponse fr = client.Request("GET", "/", "", {{"Accept-Language", "fr"}});
    CHECK(en.body == "page:Accept-Language=en;");
    CHECK(fr.body == "page:Accept-Language=fr;");
    CHECK(IsHit(en) == (round == 1));
    CHECK(IsHit(fr) == (round == 1));
  }
  CHECK(origin.requests("/") == 2);
}

TEST_CASE("Proxy: AnOriginVaryKeepsItsVariantsApart", "[e2e][proxy]") {
  TestOrigin origin;
  OriginAnswer reply = Cacheable("page:");
  reply.echo = {"Accept-Encoding"};
  reply.headers.emplace_back("Vary", "Accept-Encoding");
  origin.ServeAnswer("/v", reply);
  DaemonProcess daemon(WithProxy(ProxyConfig(origin)));
  HttpClient client(daemon.proxy_port());

  for (int round = 0; round < 2; ++round) {
    const HttpResponse gzip = client.Request("GET", "/v", "", {{"Accept-Encoding", "gzip"}});
    const HttpResponse plain = client.Request("GET", "/v", "", {{"Accept-Encoding", "identity"}});
    CHECK(gzip.body == "page:Accept-Encoding=gzip;");
    CHECK(plain.body == "page:Accept-Encoding=identity;");
  }
  CHECK(origin.requests("/v") == 2);
}

TEST_CASE("Proxy: VaryOnAuthNeverServesOneUsersResponseToAnother", "[e2e][proxy]") {
  TestOrigin origin;
  OriginAnswer reply = Cacheable("me:", "private, max-age=60");
  reply.echo = {"Authorization"};
  origin.ServeAnswer("/api/me", reply);
  DaemonProcess daemon(WithProxy(ProxyConfig(origin, "      vary_on_auth: true\n")));
  HttpClient client(daemon.proxy_port());

  const Headers alice = {{"Authorization", "Bearer alice"}};
  const Headers bob = {{"Authorization", "Bearer bob"}};
  for (int round = 0; round < 3; ++round) {
    CHECK(client.Request("GET", "/api/me", "", alice).body == "me:Authorization=Bearer alice;");
    CHECK(client.Request("GET", "/api/me", "", bob).body == "me:Authorization=Bearer bob;");
  }
  // One fetch per user; an anonymous request is a third user, never either of them.
  CHECK(origin.requests("/api/me") == 2);
  CHECK(client.Get("/api/me").body == "me:Authorization=;");
  CHECK(origin.requests("/api/me") == 3);
}

TEST_CASE("Proxy: WithoutVaryOnAuthACredentialedPrivateResponseIsNotShared", "[e2e][proxy]") {
  TestOrigin origin;
  OriginAnswer reply = Cacheable("me:", "max-age=60");
  reply.echo = {"Authorization"};
  origin.ServeAnswer("/api/me", reply);
  DaemonProcess daemon(WithProxy(ProxyConfig(origin)));
  HttpClient client(daemon.proxy_port());

  const HttpResponse alice =
      client.Request("GET", "/api/me", "", {{"Authorization", "Bearer alice"}});
  CHECK(alice.Header("Cache-Status").find("detail=authorization") != std::string::npos);
  CHECK(client.Request("GET", "/api/me", "", {{"Authorization", "Bearer bob"}}).body ==
        "me:Authorization=Bearer bob;");
  CHECK(origin.requests("/api/me") == 2);
}

TEST_CASE("Proxy: AServerErrorIsNotCachedWithoutCacheErrors", "[e2e][proxy]") {
  TestOrigin origin;
  OriginAnswer reply = Cacheable("broken");
  reply.status = 500;
  origin.ServeAnswer("/broken", reply);
  DaemonProcess daemon(WithProxy(ProxyConfig(origin)));
  HttpClient client(daemon.proxy_port());

  for (int i = 0; i < 3; ++i) {
    const HttpResponse r = client.Get("/broken");
    CHECK(r.status == 500);
    CHECK(r.body == "broken");
    CHECK(r.Header("Cache-Status").find("detail=error-status") != std::string::npos);
  }
  CHECK(origin.requests("/broken") == 3);
}

TEST_CASE("Proxy: ErrorsAreCachedWhenTheRouteSaysSo", "[e2e][proxy]") {
  TestOrigin origin;
  OriginAnswer reply;
  reply.status = 404;
  reply.body = "gone";
  origin.ServeAnswer("/missing", reply);
  DaemonProcess daemon(WithProxy(ProxyConfig(origin, "      cache_errors: true\n")));
  HttpClient client(daemon.proxy_port());

  CHECK(client.Get("/missing").status == 404);
  const HttpResponse again = client.Get("/missing");
  CHECK(again.status == 404);
  CHECK(IsHit(again));
  CHECK(origin.requests("/missing") == 1);
}

TEST_CASE("Proxy: ABypassConditionAlwaysReachesTheOrigin", "[e2e][proxy]") {
  TestOrigin origin;
  origin.ServeAnswer("/home", Cacheable("home"));
  DaemonProcess daemon(WithProxy(
      ProxyConfig(origin, "      bypass:\n        - cookie: staff\n          matches: ^1$\n")));
  HttpClient client(daemon.proxy_port());

  const Headers staff = {{"Cookie", "session=abc; staff=1"}};
  for (int i = 0; i < 3; ++i) {
    const HttpResponse r = client.Request("GET", "/home", "", staff);
    CHECK(r.body == "home");
    CHECK(r.Header("Cache-Status") == "tiercache; fwd=bypass; fwd-status=200");
  }
  CHECK(origin.requests("/home") == 3);
  // Everyone else shares one entry.
  client.Get("/home");
  CHECK(IsHit(client.Get("/home")));
  CHECK(IsHit(client.Request("GET", "/home", "", {{"Cookie", "staff=0"}})));
  CHECK(origin.requests("/home") == 4);
}

TEST_CASE("Proxy: AWriteToAUrlInvalidatesWhatIsStoredForIt", "[e2e][proxy]") {
  TestOrigin origin;
  origin.ServeAnswer("/items/1", Cacheable("item"));
  DaemonProcess daemon(WithProxy(ProxyConfig(origin)));
  HttpClient client(daemon.proxy_port());

  client.Get("/items/1");
  CHECK(IsHit(client.Get("/items/1")));
  const HttpResponse put = client.Request("PUT", "/items/1", "new");
  CHECK(put.status == 200);
  CHECK(put.Header("Cache-Status") == "tiercache; fwd=method; fwd-status=200");
  CHECK(origin.last_method("/items/1") == "PUT");
  CHECK_FALSE(IsHit(client.Get("/items/1")));
  CHECK(origin.requests("/items/1") == 3);
}

TEST_CASE("Proxy: PurgesByUrlPrefixAndTagGoThroughTheInvalidateApiAndTierctl",
          "[e2e][proxy]") {
  TestOrigin origin;
  for (const char* path : {"/users/1", "/users/2", "/users/3", "/about"}) {
    OriginAnswer page = Cacheable(path);
    if (std::string(path) == "/about") page.headers.emplace_back("Cache-Tag", "static, pages");
    origin.ServeAnswer(path, page);
  }
  DaemonProcess daemon(WithProxy(ProxyConfig(origin, "      vary_on: [Accept-Language]\n")));
  HttpClient client(daemon.proxy_port());
  HttpClient api(daemon.http_port());
  const auto cached = [&](const std::string& path, const Headers& headers = {}) {
    client.Request("GET", path, "", headers);
    return IsHit(client.Request("GET", path, "", headers));
  };
  const Headers fr = {{"Accept-Language", "fr"}};
  REQUIRE(cached("/users/1"));
  REQUIRE(cached("/users/1", fr));
  REQUIRE(cached("/users/2"));
  REQUIRE(cached("/users/3"));
  REQUIRE(cached("/about"));

  // One URL: every variant of it, nothing else.
  const HttpResponse one = api.PostJson("/v1/invalidate", R"({"urls": ["/users/1"]})");
  REQUIRE(one.status == 200);
  CHECK(nlohmann::json::parse(one.body).at("invalidated") == 2);
  CHECK_FALSE(IsHit(client.Get("/users/1")));
  CHECK_FALSE(IsHit(client.Request("GET", "/users/1", "", fr)));
  CHECK(IsHit(client.Get("/users/2")));
  // A prefix, from tierctl.
  const CommandResult purged = Tierctl(daemon, {"invalidate", "--url-prefixes", "/users/"});
  INFO(purged.out << purged.err);
  CHECK(purged.exit_code == 0);
  CHECK_FALSE(IsHit(client.Get("/users/2")));
  CHECK_FALSE(IsHit(client.Get("/users/3")));
  CHECK(IsHit(client.Get("/about")));
  // The origin's Cache-Tag, as any tag.
  REQUIRE(api.PostJson("/v1/invalidate", R"({"tags": ["static"]})").status == 200);
  CHECK_FALSE(IsHit(client.Get("/about")));
  // A path no route takes, and one that is not a path, change nothing.
  CHECK(api.PostJson("/v1/invalidate", R"({"urls": ["nope"]})").status == 400);
}

TEST_CASE("Proxy: AViewWarmingSourceStoresWhatClientsWithThoseHeadersWillHit",
          "[e2e][proxy][warming]") {
  TestOrigin origin;
  OriginAnswer dashboard = Cacheable("dashboard:");
  dashboard.echo = {"Accept-Language"};
  origin.ServeAnswer("/dashboard", dashboard);
  OriginAnswer broken = Cacheable("broken");
  broken.status = 500;
  origin.ServeAnswer("/broken", broken);
  DaemonProcess daemon(WithProxy(ProxyConfig(
      origin, "      vary_on: [Accept-Language]\n",
      "warming:\n  sources:\n    - name: views\n      type: view\n"
      "      paths: [/dashboard, /broken]\n"
      "      variants: [{Accept-Language: en}, {Accept-Language: fr}]\n")));
  HttpClient api(daemon.http_port());
  REQUIRE(api.PostJson("/v1/warm", R"({"source": "views"})").status == 202);
  nlohmann::json source;
  REQUIRE(PollUntil(
      [&] {
        source = StatusJson(api).at("warming").at(0);
        return source.at("runs") == 1;
      },
      10s));
  INFO(source.dump());
  CHECK(source.at("kind") == "view");
  CHECK(source.at("attempted") == 4);
  CHECK(source.at("written") == 2);
  CHECK(source.at("failures") == 2);
  CHECK(origin.requests("/dashboard") == 2);

  HttpClient client(daemon.proxy_port());
  const HttpResponse fr = client.Request("GET", "/dashboard", "", {{"Accept-Language", "fr"}});
  CHECK(IsHit(fr));
  CHECK(fr.body == "dashboard:Accept-Language=fr;");
  CHECK(IsHit(client.Request("GET", "/dashboard", "", {{"Accept-Language", "en"}})));
  CHECK(origin.requests("/dashboard") == 2);
}

TEST_CASE("Proxy: TheClientsValidatorsGetA304FromTheCache", "[e2e][proxy]") {
  TestOrigin origin;
  OriginAnswer reply = Cacheable("doc");
  reply.headers.emplace_back("ETag", "\"v7\"");
  origin.ServeAnswer("/doc", reply);
  DaemonProcess daemon(WithProxy(ProxyConfig(origin)));
  HttpClient client(daemon.proxy_port());

  client.Get("/doc");
  const HttpResponse same = client.Request("GET", "/doc", "", {{"If-None-Match", "\"v7\""}});
  CHECK(same.status == 304);
  CHECK(same.body.empty());
  CHECK(same.Header("ETag") == "\"v7\"");
  const HttpResponse other = client.Request("GET", "/doc", "", {{"If-None-Match", "\"v6\""}});
  CHECK(other.status == 200);
  CHECK(other.body == "doc");
  CHECK(origin.requests("/doc") == 1);
}

TEST_CASE("Proxy: AStaleEntryIsRevalidatedWithTheOrigin", "[e2e][proxy]") {
  TestOrigin origin;
  OriginAnswer reply = Cacheable("doc", "max-age=1");
  reply.headers.emplace_back("ETag", "\"v1\"");
  origin.ServeAnswer("/doc", reply);
  DaemonProcess daemon(WithProxy(ProxyConfig(origin, "      stale_if_error: 60s\n")));
  HttpClient client(daemon.proxy_port());

  client.Get("/doc");
  std::this_thread::sleep_for(1500ms);
  OriginAnswer not_modified;
  not_modified.status = 304;
  not_modified.headers = {{"Cache-Control", "max-age=60"}, {"ETag", "\"v1\""}};
  origin.ServeAnswer("/doc", not_modified);
  const HttpResponse revalidated = client.Get("/doc");
  CHECK(revalidated.status == 200);
  CHECK(revalidated.body == "doc");
  CHECK(revalidated.Header("Cache-Status") == "tiercache; fwd=stale; fwd-status=304; stored");
  CHECK(origin.last_header("/doc", "If-None-Match") == "\"v1\"");
  // Fresh again for the 304's max-age.
  CHECK(IsHit(client.Get("/doc")));
  CHECK(origin.requests("/doc") == 2);
}

TEST_CASE("Proxy: StaleIfErrorServesTheStaleResponseForItsWindowThenAnswersAJsonError",
          "[e2e][proxy]") {
  auto origin = std::make_unique<TestOrigin>();
  origin->ServeAnswer("/news", Cacheable("news", "max-age=1"));
  DaemonProcess daemon(WithProxy(ProxyConfig(*origin, "      stale_if_error: 3s\n")));
  HttpClient client(daemon.proxy_port());

  REQUIRE(client.Get("/news").body == "news");
  origin.reset();  // the origin is gone: connections refused
  std::this_thread::sleep_for(2s);  // stale by about 1 s, inside the 3 s window
  const HttpResponse stale = client.Get("/news");
  CHECK(stale.status == 200);
  CHECK(stale.body == "news");
  CHECK(stale.Header("Cache-Status") == "tiercache; hit; fwd=stale; detail=stale-if-error");
  std::this_thread::sleep_for(3s);  // past max-age + stale_if_error
  const HttpResponse gone = client.Get("/news");
  CHECK(gone.status == 502);
  CHECK(ErrorCode(gone) == "origin_unavailable");
}

TEST_CASE("Proxy: AHungOriginGetsA504AndChangesNothingStored", "[e2e][proxy]") {
  TestOrigin origin;
  origin.ServeAnswer("/ok", Cacheable("ok"));
  OriginAnswer slow = Cacheable("late");
  slow.delay = 5s;
  origin.ServeAnswer("/slow", slow);
  DaemonProcess daemon(WithProxy(ProxyConfig(origin, "      origin_timeout: 300ms\n")));
  HttpClient client(daemon.proxy_port());

  client.Get("/ok");
  const HttpResponse timed_out = client.Get("/slow");
  CHECK(timed_out.status == 504);
  CHECK(ErrorCode(timed_out) == "origin_timeout");
  CHECK(IsHit(client.Get("/ok")));
}

TEST_CASE("Proxy: AMalformedOriginResponseGetsA502AndIsNotStored", "[e2e][proxy]") {
  TestOrigin origin;
  OriginAnswer garbage;
  garbage.raw = "HTTP/1.1 two hundred\r\nnonsense\r\n\r\n";
  origin.ServeAnswer("/bad", garbage);
  DaemonProcess daemon(WithProxy(ProxyConfig(origin)));
  HttpClient client(daemon.proxy_port());

  for (int i = 0; i < 2; ++i) {
    const HttpResponse r = client.Get("/bad");
    CHECK(r.status == 502);
    CHECK(ErrorCode(r) == "bad_origin_response");
  }
  CHECK(origin.requests("/bad") == 2);
}

TEST_CASE("Proxy: OversizedAndMalformedRequestsGetClearErrors", "[e2e][proxy]") {
  TestOrigin origin;
  origin.ServeAnswer("/page", Cacheable("page"));
  DaemonProcess daemon(WithProxy(ProxyConfig(origin)));
  HttpClient client(daemon.proxy_port());

  HttpClient padded(daemon.proxy_port());
  const HttpOutcome huge = padded.TryRaw("GET /page HTTP/1.1\r\nHost: x\r\nX-Padding: " +
                                         std::string(64 * 1024, 'x') + "\r\n\r\n");
  REQUIRE(huge.ok());
  CHECK(huge.response.status == 413);
  CHECK(ErrorCode(huge.response) == "too_large");
  HttpClient raw(daemon.proxy_port());
  const HttpOutcome malformed = raw.TryRaw("GET /page HTTP/1.1\r\nHost x\r\n\r\n");
  REQUIRE(malformed.ok());
  CHECK(malformed.response.status == 400);
  CHECK(origin.requests("/page") == 0);
  HttpClient after(daemon.proxy_port());
  CHECK(after.Get("/page").body == "page");
}

TEST_CASE("Proxy: ARequestNoRouteTakesGetsA404", "[e2e][proxy]") {
  TestOrigin origin;
  DaemonProcess daemon(WithProxy(
      "proxy:\n  routes:\n    - name: api\n      path_prefix: /api/\n      origin: " +
      origin.base_url() + "\n"));
  HttpClient client(daemon.proxy_port());
  const HttpResponse r = client.Get("/elsewhere");
  CHECK(r.status == 404);
  CHECK(ErrorCode(r) == "no_route");
}

TEST_CASE("Proxy: AHundredConcurrentMissesOfOneUrlMakeOneOriginRequest", "[e2e][proxy]") {
  TestOrigin origin;
  OriginAnswer slow = Cacheable("report");
  slow.delay = 500ms;  // the first fetch is still on its way while the others arrive
  origin.ServeAnswer("/report", slow);
  DaemonProcess daemon(WithProxy(ProxyConfig(origin)));

  constexpr int kClients = 100;
  std::atomic<int> served{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      HttpClient client(daemon.proxy_port());
      const HttpResponse r = client.Get("/report");
      if (r.status == 200 && r.body == "report") served.fetch_add(1);
    });
  }
  for (auto& t : clients) t.join();
  CHECK(served.load() == kClients);
  // Whatever the timing, a request either joined the one fetch or found its result stored.
  CHECK(origin.requests("/report") == 1);
}

}  // namespace
}  // namespace tiercache::test
