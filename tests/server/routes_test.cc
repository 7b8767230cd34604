#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/cache_service.h"
#include "core/l1_store.h"
#include "server/http_router.h"
#include "server/routes.h"

namespace tiercache::http_api {
namespace {

// The router with every route, over a real facade and store on a fake clock.
class RoutesFixture {
 public:
  RoutesFixture() : RoutesFixture(Limits{}) {}
  explicit RoutesFixture(const Limits& limits)
      : store_(L1Options{}, AdaptiveOptions{}, clock_),
        cache_(store_, 1.0, {}, TierHealthOptions{}, clock_),
        service_(limits, StrategyOptions{}, cache_) {
    RegisterKeyRoutes(router_, service_);
    RegisterAdminRoutes(router_, service_, ready_);
  }

  Response Call(Method method, std::string target, std::string body = {},
                std::string content_type = {}, std::string if_none_match = {}) {
    Request req;
    req.method = method;
    req.target = std::move(target);
    req.body = std::move(body);
    req.content_type = std::move(content_type);
    req.if_none_match = std::move(if_none_match);
    // Over L1 alone every route answers before Handle returns.
    std::optional<Response> response;
    router_.Handle(req, [&](Response r) { response = std::move(r); });
    REQUIRE(response.has_value());
    return std::move(*response);
  }

  static std::string Header(const Response& r, std::string_view name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  }

  static std::string ErrorCode(const Response& r) {
    return nlohmann::json::parse(std::string(r.payload()))["error"]["code"].get<std::string>();
  }

