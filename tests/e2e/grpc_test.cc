// The gRPC front end over real sockets: tiercache.v1.Cache mirrors HTTP (both reach the
// same cache), errors use the documented codes, and the standard health service answers.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_helpers.h"
#include "tests/support/grpc_clients.h"

namespace tiercache::test {
namespace {

namespace v1 = ::tiercache::v1;

class GrpcFixture {
 public:
  GrpcFixture()
      : daemon_(R"(
limits:
  max_key_bytes: 64
  max_value_bytes: 1KiB
)"),
        http_(daemon_.http_port()),
        stub_(MakeCacheStub(daemon_.grpc_target())) {}

 protected:
  grpc::Status Set(const std::string& key, const std::string& value,
                   std::vector<std::string> tags = {}, double ttl = 0) {
    v1::SetRequest req;
    req.set_key(key);
    req.set_value(value);
    req.set_ttl_seconds(ttl);
    for (auto& t : tags) req.add_tags(t);
    v1::SetResponse resp;
    return stub_->Set(MakeContext().get(), req, &resp);
  }

  std::pair<grpc::Status, v1::GetResponse> Get(const std::string& key) {
    v1::GetRequest req;
    req.set_key(key);
    v1::GetResponse resp;
    grpc::Status s = stub_->Get(MakeContext().get(), req, &resp);
    return {s, resp};
  }

  grpc::Status Delete(const std::string& key) {
    v1::DeleteRequest req;
    req.set_key(key);
    v1::DeleteResponse resp;
    return stub_->Delete(MakeContext().get(), req, &resp);
  }

  std::pair<grpc::Status, v1::InvalidateResponse> Invalidate(const v1::InvalidateRequest& req) {
    v1::InvalidateResponse resp;
    grpc::Status s = stub_->Invalidate(MakeContext().get(), req, &resp);
    return {s, resp};
  }

  v1::StatusResponse Status() {
    v1::StatusResponse resp;
    const grpc::Status s = stub_->Status(MakeContext().get(), v1::StatusRequest(), &resp);
    REQUIRE(s.ok());
    return resp;
  }

