// Bad HTTP input gets a clear JSON error with a fitting status and changes nothing.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_helpers.h"

namespace tiercache::test {
namespace {

constexpr const char* kSmallLimits = R"(
limits:
  max_key_bytes: 64
  max_value_bytes: 1KiB
  max_request_body_bytes: 4KiB
)";

// A daemon with small limits, holding a few known entries.
class BadInputFixture {
 public:
  BadInputFixture() : daemon_(kSmallLimits), client_(daemon_.http_port()) {
    REQUIRE(client_.Put("/v1/keys/existing?tags=t1", "old value").status == 204);
    REQUIRE(client_.Put("/v1/keys/other", "other value").status == 204);
  }

  // The entries are still exactly the two stored by the constructor, with their values.
  void CheckUnchanged() {
    CHECK(L1Entries(client_) == 2);
    CHECK(client_.Get("/v1/keys/existing").body == "old value");
    CHECK(client_.Get("/v1/keys/other").body == "other value");
  }

 protected:
  DaemonProcess daemon_;
  HttpClient client_;
};

TEST_CASE_METHOD(BadInputFixture, "a key over max_key_bytes is refused with 413 and a JSON error",
                 "[bad-input]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  const std::string long_key(65, 'k');
  const HttpResponse put = client_.Put("/v1/keys/" + long_key, "v");
  CHECK(put.status == 413);
  CHECK(IsJsonError(put));
  const HttpResponse get = client_.Get("/v1/keys/" + long_key);
  CHECK(get.status == 413);
  CHECK(IsJsonError(get));
  CHECK(client_.Delete("/v1/keys/" + long_key).status == 413);
  // The limit counts decoded bytes: 65 bytes, percent-encoded to 195 characters.
  CHECK(client_.Put("/v1/keys/" + PercentEncode(std::string(65, '/')), "v").status == 413);
  CheckUnchanged();

  // At the limit it is accepted.
  CHECK(client_.Put("/v1/keys/" + std::string(64, 'k'), "v").status == 204);
  CHECK(client_.Get("/v1/keys/" + std::string(64, 'k')).status == 200);
}

TEST_CASE_METHOD(BadInputFixture,
                 "a value over max_value_bytes is refused with 413 and the old value stays",
                 "[bad-input]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  const HttpResponse put = client_.Put("/v1/keys/existing", std::string(1025, 'v'));
  CHECK(put.status == 413);
  CHECK(IsJsonError(put));
  CHECK(client_.Put("/v1/keys/new", std::string(1025, 'v')).status == 413);
  CheckUnchanged();
  CHECK(client_.Get("/v1/keys/new").status == 404);

  CHECK(client_.Put("/v1/keys/new", std::string(1024, 'v')).status == 204);
}

TEST_CASE_METHOD(BadInputFixture, "a request body over max_request_body_bytes is refused with 413",
                 "[bad-input]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  const HttpResponse put = client_.Put("/v1/keys/huge", std::string(5000, 'v'));
  CHECK(put.status == 413);
  CHECK(IsJsonError(put));

  const std::string big_json =
      R"({"keys":["existing"],"tags":[")" + std::string(5000, 't') + R"("]})";
  const HttpResponse post = client_.PostJson("/v1/invalidate", big_json);
  CHECK(post.status == 413);
  CHECK(IsJsonError(post));

  CHECK(client_.Get("/v1/keys/huge").status == 404);
  CheckUnchanged();
}

TEST_CASE_METHOD(BadInputFixture, "malformed JSON in an invalidation is a 400 and removes nothing",
                 "[bad-input]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  for (const char* body : {"{", "not json", "", R"({"tags":["t1"])", "[\"t1\"]", R"({"tags":"t1"})",
                           R"({"tags":[1]})", R"({"pattern":5})", R"({"keys":[null]})"}) {
    CAPTURE(body);
    const HttpResponse r = client_.PostJson("/v1/invalidate", body);
    CHECK(r.status == 400);
    CHECK(IsJsonError(r));
  }
  CheckUnchanged();
}

TEST_CASE_METHOD(BadInputFixture,
                 "an invalid regex is a 400 and the keys and tags in the same request stay",
                 "[bad-input]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  for (const char* pattern : {"(unclosed", "[z-a]", "a{2,1}", "*", "(?<name"}) {
    CAPTURE(pattern);
    const nlohmann::json request = {{"keys", {"other"}}, {"tags", {"t1"}}, {"pattern", pattern}};
    const HttpResponse r = client_.PostJson("/v1/invalidate", request.dump());
    CHECK(r.status == 400);
    CHECK(IsJsonError(r));
  }
  CheckUnchanged();
}

TEST_CASE_METHOD(BadInputFixture, "an unknown JSON field in an invalidation is a 400",
                 "[bad-input]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  const HttpResponse r =
      client_.PostJson("/v1/invalidate", R"({"keys":["existing"],"tagz":["t1"]})");
  CHECK(r.status == 400);
  CHECK(IsJsonError(r));
  CHECK(r.body.find("tagz") != std::string::npos);
  CheckUnchanged();
}

TEST_CASE_METHOD(BadInputFixture, "a bad ttl is a 400 and stores nothing", "[bad-input]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  for (const char* ttl : {"abc", "-1", "0", "", "1s", "nan", "inf", "1e99"}) {
    CAPTURE(ttl);
    const HttpResponse r = client_.Put(std::string("/v1/keys/existing?ttl=") + ttl, "new value");
    CHECK(r.status == 400);
    CHECK(IsJsonError(r));
    CHECK(client_.Put(std::string("/v1/keys/fresh?ttl=") + ttl, "v").status == 400);
  }
  CHECK(client_.Get("/v1/keys/fresh").status == 404);
  CheckUnchanged();
}

TEST_CASE_METHOD(BadInputFixture, "an unknown query parameter is a 400 and stores nothing",
                 "[bad-input]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  const HttpResponse r = client_.Put("/v1/keys/existing?colour=red", "new value");
  CHECK(r.status == 400);
  CHECK(IsJsonError(r));
  CHECK(r.body.find("colour") != std::string::npos);
  CHECK(client_.Put("/v1/keys/existing?strategy=fastest", "new value").status == 400);
  CHECK(client_.Put("/v1/keys/existing?tags=a&ttl=10&x=1", "new value").status == 400);
  CheckUnchanged();
}

TEST_CASE_METHOD(BadInputFixture,
                 "an unknown route is a 404 and a wrong method a 405 naming the allowed ones",
                 "[bad-input]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  for (const char* target : {"/", "/v2/keys/existing", "/v1/key/existing", "/v1/statusx"}) {
    CAPTURE(target);
    const HttpResponse r = client_.Get(target);
    CHECK(r.status == 404);
    CHECK(IsJsonError(r));
  }

  // A POST to a key changes it in place and must say how (incr or ttl).
  const HttpResponse post_key = client_.Request("POST", "/v1/keys/existing", "v");
  CHECK(post_key.status == 400);
  CHECK(IsJsonError(post_key));

  const HttpResponse get_invalidate = client_.Get("/v1/invalidate");
  CHECK(get_invalidate.status == 405);
  CHECK(get_invalidate.Header("Allow") == "POST");

  const HttpResponse put_metrics = client_.Put("/metrics", "");
  CHECK(put_metrics.status == 405);
  CHECK(put_metrics.Header("Allow") == "GET");

  const HttpResponse patch = client_.Request("PATCH", "/v1/keys/existing", "v");
  CHECK(patch.status == 405);
  CHECK(IsJsonError(patch));
  const std::string allow = patch.Header("Allow");
  for (const char* method : {"GET", "PUT", "POST", "DELETE"}) {
    CAPTURE(method);
    CHECK(allow.find(method) != std::string::npos);
  }
  CheckUnchanged();
}

TEST_CASE_METHOD(BadInputFixture, "an invalidation that is not JSON is a 415", "[bad-input]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  const HttpResponse r = client_.Request("POST", "/v1/invalidate", R"({"tags":["t1"]})",
                                         {{"Content-Type", "text/plain"}});
  CHECK(r.status == 415);
  CHECK(IsJsonError(r));
  CheckUnchanged();
}

TEST_CASE_METHOD(BadInputFixture, "a malformed HTTP request is a 400 and the server goes on",
                 "[bad-input]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  HttpClient raw(daemon_.http_port());
  const HttpOutcome bad = raw.TryRaw(
      "GET /v1/keys/existing HTTP/1.1\r\nHost: x\r\nContent-Length: "
      "nonsense\r\n\r\n");
  REQUIRE(bad.ok());
  CHECK(bad.response.status == 400);
  CHECK(IsJsonError(bad.response));
  CheckUnchanged();
}

}  // namespace
}  // namespace tiercache::test