  FakeClock clock_;
  L1Store store_;
  TieredCache cache_;
  CacheService service_;
  std::atomic<bool> ready_{true};
  Router router_;
};

TEST_CASE_METHOD(RoutesFixture, "PutThenGetReturnsTheValueFromL1", "[routes]") {
  CHECK(Call(Method::kPut, "/v1/keys/a", "x").status == 204);
  Response r = Call(Method::kGet, "/v1/keys/a");
  CHECK(r.status == 200);
  CHECK(r.payload() == "x");
  CHECK(Header(r, "X-Cache-Tier") == "L1");
  CHECK(Header(r, "X-Cache-TTL") == "300");
  CHECK(r.content_type == "application/octet-stream");
}

TEST_CASE_METHOD(RoutesFixture, "AGetAnswersWithTheContentTypeThePutGave", "[routes]") {
  CHECK(Call(Method::kPut, "/v1/keys/doc", "{}", "application/json; charset=utf-8").status ==
        204);
  Response r = Call(Method::kGet, "/v1/keys/doc");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json; charset=utf-8");
  // Overwritten without one: none kept.
  CHECK(Call(Method::kPut, "/v1/keys/doc", "x").status == 204);
  CHECK(Call(Method::kGet, "/v1/keys/doc").content_type == "application/octet-stream");

  // One too long to keep is refused, and the entry stays as it was.
  r = Call(Method::kPut, "/v1/keys/doc", "y", "text/" + std::string(300, 'a'));
  CHECK(r.status == 400);
  CHECK(ErrorCode(r) == "invalid_argument");
  CHECK(Call(Method::kGet, "/v1/keys/doc").payload() == "x");
}

TEST_CASE_METHOD(RoutesFixture, "KeysArePercentDecodedAndValuesBinarySafe", "[routes]") {
  const std::string value("\0\x01\xff\r\n", 5);
  CHECK(Call(Method::kPut, "/v1/keys/a%2Fb%20c", value).status == 204);
  CHECK(Call(Method::kGet, "/v1/keys/a%2Fb%20c").payload() == value);
  CHECK(store_.Get("a/b c").has_value());
  CHECK(Call(Method::kGet, "/v1/keys/a%zz").status == 400);
}

TEST_CASE_METHOD(RoutesFixture, "TtlQueryParameterSetsTheLifetime", "[routes]") {
  CHECK(Call(Method::kPut, "/v1/keys/a?ttl=1.5", "x").status == 204);
  CHECK(Header(Call(Method::kGet, "/v1/keys/a"), "X-Cache-TTL") == "2");
  clock_.Advance(std::chrono::milliseconds(1500));
  CHECK(Call(Method::kGet, "/v1/keys/a").status == 404);
}

TEST_CASE_METHOD(RoutesFixture, "BadPutParametersAreRejectedAndStoreNothing", "[routes]") {
  for (const char* target : {"/v1/keys/a?ttl=abc", "/v1/keys/a?ttl=0", "/v1/keys/a?ttl=-1",
                             "/v1/keys/a?ttl=nan", "/v1/keys/a?strategy=lfu",
                             "/v1/keys/a?color=red", "/v1/keys/a?tags=x,,y",
                             "/v1/keys/a?ttl=1e30", "/v1/keys/a?min_ttl=10",
                             "/v1/keys/a?strategy=adaptive&min_ttl=x",
                             "/v1/keys/a?strategy=adaptive&min_ttl=0.5",
                             "/v1/keys/a?strategy=adaptive&min_ttl=1.5",
                             "/v1/keys/a?strategy=adaptive&min_ttl=20&max_ttl=10"}) {
    INFO(target);
    Response r = Call(Method::kPut, target, "x");
    CHECK(r.status == 400);
    CHECK(ErrorCode(r) == "invalid_argument");
  }
  CHECK(store_.Stats().entries == 0);
}

TEST_CASE_METHOD(RoutesFixture, "PutWithIfNoneMatchStarStoresOnlyAnAbsentKey", "[routes]") {
  CHECK(Call(Method::kPut, "/v1/keys/a?ttl=60&tags=t", "first", "text/plain", "*").status ==
        204);
  Response r = Call(Method::kPut, "/v1/keys/a", "second", "", "*");
  CHECK(r.status == 412);
  CHECK(ErrorCode(r) == "exists");
  r = Call(Method::kGet, "/v1/keys/a");
  CHECK(r.payload() == "first");
  CHECK(r.content_type == "text/plain");
  CHECK(Header(r, "X-Cache-TTL") == "60");
  CHECK(store_.Inspect("a")->tags == std::vector<std::string>{"t"});
  // Only the wildcard means "absent"; a value has no entity tag to compare.
  CHECK(Call(Method::kPut, "/v1/keys/b", "x", "", "\"abc\"").status == 400);
  CHECK(Call(Method::kPut, "/v1/keys/b?strategy=adaptive", "x", "", "*").status == 400);
  CHECK(Call(Method::kPut, "/v1/keys/b?min_ttl=5", "x", "", "*").status == 400);
  CHECK_FALSE(store_.Get("b").has_value());
}

TEST_CASE_METHOD(RoutesFixture, "PostIncrAddsToTheIntegerAndKeepsTheEntrysType", "[routes]") {
  Response r = Call(Method::kPost, "/v1/keys/n?incr=5");
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(std::string(r.payload()))["value"] == 5);
  CHECK(Call(Method::kPut, "/v1/keys/m", "41", "application/json").status == 204);
  r = Call(Method::kPost, "/v1/keys/m?incr=-43");
  CHECK(nlohmann::json::parse(std::string(r.payload()))["value"] == -2);
  CHECK(Call(Method::kGet, "/v1/keys/m").content_type == "application/json");
  CHECK(Call(Method::kPut, "/v1/keys/s", "abc").status == 204);
  for (const char* target : {"/v1/keys/s?incr=1", "/v1/keys/n?incr=x", "/v1/keys/n?incr=",
                             "/v1/keys/n", "/v1/keys/n?incr=1&ttl=3"}) {
    INFO(target);
    CHECK(Call(Method::kPost, target).status == 400);
  }
  CHECK(Call(Method::kGet, "/v1/keys/s").payload() == "abc");
  CHECK(Call(Method::kGet, "/v1/keys/n").payload() == "5");
}

TEST_CASE_METHOD(RoutesFixture, "PostTtlGivesALiveEntryANewLifetimeAndKeepsTheRest", "[routes]") {
  CHECK(Call(Method::kPut, "/v1/keys/a?ttl=10&tags=t", "x", "text/plain").status == 204);
  CHECK(Call(Method::kPost, "/v1/keys/a?ttl=1000").status == 204);
  Response r = Call(Method::kGet, "/v1/keys/a");
  CHECK(Header(r, "X-Cache-TTL") == "1000");
  CHECK(r.content_type == "text/plain");
  CHECK(store_.Inspect("a")->tags == std::vector<std::string>{"t"});
  clock_.Advance(std::chrono::seconds(11));
  CHECK(Call(Method::kGet, "/v1/keys/a").status == 200);
  CHECK(Call(Method::kPost, "/v1/keys/absent?ttl=5").status == 404);
  CHECK_FALSE(store_.Get("absent").has_value());
  CHECK(Call(Method::kPost, "/v1/keys/a?ttl=0").status == 400);
}

TEST_CASE_METHOD(RoutesFixture, "AnAdaptiveEntryMovesWithinTheBoundsItWasStoredWith",
                 "[routes]") {
  // The configured bounds are 60 s and 3600 s; this entry's are 10 s and 20 s.
  CHECK(Call(Method::kPut, "/v1/keys/a?strategy=adaptive&ttl=15&min_ttl=10&max_ttl=20", "x")
            .status == 204);
  CHECK(Header(Call(Method::kGet, "/v1/keys/a"), "X-Cache-TTL") == "10");  // a first read
  for (int i = 0; i < 50; ++i) Call(Method::kGet, "/v1/keys/a");
  CHECK(Header(Call(Method::kGet, "/v1/keys/a"), "X-Cache-TTL") == "20");  // hot: the ceiling
  clock_.Advance(std::chrono::seconds(21));
  CHECK(Call(Method::kGet, "/v1/keys/a").status == 404);
}

TEST_CASE_METHOD(RoutesFixture, "MgetAnswersEveryKeyInOrderWithMissesAsNull", "[routes]") {
  CHECK(Call(Method::kPut, "/v1/keys/a?ttl=60", std::string("\0\xff\x01", 3)).status == 204);
  CHECK(Call(Method::kPut, "/v1/keys/b", "hello", "text/plain").status == 204);
  Response r = Call(Method::kPost, "/v1/mget", R"({"keys": ["b", "none", "a"]})");
  REQUIRE(r.status == 200);
  const auto entries = nlohmann::json::parse(std::string(r.payload()))["entries"];
  REQUIRE(entries.size() == 3);
  CHECK(entries[0]["value"] == "aGVsbG8=");
  CHECK(entries[0]["content_type"] == "text/plain");
  CHECK(entries[0]["tier"] == "L1");
  CHECK(entries[1].is_null());
  CHECK(entries[2]["value"] == "AP8B");
  CHECK(entries[2]["content_type"] == "application/octet-stream");
  CHECK(entries[2]["ttl"] == 60);
  CHECK(nlohmann::json::parse(std::string(Call(Method::kPost, "/v1/mget",
                                               R"({"keys": []})").payload()))["entries"]
            .empty());
}

TEST_CASE("MgetRefusesBadRequestsWhole", "[routes]") {
  Limits limits;
  limits.max_keys_per_request = 2;
  RoutesFixture f(limits);
  CHECK(f.Call(Method::kPost, "/v1/mget", R"({"keys": ["a", "b", "c"]})").status == 413);
  CHECK(f.Call(Method::kPost, "/v1/mget", R"({"keys": [1]})").status == 400);
  CHECK(f.Call(Method::kPost, "/v1/mget", R"({"keys": "a"})").status == 400);
  CHECK(f.Call(Method::kPost, "/v1/mget", R"({"keys": [], "x": 1})").status == 400);
  CHECK(f.Call(Method::kPost, "/v1/mget", "[").status == 400);
  // A bad key anywhere refuses the request before any key is read.
  const std::string long_key(2000, 'k');
  CHECK(f.Call(Method::kPost, "/v1/mget", R"({"keys": ["a", ")" + long_key + R"("]})").status ==
        413);
  CHECK(f.Call(Method::kPost, "/v1/mget", R"({"keys": ["a", ""]})").status == 400);
  CHECK(f.store_.Stats().misses == 0);
}

TEST_CASE("MgetRefusesAnAnswerOverTheBodyLimit", "[routes]") {
  Limits limits;
  limits.max_request_body_bytes = 1000;
  RoutesFixture f(limits);
  CHECK(f.Call(Method::kPut, "/v1/keys/a", std::string(600, 'a')).status == 204);
  CHECK(f.Call(Method::kPut, "/v1/keys/b", std::string(600, 'b')).status == 204);
  CHECK(f.Call(Method::kPost, "/v1/mget", R"({"keys": ["a"]})").status == 200);
  Response r = f.Call(Method::kPost, "/v1/mget", R"({"keys": ["a", "b"]})");
  CHECK(r.status == 413);
  CHECK(RoutesFixture::ErrorCode(r) == "too_large");
}

TEST_CASE_METHOD(RoutesFixture, "TagsInThePutAreInvalidatedTogether", "[routes]") {
  Call(Method::kPut, "/v1/keys/u1?tags=user,profile", "1");
  Call(Method::kPut, "/v1/keys/u2?tags=user", "2");
  Call(Method::kPut, "/v1/keys/other", "3");
  Response r = Call(Method::kPost, "/v1/invalidate", R"({"tags":["user"]})", "application/json");
  CHECK(r.status == 200);
  auto body = nlohmann::json::parse(std::string(r.payload()));
  CHECK(body["invalidated"] == 2);
  CHECK(body["by_tags"] == 2);
  CHECK(Call(Method::kGet, "/v1/keys/other").status == 200);
}

TEST_CASE_METHOD(RoutesFixture, "InvalidateCombinesKeysTagsAndPattern", "[routes]") {
  Call(Method::kPut, "/v1/keys/k1", "1");
  Call(Method::kPut, "/v1/keys/k2?tags=t", "2");
  Call(Method::kPut, "/v1/keys/user:1:profile", "3");
  Call(Method::kPut, "/v1/keys/user:1:settings", "4");
  Response r = Call(Method::kPost, "/v1/invalidate",
                    R"({"keys":["k1"],"tags":["t"],"pattern":"^user:[0-9]+:profile$"})");
  auto body = nlohmann::json::parse(std::string(r.payload()));
  CHECK(body["invalidated"] == 3);
  CHECK(body["by_keys"] == 1);
  CHECK(body["by_pattern"] == 1);
  CHECK(Call(Method::kGet, "/v1/keys/user:1:settings").status == 200);
}

TEST_CASE_METHOD(RoutesFixture, "MalformedInvalidationsChangeNothing", "[routes]") {
  Call(Method::kPut, "/v1/keys/k1?tags=t", "1");
  struct Case {
    std::string body;
    unsigned status;
    std::string code;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"keys":["k1"],)", 400, "malformed_json"},
           {R"([1,2])", 400, "malformed_json"},
           {R"({"keys":["k1"],"pattern":"(a+"})", 400, "invalid_argument"},
           {R"({"tags":["t"],"colour":1})", 400, "invalid_argument"},
           {R"({"keys":"k1"})", 400, "invalid_argument"},
           {R"({"keys":[1]})", 400, "invalid_argument"},
           {R"({})", 400, "invalid_argument"},
           {R"({"tags":["t"],"event":"save"})", 400, "invalid_argument"},
           {R"({"model":"auth.User","instance_id":7})", 404, "unknown_model"},
       }) {
    INFO(c.body);
    Response r = Call(Method::kPost, "/v1/invalidate", c.body);
    CHECK(r.status == c.status);
    CHECK(ErrorCode(r) == c.code);
  }
  CHECK(Call(Method::kGet, "/v1/keys/k1").status == 200);
}

