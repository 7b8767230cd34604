#include "tiers/http/http_warm_source.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <limits>
#include <mutex>
#include <thread>

#include "tests/support/process.h"
#include "tests/support/test_origin.h"

namespace tiercache {
namespace {

using std::chrono::milliseconds;
using test::OriginReply;
using test::TestOrigin;

// Records what a run produced. Put refuses entries once `accept` of them were stored.
class FakeSink final : public WarmSink {
 public:
  struct Failure {
    std::string what;
    Status why;
  };

  bool Put(WarmEntry entry) override {
    std::lock_guard lock(mu_);
    entries.push_back(std::move(entry));
    return entries.size() < accept;
  }
  void Attempted(uint64_t n) override { attempted += n; }
  void Failed(std::string_view what, const Status& why) override {
    std::lock_guard lock(mu_);
    failures.push_back({std::string(what), why});
  }
  bool cancelled() const override { return cancel.load(); }

  const WarmEntry* Find(std::string_view key) const {
    for (const WarmEntry& e : entries) {
      if (e.key == key) return &e;
    }
    return nullptr;
  }

  size_t accept = std::numeric_limits<size_t>::max();
  std::atomic<bool> cancel{false};
  std::atomic<uint64_t> attempted{0};
  std::vector<WarmEntry> entries;
  std::vector<Failure> failures;