  DaemonProcess daemon_;
  HttpClient http_;
  std::unique_ptr<v1::Cache::Stub> stub_;
};

std::string AllBytes() {
  std::string value;
  for (int b = 0; b < 256; ++b) value.push_back(static_cast<char>(b));
  return value;
}

TEST_CASE_METHOD(GrpcFixture, "a key set over gRPC is read over HTTP, and the other way round",
                 "[grpc]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  REQUIRE(Set("from-grpc", AllBytes()).ok());
  const HttpResponse get = http_.Get("/v1/keys/from-grpc");
  REQUIRE(get.status == 200);
  CHECK(get.body == AllBytes());
  CHECK(get.Header("X-Cache-Tier") == "L1");

  REQUIRE(http_.Put("/v1/keys/a%2Fb%20c?ttl=100", AllBytes()).status == 204);
  const auto [status, resp] = Get("a/b c");
  REQUIRE(status.ok());
  CHECK(resp.found());
  CHECK(resp.value() == AllBytes());
  CHECK(resp.tier() == "L1");
  CHECK(resp.ttl_seconds() > 0);
  CHECK(resp.ttl_seconds() <= 100);
}

TEST_CASE_METHOD(GrpcFixture,
                 "gRPC Delete removes a key HTTP stored, and HTTP DELETE one gRPC "
                 "stored",
                 "[grpc]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  REQUIRE(http_.Put("/v1/keys/h", "v").status == 204);
  REQUIRE(Set("g", "v").ok());
  CHECK(Delete("h").ok());
  CHECK(http_.Get("/v1/keys/h").status == 404);
  CHECK(http_.Delete("/v1/keys/g").status == 204);
  CHECK_FALSE(Get("g").second.found());
}

TEST_CASE_METHOD(GrpcFixture, "gRPC Invalidate by keys, tags and pattern, counted as over HTTP",
                 "[grpc]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  REQUIRE(http_.Put("/v1/keys/by-key", "v").status == 204);
  REQUIRE(Set("tagged:1", "v", {"group"}).ok());
  REQUIRE(http_.Put("/v1/keys/tagged:2?tags=group", "v").status == 204);
  REQUIRE(Set("user:1:profile", "v").ok());
  REQUIRE(http_.Put("/v1/keys/user:2:profile", "v").status == 204);
  REQUIRE(Set("user:2:settings", "v").ok());

  v1::InvalidateRequest req;
  req.add_keys("by-key");
  req.add_tags("group");
  req.set_pattern("^user:[0-9]+:profile$");
  const auto [status, resp] = Invalidate(req);
  REQUIRE(status.ok());
  CHECK(resp.invalidated() == 5);
  CHECK(resp.by_keys() == 1);
  CHECK(resp.by_tags() == 2);
  CHECK(resp.by_pattern() == 2);
  CHECK(L1Entries(http_) == 1);
  CHECK(http_.Get("/v1/keys/user:2:settings").status == 200);

  // Tags set over HTTP are invalidated over gRPC and vice versa.
  REQUIRE(Set("t:1", "v", {"shared"}).ok());
  const HttpResponse r = http_.PostJson("/v1/invalidate", R"({"tags":["shared"]})");
  REQUIRE(r.status == 200);
  CHECK(nlohmann::json::parse(r.body).at("invalidated") == 1);
  CHECK_FALSE(Get("t:1").second.found());
}

TEST_CASE_METHOD(GrpcFixture, "gRPC Clear and Status agree with HTTP", "[grpc]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  for (int i = 0; i < 10; ++i) REQUIRE(Set("k" + std::to_string(i), "value").ok());
  REQUIRE(http_.Get("/v1/keys/k0").status == 200);
  REQUIRE(http_.Get("/v1/keys/missing").status == 404);

  const v1::StatusResponse status = Status();
  REQUIRE(status.tiers_size() >= 1);
  const v1::TierStatus& l1 = status.tiers(0);
  CHECK(l1.name() == "L1");
  CHECK(l1.state() == "up");
  CHECK(l1.entries() == 10);
  CHECK(l1.hits() == 1);
  CHECK(l1.misses() == 1);
  CHECK_FALSE(status.version().empty());
  const nlohmann::json doc = nlohmann::json::parse(status.json());
  CHECK(doc.at("tiers")[0].at("entries") == 10);
  CHECK(L1Entries(http_) == 10);

  v1::ClearResponse cleared;
  REQUIRE(stub_->Clear(MakeContext().get(), v1::ClearRequest(), &cleared).ok());
  CHECK(cleared.removed() == 10);
  CHECK(L1Entries(http_) == 0);
  CHECK(Status().tiers(0).entries() == 0);

  // And an HTTP clear is seen over gRPC.
  REQUIRE(Set("again", "v").ok());
  const HttpResponse r = http_.Request("POST", "/v1/clear");
  REQUIRE(r.status == 200);
  CHECK(nlohmann::json::parse(r.body).at("removed") == 1);
  CHECK(Status().tiers(0).entries() == 0);
}

TEST_CASE_METHOD(GrpcFixture, "gRPC Get of a missing key is OK with found=false", "[grpc]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  const auto [status, resp] = Get("never-stored");
  CHECK(status.ok());
  CHECK_FALSE(resp.found());
  CHECK(resp.value().empty());
}

TEST_CASE_METHOD(GrpcFixture,
                 "gRPC requests over the limits are INVALID_ARGUMENT and change "
                 "nothing",
                 "[grpc]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  REQUIRE(Set("existing", "old").ok());
  const std::string long_key(65, 'k');

  const grpc::Status big_key = Set(long_key, "v");
  CHECK(big_key.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(big_key.error_message().find("max_key_bytes") != std::string::npos);
  const grpc::Status big_value = Set("existing", std::string(1025, 'v'));
  CHECK(big_value.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(big_value.error_message().find("max_value_bytes") != std::string::npos);
  CHECK(Get(long_key).first.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Delete(long_key).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Set("", "v").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Set("k", "v", {}, -1).error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  const auto [status, resp] = Get("existing");
  REQUIRE(status.ok());
  CHECK(resp.value() == "old");
  CHECK(Status().tiers(0).entries() == 1);
}

TEST_CASE("a gRPC message over max_request_body_bytes is refused and changes nothing", "[grpc]") {
  DaemonProcess daemon(R"(
limits:
  max_value_bytes: 1KiB
  max_request_body_bytes: 4KiB
)");
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  auto stub = MakeCacheStub(daemon.grpc_target());
  v1::SetRequest req;
  req.set_key("big");
  req.set_value(std::string(8000, 'v'));
  v1::SetResponse resp;
  const grpc::Status s = stub->Set(MakeContext().get(), req, &resp);
  CAPTURE(s.error_code(), s.error_message());
  // The transport refuses it before the service sees it: RESOURCE_EXHAUSTED is gRPC's
  // code for a message over the server's receive limit.
  CHECK((s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
         s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED));
  HttpClient http(daemon.http_port());
  CHECK(L1Entries(http) == 0);
  // The channel is still usable.
  req.set_value("small");
  CHECK(stub->Set(MakeContext().get(), req, &resp).ok());
}

TEST_CASE_METHOD(GrpcFixture,
                 "gRPC Invalidate with an invalid pattern is INVALID_ARGUMENT and "
                 "removes nothing",
                 "[grpc]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  REQUIRE(Set("a", "v", {"t"}).ok());
  REQUIRE(Set("b", "v").ok());
  v1::InvalidateRequest req;
  req.add_keys("b");
  req.add_tags("t");
  req.set_pattern("(unclosed");
  const auto [status, resp] = Invalidate(req);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Get("a").second.found());
  CHECK(Get("b").second.found());
}

TEST_CASE_METHOD(GrpcFixture, "gRPC Delete of a missing key is NOT_FOUND", "[grpc]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  CHECK(Delete("never-stored").error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(Set("once", "v").ok());
  CHECK(Delete("once").ok());
  CHECK(Delete("once").error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE_METHOD(GrpcFixture, "the standard gRPC health service answers SERVING", "[grpc]") {
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon_);
  HealthClient health(daemon_.grpc_target());
  const HealthClient::Result overall = health.Check("");
  REQUIRE(overall.status.ok());
  CHECK(overall.serving == grpc::health::v1::HealthCheckResponse::SERVING);
  const HealthClient::Result cache = health.Check("tiercache.v1.Cache");
  REQUIRE(cache.status.ok());
  CHECK(cache.serving == grpc::health::v1::HealthCheckResponse::SERVING);
  CHECK(health.Check("no.such.Service").status.error_code() == grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace tiercache::test