TEST_CASE_METHOD(RoutesFixture, "NonJsonContentTypeIs415", "[routes]") {
  Response r = Call(Method::kPost, "/v1/invalidate", R"({"keys":["a"]})", "text/plain");
  CHECK(r.status == 415);
  CHECK(Call(Method::kPost, "/v1/invalidate", R"({"keys":["a"]})",
             "application/json; charset=utf-8").status == 200);
}

TEST_CASE("OversizedKeyOrValueIs413WithJsonError", "[routes]") {
  Limits limits;
  limits.max_key_bytes = 8;
  limits.max_value_bytes = 4;
  RoutesFixture f(limits);
  Response r = f.Call(Method::kPut, "/v1/keys/123456789", "x");
  CHECK(r.status == 413);
  CHECK(RoutesFixture::ErrorCode(r) == "too_large");
  CHECK(f.Call(Method::kPut, "/v1/keys/k", "12345").status == 413);
  CHECK(f.Call(Method::kGet, "/v1/keys/123456789").status == 413);
  CHECK(f.store_.Stats().entries == 0);
}

TEST_CASE_METHOD(RoutesFixture, "DeleteAnswers204ThenMissing404", "[routes]") {
  Call(Method::kPut, "/v1/keys/a", "x");
  CHECK(Call(Method::kDelete, "/v1/keys/a").status == 204);
  Response r = Call(Method::kDelete, "/v1/keys/a");
  CHECK(r.status == 404);
  CHECK(ErrorCode(r) == "not_found");
}

