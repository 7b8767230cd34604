// Unit tests of the pieces the caching proxy is made of: SHA-256, header fields and
// Cache-Control, HTTP dates, the stored response format, and how a route builds keys,
// tests conditions and fills tag templates.

#include <catch2/catch.hpp>

#include <string>

#include "core/http_headers.h"
#include "core/proxy_route.h"
#include "core/sha256.h"
#include "core/stored_response.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;

TEST_CASE("Sha256: MatchesTheStandardTestVectors", "[proxy]") {
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // One block exactly, and a tail that needs a second padding block.
  CHECK(Sha256Hex(std::string(64, 'a')) ==
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
  CHECK(Sha256Hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK(Sha256Hex("abc", 4) == "ba7816bf");
}

TEST_CASE("CacheControl: ReadsTheDirectivesAndKeepsTheStricterOfTwo", "[proxy]") {
  const CacheControl cc =
      ParseCacheControl("public, max-age=60, s-maxage=\"30\", MAX-AGE=10, no-cache=\"a, b\", "
                        "stale-while-revalidate=5, stale-if-error=x");
  CHECK(cc.is_public);
  CHECK(cc.no_cache);
  CHECK(*cc.max_age == 10);
  CHECK(*cc.s_maxage == 30);
  CHECK(*cc.stale_while_revalidate == 5);
  CHECK(*cc.stale_if_error == 0);  // not a number: counts as stale
  CHECK_FALSE(cc.no_store);
  const CacheControl other = ParseCacheControl("private,no-store,must-revalidate");
  CHECK(other.is_private);
  CHECK(other.no_store);
  CHECK(other.must_revalidate);
  CHECK_FALSE(other.max_age.has_value());
  CHECK(*ParseCacheControl("max-age=99999999999999").max_age == int64_t{1} << 31);
}

TEST_CASE("HttpDate: ReadsAllThreeFormsAndWritesImfFixdate", "[proxy]") {
  const auto expected = std::chrono::system_clock::from_time_t(784111777);
  CHECK(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT") == expected);
  CHECK(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT") == expected);
  CHECK(ParseHttpDate("Sun Nov  6 08:49:37 1994") == expected);
  CHECK_FALSE(ParseHttpDate("0").has_value());
  CHECK_FALSE(ParseHttpDate("Sun, 06 Foo 1994 08:49:37 GMT").has_value());
  CHECK_FALSE(ParseHttpDate("Sun, 06 Nov 1994 28:49:37 GMT").has_value());
  CHECK(FormatHttpDate(expected) == "Sun, 06 Nov 1994 08:49:37 GMT");
  // Far in the future is far in the future, not an overflow into the past.
  const auto far = ParseHttpDate("Fri, 31 Dec 9999 23:59:59 GMT");
  REQUIRE(far.has_value());
  CHECK(*far > std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 100));
}

TEST_CASE("Headers: HopByHopFieldsAndThoseConnectionNamesGo", "[proxy]") {
  HeaderList h = {{"Connection", "keep-alive, X-Private"}, {"X-Private", "1"},
                  {"Transfer-Encoding", "chunked"}, {"Content-Length", "5"},
                  {"ETag", "\"a\""}, {"vary", "Accept"}, {"Vary", "Cookie"}};
  CHECK(CombinedHeader(h, "VARY") == "Accept, Cookie");
  RemoveHopByHop(h);
  REQUIRE(h.size() == 3);
  CHECK(h[0].first == "ETag");
  CHECK(SplitList(" a, ,b ,c") == std::vector<std::string_view>{"a", "b", "c"});
}

TEST_CASE("StoredResponse: RoundTripsAndRefusesBytesThatAreNotOne", "[proxy]") {
  StoredResponse r;
  r.status = 203;
  r.headers = {{"Content-Type", "text/html"}, {"ETag", "\"x\""}};
  r.vary = {{"accept-language", "fr"}};
  r.received = WallTime(std::chrono::milliseconds(1'700'000'000'123));
  r.initial_age = 2s;
  r.freshness = 60s;
  r.stale_if_error = 300s;
  r.must_revalidate = true;
  const std::string bytes = EncodeStoredResponse(r, "<p>body</p>");
  auto decoded = DecodeStoredResponse(bytes);
  REQUIRE(decoded.ok());
  CHECK(decoded->response.status == 203);
  CHECK(decoded->response.headers == r.headers);
  CHECK(decoded->response.vary == r.vary);
  CHECK(decoded->response.received == r.received);
  CHECK(decoded->response.freshness == 60s);
  CHECK(decoded->response.stale_if_error == 300s);
  CHECK(decoded->response.must_revalidate);
  CHECK_FALSE(decoded->response.no_cache);
  CHECK(bytes.substr(decoded->body_offset) == "<p>body</p>");
  CHECK(decoded->response.AgeAt(r.received + 10s) == 12s);

  CHECK_FALSE(DecodeStoredResponse("plain value").ok());
  // A field that would end a line on the wire: refused, however it got into the tiers.
  StoredResponse split = r;
  split.headers = {{"X-A", "1\r\nSet-Cookie: evil=1"}};
  CHECK_FALSE(DecodeStoredResponse(EncodeStoredResponse(split, "")).ok());
  for (size_t cut = 0; cut < bytes.size() - 11; ++cut) {
    INFO("cut at " << cut);
    CHECK_FALSE(DecodeStoredResponse(bytes.substr(0, cut)).ok());
  }
  std::string lying = bytes.substr(0, 4) + std::string(1, '\x01') + std::string(1, '\0') +
                      "\xc8\x01" + std::string(6, '\0') + "\xff\xff\xff\x0f";
  CHECK_FALSE(DecodeStoredResponse(lying).ok());
}

ProxyRoute Route() {
  ProxyRoute r;
  r.name = "app";
  r.key_prefix = "proxy:app:";
  r.path_prefix = "/";
  return r;
}

ProxyRequest Get(std::string target, HeaderList headers = {}) {
  return ProxyRequest{"GET", std::move(target), std::move(headers), "", ""};
}

TEST_CASE("ProxyRoute: TheKeyIgnoresTheOrderOfQueryParameters", "[proxy]") {
  ProxyRoute route = Route();
  CHECK(ResponseKey(route, Get("/list?b=2&a=1")) == "proxy:app:/list?a=1&b=2");
  CHECK(ResponseKey(route, Get("/list?a=1&b=2")) == ResponseKey(route, Get("/list?b=2&a=1")));
  CHECK(ResponseKey(route, Get("/list")) == "proxy:app:/list");
  route.vary_params = VaryParams::kNone;
  CHECK(ResponseKey(route, Get("/list?b=2")) == "proxy:app:/list");
  route.vary_params = VaryParams::kList;
  route.vary_param_names = {"page"};
  CHECK(ResponseKey(route, Get("/list?utm=x&page=2")) == "proxy:app:/list?page=2");
}

TEST_CASE("ProxyRoute: VariedFieldsAndCredentialsMakeDistinctKeys", "[proxy]") {
  ProxyRoute route = Route();
  route.vary_on = {"accept-language"};
  const std::string en = ResponseKey(route, Get("/", {{"Accept-Language", "en"}}));
  const std::string fr = ResponseKey(route, Get("/", {{"accept-language", "fr"}}));
  CHECK(en != fr);
  CHECK(en.starts_with("proxy:app:/#"));
  CHECK(ResponseKey(route, Get("/", {{"Accept-Language", "en"}})) == en);
  route.vary_on_auth = "cookie:sessionid";
  const std::string alice = ResponseKey(route, Get("/", {{"Cookie", "a=1; sessionid=alice"}}));
  const std::string bob = ResponseKey(route, Get("/", {{"Cookie", "sessionid=bob"}}));
  const std::string anonymous = ResponseKey(route, Get("/"));
  const std::string empty = ResponseKey(route, Get("/", {{"Cookie", "sessionid="}}));
  CHECK(alice != bob);
  CHECK(anonymous != empty);  // no credential is not an empty one
  CHECK(alice.find("alice") == std::string::npos);  // hashed, never in the key
}

TEST_CASE("ProxyRoute: AHostPassedToTheOriginIsPartOfTheKey", "[proxy]") {
  ProxyRoute route = Route();
  CHECK(ResponseKey(route, Get("/", {{"Host", "example.com"}})) == "proxy:app:/");
  route.pass_host = true;
  const std::string site = ResponseKey(route, Get("/", {{"Host", "example.com"}}));
  const std::string other = ResponseKey(route, Get("/", {{"Host", "evil.example"}}));
  CHECK(site != other);
  CHECK(site.starts_with("proxy:app:/#"));
}

TEST_CASE("ProxyRoute: ConditionsTestHeadersCookiesQueriesAndPaths", "[proxy]") {
  const auto re = [](const char* p) { return *PathPattern::Compile(p); };
  const ProxyRequest r = Get("/admin/x?debug=1", {{"X-Staff", "yes"}, {"Cookie", "role=editor"}});
  CHECK(ConditionHolds({ProxyCondition::Subject::kHeader, "x-staff", nullptr, ""}, r));
  CHECK_FALSE(ConditionHolds({ProxyCondition::Subject::kHeader, "x-none", nullptr, ""}, r));
  CHECK(ConditionHolds({ProxyCondition::Subject::kCookie, "role", re("^edit"), ""}, r));
  CHECK_FALSE(ConditionHolds({ProxyCondition::Subject::kCookie, "role", re("^admin$"), ""}, r));
  CHECK(ConditionHolds({ProxyCondition::Subject::kQuery, "debug", nullptr, ""}, r));
  CHECK(ConditionHolds({ProxyCondition::Subject::kPath, "", re("^/admin/"), ""}, r));
  CHECK_FALSE(PathPattern::Compile("(").ok());
}

TEST_CASE("ProxyRoute: TagTemplatesTakeThePathsGroups", "[proxy]") {
  ProxyRoute route = Route();
  route.path_pattern = *PathPattern::Compile(R"(^/users/(?P<id>\d+)/posts/(\d+)$)");
  route.tags = {"user:{id}", "post:{2}", "page:{path}", "bad:{9}", "also:{missing}"};
  PathCaptures captures;
  REQUIRE(route.path_pattern->Capture("/users/7/posts/42", captures));
  CHECK(RouteTags(route, "/users/7/posts/42", captures) ==
        std::vector<std::string>{"user:7", "post:42", "page:/users/7/posts/42"});
  CHECK(UrlTag(route, "/a") == UrlTag(route, "/a"));
  CHECK(UrlTag(route, "/a") != UrlTag(route, "/b"));
}

}  // namespace
}  // namespace tiercache