 private:
  std::mutex mu_;
};

HttpWarmEndpoint Endpoint(std::string path) {
  HttpWarmEndpoint e;
  e.path = std::move(path);
  return e;
}

// Options against `base_url` with waits short enough for tests.
HttpWarmOptions Options(std::string base_url, std::vector<HttpWarmEndpoint> endpoints) {
  HttpWarmOptions o;
  o.base_url = std::move(base_url);
  o.endpoints = std::move(endpoints);
  o.backoff = milliseconds(1);
  o.timeout = std::chrono::seconds(5);
  return o;
}

std::unique_ptr<WarmSource> Make(HttpWarmOptions options) {
  auto source = MakeHttpWarmSource(std::move(options));
  INFO(source.status().message());
  REQUIRE(source.ok());
  return std::move(*source);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST_CASE("HttpWarm StoresSuccessfulBodiesUnderKeyTemplateWithTags") {
  TestOrigin origin;
  origin.Serve("/a", {200, "alpha"});
  origin.Serve("/b?x=1", {201, R"({"b":1})", "application/json"});
  HttpWarmEndpoint b = Endpoint("/b?x=1");
  b.name = "bee";
  b.key = "view:{name}";
  b.tags = {"views", "name:{name}", "path:{path}"};
  b.method = "POST";
  b.headers = {{"Accept", "application/json"}, {"X-Warm", "1"}};
  HttpWarmOptions options = Options(origin.base_url(), {Endpoint("/a"), b});
  options.ttl = std::chrono::seconds(30);

  FakeSink sink;
  REQUIRE(Make(options)->Run(sink).ok());

  CHECK(sink.attempted.load() == 2);
  CHECK(sink.failures.empty());
  REQUIRE(sink.entries.size() == 2);
  const WarmEntry* a = sink.Find("http:/a");
  REQUIRE(a != nullptr);
  CHECK(a->value == "alpha");
  CHECK(a->tags.empty());
  CHECK(a->ttl == std::chrono::seconds(30));
  CHECK(a->content_type == "text/plain");  // the origin's, kept with the body
  const WarmEntry* bee = sink.Find("view:bee");
  REQUIRE(bee != nullptr);
  CHECK(bee->value == R"({"b":1})");
  CHECK(bee->content_type == "application/json");
  CHECK(bee->tags == std::vector<std::string>{"views", "name:bee", "path:/b?x=1"});
  CHECK(origin.last_method("/b?x=1") == "POST");
  CHECK(origin.last_header("/b?x=1", "x-warm") == "1");
  CHECK(origin.last_header("/b?x=1", "Accept") == "application/json");
  CHECK(origin.last_header("/a", "Host") == "127.0.0.1:" + std::to_string(origin.port()));
  CHECK(origin.last_header("/a", "User-Agent").rfind("tiercache/", 0) == 0);
}

TEST_CASE("HttpWarm PrefixOfBaseUrlGoesBeforeEveryPath") {
  TestOrigin origin;
  origin.Serve("/app/a", {200, "prefixed"});
  FakeSink sink;
  REQUIRE(Make(Options(origin.base_url() + "/app/", {Endpoint("/a")}))->Run(sink).ok());
  REQUIRE(sink.entries.size() == 1);
  CHECK(sink.entries[0].key == "http:/a");  // {path} is the path as written
  CHECK(sink.entries[0].value == "prefixed");
}

TEST_CASE("HttpWarm ServerErrorIsRetriedMaxAttemptsThenCountedAsFailure") {
  TestOrigin origin;
  origin.Serve("/err", {500, "boom"});
  origin.Serve("/ok", {200, "fine"});
  HttpWarmOptions options = Options(origin.base_url(), {Endpoint("/err"), Endpoint("/ok")});
  options.max_attempts = 3;

  FakeSink sink;
  REQUIRE(Make(options)->Run(sink).ok());

  CHECK(origin.requests("/err") == 3);
  CHECK(sink.attempted.load() == 2);
  REQUIRE(sink.failures.size() == 1);
  CHECK(sink.failures[0].what == "/err");
  CHECK(sink.failures[0].why.code() == StatusCode::kUnavailable);
  CHECK_THAT(sink.failures[0].why.message(), Catch::Contains("HTTP 500"));
  CHECK_THAT(sink.failures[0].why.message(), Catch::Contains("3 attempts"));
  REQUIRE(sink.entries.size() == 1);
  CHECK(sink.entries[0].key == "http:/ok");
}

TEST_CASE("HttpWarm ClientErrorIsNotRetried") {
  TestOrigin origin;  // /missing is not configured: 404
  origin.Serve("/forbidden", {403, "no"});
  HttpWarmOptions options =
      Options(origin.base_url(), {Endpoint("/missing"), Endpoint("/forbidden")});
  options.max_attempts = 5;

  FakeSink sink;
  REQUIRE(Make(options)->Run(sink).ok());

  CHECK(origin.requests("/missing") == 1);
  CHECK(origin.requests("/forbidden") == 1);
  CHECK(sink.entries.empty());
  REQUIRE(sink.failures.size() == 2);
  CHECK(sink.failures[0].why.code() == StatusCode::kNotFound);
  CHECK_THAT(sink.failures[0].why.message(), Catch::Contains("HTTP 404"));
  CHECK(sink.failures[1].why.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(sink.failures[1].why.message(), Catch::Contains("HTTP 403"));
}

TEST_CASE("HttpWarm TransientFailuresAreRetriedWithDoublingBackoff") {
  TestOrigin origin;
  origin.Serve("/flaky", {200, "finally"});
  origin.FailFirst("/flaky", 2, 503);
  HttpWarmOptions options = Options(origin.base_url(), {Endpoint("/flaky")});
  options.max_attempts = 3;
  options.backoff = milliseconds(100);

  FakeSink sink;
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(Make(options)->Run(sink).ok());
  const double elapsed = SecondsSince(start);

  CHECK(origin.requests("/flaky") == 3);
  CHECK(sink.failures.empty());
  REQUIRE(sink.entries.size() == 1);
  CHECK(sink.entries[0].value == "finally");
  CHECK(elapsed >= 0.29);  // 100 ms, then 200 ms
  CHECK(elapsed < 3.0);
}

TEST_CASE("HttpWarm SlowEndpointFailsWithinTimeout") {
  TestOrigin origin;
  origin.Serve("/slow", {200, "late", "text/plain", milliseconds(5000)});
  origin.Serve("/fast", {200, "quick"});
  HttpWarmOptions options = Options(origin.base_url(), {Endpoint("/slow"), Endpoint("/fast")});
  options.timeout = milliseconds(200);
  options.max_attempts = 2;
  options.backoff = milliseconds(10);

  FakeSink sink;
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(Make(options)->Run(sink).ok());
  const double elapsed = SecondsSince(start);

  CHECK(elapsed >= 0.39);  // two attempts of 200 ms
  CHECK(elapsed < 2.0);
  CHECK(origin.requests("/slow") == 2);
  REQUIRE(sink.failures.size() == 1);
  CHECK(sink.failures[0].what == "/slow");
  CHECK(sink.failures[0].why.code() == StatusCode::kDeadlineExceeded);
  REQUIRE(sink.entries.size() == 1);  // the next endpoint gets a fresh connection
  CHECK(sink.entries[0].value == "quick");
}

TEST_CASE("HttpWarm OversizedBodyFailsAndIsNotStored") {
  TestOrigin origin;
  origin.Serve("/big", {200, std::string(4096, 'x')});
  origin.Serve("/big-chunked", {200, std::string(4096, 'z'), "text/plain", {}, true});
  origin.Serve("/small", {200, std::string(1024, 'y')});
  HttpWarmOptions options = Options(
      origin.base_url(), {Endpoint("/big"), Endpoint("/big-chunked"), Endpoint("/small")});
  options.max_body_bytes = 1024;

  FakeSink sink;
  REQUIRE(Make(options)->Run(sink).ok());

  CHECK(origin.requests("/big") == 1);  // not retried: it would not shrink
  CHECK(origin.requests("/big-chunked") == 1);
  REQUIRE(sink.failures.size() == 2);
  CHECK(sink.failures[0].what == "/big");
  CHECK(sink.failures[0].why.code() == StatusCode::kTooLarge);
  CHECK(sink.failures[1].what == "/big-chunked");
  CHECK(sink.failures[1].why.code() == StatusCode::kTooLarge);
  REQUIRE(sink.entries.size() == 1);
  CHECK(sink.entries[0].key == "http:/small");
  CHECK(sink.entries[0].value.size() == 1024);
}

TEST_CASE("HttpWarm RefusedPutStopsTheRun") {
  TestOrigin origin;
  origin.Serve("/1", {200, "one"});
  origin.Serve("/2", {200, "two"});
  origin.Serve("/3", {200, "three"});
  FakeSink sink;
  sink.accept = 1;

  REQUIRE(Make(Options(origin.base_url(), {Endpoint("/1"), Endpoint("/2"), Endpoint("/3")}))
              ->Run(sink)
              .ok());

  CHECK(sink.entries.size() == 1);
  CHECK(origin.requests("/2") == 0);
  CHECK(origin.requests("/3") == 0);
}

TEST_CASE("HttpWarm CancelledSinkStopsTheRun") {
  TestOrigin origin;
  origin.Serve("/slow", {200, "late", "text/plain", milliseconds(5000)});
  origin.Serve("/after", {200, "after"});
  auto source = Make(Options(origin.base_url(), {Endpoint("/slow"), Endpoint("/after")}));

  SECTION("before it starts") {
    FakeSink sink;
    sink.cancel = true;
    REQUIRE(source->Run(sink).ok());
    CHECK(sink.attempted.load() == 0);
    CHECK(origin.requests("/slow") == 0);
  }
  SECTION("while a request is in flight") {
    FakeSink sink;
    std::thread canceller([&] {
      std::this_thread::sleep_for(milliseconds(200));
      sink.cancel = true;
    });
    const auto start = std::chrono::steady_clock::now();
    const Status status = source->Run(sink);
    const double elapsed = SecondsSince(start);
    canceller.join();
    REQUIRE(status.ok());
    CHECK(elapsed < 2.0);  // not the origin's 5 s nor the 5 s timeout
    CHECK(sink.entries.empty());
    CHECK(sink.failures.empty());
    CHECK(origin.requests("/after") == 0);
  }
}

TEST_CASE("HttpWarm RefusedConnectionsFailEachEndpointQuickly") {
  const uint16_t port = test::PickFreePorts(1)[0];  // nothing listens there
  HttpWarmOptions options = Options("http://127.0.0.1:" + std::to_string(port),
                                    {Endpoint("/a"), Endpoint("/b"), Endpoint("/c")});
  options.max_attempts = 2;
  options.backoff = milliseconds(10);

  FakeSink sink;
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(Make(options)->Run(sink).ok());

  CHECK(SecondsSince(start) < 2.0);
  CHECK(sink.attempted.load() == 3);
  CHECK(sink.entries.empty());
  REQUIRE(sink.failures.size() == 3);
  for (const auto& failure : sink.failures) {
    CHECK(failure.why.code() == StatusCode::kUnavailable);
    CHECK_THAT(failure.why.message(), Catch::Contains("connect"));
  }
}

TEST_CASE("HttpWarm UnresolvableHostFailsTheRun") {
  HttpWarmOptions options = Options("http://no-such-host.invalid:8000", {Endpoint("/a")});
  options.timeout = std::chrono::seconds(3);
  FakeSink sink;
  const Status status = Make(options)->Run(sink);
  CHECK(status.code() == StatusCode::kUnavailable);
  CHECK_THAT(status.message(), Catch::Contains("no-such-host.invalid"));
  CHECK(sink.attempted.load() == 0);
}

TEST_CASE("HttpWarm KeepsOneConnectionAcrossEndpoints") {
  TestOrigin origin;
  origin.Serve("/1", {200, "one"});
  origin.Serve("/2", {200, "two"});
  origin.Serve("/3", {200, "three"});
  FakeSink sink;
  REQUIRE(Make(Options(origin.base_url(), {Endpoint("/1"), Endpoint("/2"), Endpoint("/3")}))
              ->Run(sink)
              .ok());
  CHECK(sink.entries.size() == 3);
  CHECK(origin.connections() == 1);
}

TEST_CASE("HttpWarm ReopensAConnectionTheOriginDroppedWithoutUsingAnAttempt") {
  TestOrigin origin;
  OriginReply dropping{200, "one"};
  dropping.drop_after = true;
  origin.Serve("/1", dropping);
  origin.Serve("/2", {200, "two"});
  HttpWarmOptions options = Options(origin.base_url(), {Endpoint("/1"), Endpoint("/2")});
  options.max_attempts = 1;

  FakeSink sink;
  REQUIRE(Make(options)->Run(sink).ok());

  CHECK(sink.failures.empty());
  CHECK(sink.entries.size() == 2);
  CHECK(origin.requests("/2") == 1);
  CHECK(origin.connections() == 2);
}

TEST_CASE("HttpWarm HeadEndpointStoresAnEmptyValue") {
  TestOrigin origin;
  origin.Serve("/h", {200, "not sent for HEAD"});
  HttpWarmEndpoint head = Endpoint("/h");
  head.method = "head";
  FakeSink sink;
  REQUIRE(Make(Options(origin.base_url(), {head}))->Run(sink).ok());
  CHECK(origin.last_method("/h") == "HEAD");
  REQUIRE(sink.entries.size() == 1);
  CHECK(sink.entries[0].value.empty());
}

TEST_CASE("HttpWarm ConcurrencyFetchesEndpointsAtOnce") {
  TestOrigin origin;
  std::vector<HttpWarmEndpoint> endpoints;
  for (int i = 0; i < 4; ++i) {
    const std::string path = "/p" + std::to_string(i);
    origin.Serve(path, {200, path, "text/plain", milliseconds(400)});
    endpoints.push_back(Endpoint(path));
  }
  HttpWarmOptions options = Options(origin.base_url(), std::move(endpoints));
  options.concurrency = 4;

  FakeSink sink;
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(Make(options)->Run(sink).ok());

  CHECK(SecondsSince(start) < 1.2);  // one after another would take 1.6 s
  CHECK(sink.entries.size() == 4);
  CHECK(sink.attempted.load() == 4);
}

TEST_CASE("HttpWarm RejectsBadOptions") {
  const auto error_of = [](HttpWarmOptions options) {
    auto source = MakeHttpWarmSource(std::move(options));
    REQUIRE_FALSE(source.ok());
    CHECK(source.status().code() == StatusCode::kInvalidArgument);
    return source.status().message();
  };
  const auto with_url = [](std::string url) { return Options(std::move(url), {Endpoint("/a")}); };
  const auto with_endpoint = [](HttpWarmEndpoint e) {
    return Options("http://127.0.0.1:8000", {std::move(e)});
  };

  CHECK_THAT(error_of(with_url("https://origin:443")), Catch::Contains("https is not supported"));
  CHECK_THAT(error_of(with_url("ftp://origin")), Catch::Contains("base_url"));
  CHECK_THAT(error_of(with_url("origin:8000")), Catch::Contains("base_url"));
  CHECK_THAT(error_of(with_url("http://:8000")), Catch::Contains("no host"));
  CHECK_THAT(error_of(with_url("http://origin:0")), Catch::Contains("port"));
  CHECK_THAT(error_of(with_url("http://origin:65536")), Catch::Contains("port"));
  CHECK_THAT(error_of(with_url("http://origin:")), Catch::Contains("port"));
  CHECK_THAT(error_of(with_url("http://user@origin")), Catch::Contains("user info"));
  CHECK_THAT(error_of(with_url("http://origin/app?x=1")), Catch::Contains("query"));
  CHECK_THAT(error_of(with_url("http://[nope]:80")), Catch::Contains("IPv6"));
  CHECK_THAT(error_of(Options("http://origin", {})), Catch::Contains("endpoints"));
  CHECK_THAT(error_of(with_endpoint(Endpoint("api/x"))), Catch::Contains("start with '/'"));
  CHECK_THAT(error_of(with_endpoint(Endpoint(""))), Catch::Contains("start with '/'"));
  CHECK_THAT(error_of(with_endpoint(Endpoint("/a b"))), Catch::Contains("percent-encode"));

  HttpWarmEndpoint brew = Endpoint("/pot");
  brew.method = "BREW";
  CHECK_THAT(error_of(with_endpoint(brew)), Catch::Contains("method"));
  HttpWarmEndpoint bad_header = Endpoint("/a");
  bad_header.headers = {{"X-A", "1\r\nInjected: yes"}};
  CHECK_THAT(error_of(with_endpoint(bad_header)), Catch::Contains("header"));
  HttpWarmEndpoint unknown_field = Endpoint("/a");
  unknown_field.key = "k:{id}";
  CHECK_THAT(error_of(with_endpoint(unknown_field)), Catch::Contains("field id"));
  HttpWarmEndpoint nameless = Endpoint("/a");
  nameless.tags = {"t:{name}"};
  CHECK_THAT(error_of(with_endpoint(nameless)), Catch::Contains("field name"));

  HttpWarmOptions same_key = Options("http://origin", {Endpoint("/a"), Endpoint("/b")});
  same_key.key = "fixed";
  CHECK_THAT(error_of(same_key), Catch::Contains("key 'fixed'"));
  HttpWarmOptions no_attempts = with_url("http://origin");
  no_attempts.max_attempts = 0;
  CHECK_THAT(error_of(no_attempts), Catch::Contains("max_attempts"));
  HttpWarmOptions no_threads = with_url("http://origin");
  no_threads.concurrency = 0;
  CHECK_THAT(error_of(no_threads), Catch::Contains("concurrency"));
  HttpWarmOptions no_timeout = with_url("http://origin");
  no_timeout.timeout = Duration::zero();
  CHECK_THAT(error_of(no_timeout), Catch::Contains("timeout"));
  HttpWarmOptions no_body = with_url("http://origin");
  no_body.max_body_bytes = 0;
  CHECK_THAT(error_of(no_body), Catch::Contains("max_body_bytes"));
  HttpWarmOptions zero_ttl = with_url("http://origin");
  zero_ttl.ttl = Duration::zero();
  CHECK_THAT(error_of(zero_ttl), Catch::Contains("ttl"));
}

TEST_CASE("HttpWarm AcceptsUsualBaseUrls") {
  for (const char* url : {"http://origin", "HTTP://origin:8000", "http://10.0.0.1:80/app/",
                          "http://[::1]:8080", "http://my-origin.internal/v1/api"}) {
    INFO(url);
    auto source = MakeHttpWarmSource(Options(url, {Endpoint("/a")}));
    CHECK(source.ok());
    if (source.ok()) CHECK((*source)->kind() == "http");
  }
}

}  // namespace
}  // namespace tiercache