TEST_CASE_METHOD(RoutesFixture, "UnknownRouteIs404AndWrongMethodIs405WithAllow", "[routes]") {
  CHECK(Call(Method::kGet, "/v2/nothing").status == 404);
  Response r = Call(Method::kPost, "/v1/status");
  CHECK(r.status == 405);
  CHECK(Header(r, "Allow") == "GET");
  CHECK(Call(Method::kGet, "/v1/clear").status == 405);
}

TEST_CASE_METHOD(RoutesFixture, "ClearReportsRemovedEntries", "[routes]") {
  Call(Method::kPut, "/v1/keys/a", "x");
  Call(Method::kPut, "/v1/keys/b", "y");
  Response r = Call(Method::kPost, "/v1/clear");
  CHECK(nlohmann::json::parse(std::string(r.payload()))["removed"] == 2);
  CHECK(store_.Stats().entries == 0);
}

TEST_CASE_METHOD(RoutesFixture, "StatusReportsL1Counters", "[routes]") {
  Call(Method::kPut, "/v1/keys/a", "x");
  Call(Method::kGet, "/v1/keys/a");
  Call(Method::kGet, "/v1/keys/missing");
  auto doc = nlohmann::json::parse(std::string(Call(Method::kGet, "/v1/status").payload()));
  const auto& l1 = doc["tiers"][0];
  CHECK(l1["name"] == "L1");
  CHECK(l1["entries"] == 1);
  CHECK(l1["hits"] == 1);
  CHECK(l1["misses"] == 1);
  CHECK(l1["hit_rate"] == 0.5);
}

TEST_CASE_METHOD(RoutesFixture, "MetricsCountRequestsByOutcome", "[routes]") {
  Call(Method::kPut, "/v1/keys/a", "x");
  Call(Method::kGet, "/v1/keys/a");
  Call(Method::kGet, "/v1/keys/a");
  Call(Method::kGet, "/v1/keys/b");
  Response r = Call(Method::kGet, "/metrics");
  const std::string text(r.payload());
  CHECK(r.content_type.starts_with("text/plain; version=0.0.4"));
  CHECK(text.find("tiercache_requests_total{frontend=\"http\",operation=\"get\",outcome=\"hit\"} 2\n") !=
        std::string::npos);
  CHECK(text.find("tiercache_requests_total{frontend=\"http\",operation=\"get\",outcome=\"miss\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("tiercache_l1_entries 1\n") != std::string::npos);
}

TEST_CASE_METHOD(RoutesFixture, "ReadinessFollowsTheReadyFlag", "[routes]") {
  CHECK(Call(Method::kGet, "/readyz").status == 200);
  ready_ = false;
  CHECK(Call(Method::kGet, "/readyz").status == 503);
  CHECK(Call(Method::kGet, "/healthz").status == 200);
}

}  // namespace
}  // namespace tiercache::http_api
