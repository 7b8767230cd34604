// The `proxy:` section: routes as written, and the errors that stop a start.

#include <catch2/catch.hpp>

#include "core/proxy_route.h"
#include "tests/config/load_yaml.h"

namespace tiercache::config {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

TEST_CASE("TheProxyIsOffByDefault", "[config][proxy]") {
  const Config c = Load("");
  CHECK_FALSE(c.proxy.listen.has_value());
  CHECK(c.proxy.options.routes.empty());
  CHECK(c.proxy.options.max_cached_body_bytes == 1 << 20);
}

TEST_CASE("ProxyRoutesLoadWithEverySetting", "[config][proxy]") {
  const Config c = Load(R"yaml(proxy:
  listen: 127.0.0.1:8081
  max_cached_body_bytes: 2MiB
  routes:
    - name: users
      path_pattern: "^/users/(?P<id>[0-9]+)"
      origin: http://127.0.0.1:9000/app
      timeout: 0s
      vary_on: [Accept-Language]
      vary_on_auth: "cookie:sessionid"
      vary_on_params: [page, sort]
      cache_errors: true
      cache_methods: [GET]
      bypass:
        - {cookie: staff, matches: "^1$"}
        - {header: X-Debug}
      only_if:
        - {path: "^/users/"}
      tags: ["user:{id}"]
      stale_while_revalidate: 10s
      stale_if_error: 5m
      origin_timeout: 2s
    - name: rest
      path_prefix: /
      origin: http://127.0.0.1:9000
      vary_on_auth: true
      vary_on_params: none
)yaml");
  REQUIRE(c.proxy.listen);
  CHECK(c.proxy.listen->port == 8081);
  CHECK(c.proxy.options.max_cached_body_bytes == 2 << 20);
  REQUIRE(c.proxy.options.routes.size() == 2);
  const ProxyRoute& users = c.proxy.options.routes[0];
  CHECK(users.name == "users");
  CHECK(users.path_pattern->Search("/users/7"));
  CHECK(users.origin == "http://127.0.0.1:9000/app");
  CHECK(users.timeout == Duration::zero());
  CHECK(users.vary_on == std::vector<std::string>{"accept-language"});
  CHECK(users.vary_on_auth == "cookie:sessionid");
  CHECK(users.vary_params == VaryParams::kList);
  CHECK(users.vary_param_names == std::vector<std::string>{"page", "sort"});
  CHECK(users.cache_errors);
  CHECK(users.cache_methods == std::vector<std::string>{"GET"});
  REQUIRE(users.bypass.size() == 2);
  CHECK(users.bypass[0].subject == ProxyCondition::Subject::kCookie);
  CHECK(users.bypass[1].name == "x-debug");
  CHECK(users.bypass[1].matches == nullptr);
  CHECK(users.only_if[0].subject == ProxyCondition::Subject::kPath);
  CHECK(users.stale_while_revalidate == 10s);
  CHECK(users.stale_if_error == 300s);
  CHECK(users.origin_timeout == 2s);
  const ProxyRoute& rest = c.proxy.options.routes[1];
  CHECK(rest.vary_on_auth == "authorization");
  CHECK(rest.vary_params == VaryParams::kNone);
  CHECK(rest.timeout == 300s);
}

TEST_CASE("BadProxySettingsStopTheStartWithTheirPosition", "[config][proxy]") {
  const std::string route = "proxy:\n  routes:\n    - name: a\n      origin: http://o\n";
  CHECK_THAT(ErrorOf("proxy:\n  listen: 127.0.0.1:1\n"), Contains("no route is"));
  CHECK_THAT(ErrorOf(route), Contains("test.yaml:3:") && Contains("one of path_prefix and"));
  CHECK_THAT(ErrorOf(route + "      path_prefix: /\n      path_pattern: x\n"),
             Contains("one of path_prefix and path_pattern"));
  CHECK_THAT(ErrorOf(route + "      path_pattern: \"(\"\n"),
             Contains("test.yaml:5:") && Contains("missing )"));
  CHECK_THAT(ErrorOf(route + "      path_prefix: x\n"), Contains("starts with '/'"));
  CHECK_THAT(ErrorOf("proxy:\n  routes:\n    - {name: a, path_prefix: /, origin: ftp://o}\n"),
             Contains("expected http://host"));
  CHECK_THAT(ErrorOf("proxy:\n  routes:\n    - {name: a, path_prefix: /}\n"),
             Contains("needs an origin"));
  CHECK_THAT(ErrorOf(route + "      path_prefix: /\n      vary_on_auth: maybe\n"),
             Contains("cookie:NAME"));
  CHECK_THAT(ErrorOf(route + "      path_prefix: /\n      cache_methods: [POST]\n"),
             Contains("one of: GET, HEAD"));
  CHECK_THAT(ErrorOf(route + "      path_prefix: /\n      bypass: [{color: red}]\n"),
             Contains("unknown key 'color'"));
  CHECK_THAT(ErrorOf(route + "      path_prefix: /\n      bypass: [{header: a, cookie: b}]\n"),
             Contains("names one of header, cookie, query or path"));
  CHECK_THAT(ErrorOf(route + "      path_prefix: /\n" + "    - {name: a, path_prefix: /, "
                                                          "origin: http://o}\n"),
             Contains("duplicate route name 'a'"));
  CHECK_THAT(ErrorOf("limits: {max_value_bytes: 1MiB}\nproxy:\n  max_cached_body_bytes: 2MiB\n"),
             Contains("at most limits.max_value_bytes"));
}

}  // namespace
}  // namespace tiercache::config
