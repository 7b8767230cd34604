// Unit tests of the caching proxy's engine over an L1-only service and an origin kept in
// memory: what is stored and shared, one origin fetch per key however many requests wait
// for it, and what concurrent requests with different variants or credentials get.

#include "core/response_cache.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "core/cache_service.h"
#include "core/l1_store.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;

// Answers on its own thread, as the real pool does; can hold every answer until released.
class FakeOrigin final : public Origin {
 public:
  FakeOrigin() : worker_([this] { Run(); }) {}
  ~FakeOrigin() override { Stop(); }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  void Fetch(OriginRequest request, Callback<Result<OriginResponse>> done) override {
    std::lock_guard lock(mu_);
    ++fetches_;
    last_ = request;
    queue_.push_back({std::move(request), std::move(done)});
    cv_.notify_all();
  }

  // What it answers: the function of the request.
  void Answer(std::function<OriginResponse(const OriginRequest&)> answer) {
    std::lock_guard lock(mu_);
    answer_ = std::move(answer);
  }
  void Hold() {
    std::lock_guard lock(mu_);
    held_ = true;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  int fetches() {
    std::lock_guard lock(mu_);
    return fetches_;
  }
  OriginRequest last() {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || (!held_ && !queue_.empty()); });
      if (stop_) return;
      auto [request, done] = std::move(queue_.front());
      queue_.pop_front();
      auto answer = answer_;
      lock.unlock();
      done(answer(request));
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<OriginRequest, Callback<Result<OriginResponse>>>> queue_;
  std::function<OriginResponse(const OriginRequest&)> answer_ = [](const OriginRequest&) {
    return OriginResponse{200, {{"Cache-Control", "max-age=60"}}, "body"};
  };
  bool held_ = false;
  bool stop_ = false;
  int fetches_ = 0;
  OriginRequest last_;
  std::thread worker_;
};

class ResponseCacheTest {
 protected:
  explicit ResponseCacheTest(ProxyRoute route = BaseRoute(),
                             const Clock& clock = Clock::System()) {
    L1Options options;
    options.shards = 4;
    options.max_entries = 10'000;
    options.max_bytes = 1 << 22;
    options.ttl_factor = 1.0;
    l1_ = std::make_unique<L1Store>(options, AdaptiveOptions{}, Clock::System());
    cache_ = std::make_unique<TieredCache>(*l1_, 1.0, std::vector<TieredCache::LowerTier>{},
                                           TierHealthOptions{}, Clock::System());
    StrategyOptions strategies;
    service_ = std::make_unique<CacheService>(Limits{}, strategies, *cache_);
    ProxyOptions proxy;
    proxy.routes.push_back(std::move(route));
    origin_ = std::make_shared<FakeOrigin>();
    responses_ = std::make_unique<ResponseCache>(proxy, *service_, Limits{},
                                                 std::vector<std::shared_ptr<Origin>>{origin_},
                                                 clock);
  }

  static ProxyRoute BaseRoute() {
    ProxyRoute r;
    r.name = "app";
    r.path_prefix = "/";
    r.origin = "http://origin";
    return r;
  }

  std::future<ProxyResponse> Send(std::string target, HeaderList headers = {}) {
    auto answer = std::make_shared<std::promise<ProxyResponse>>();
    auto future = answer->get_future();
    responses_->Handle(ProxyRequest{"GET", std::move(target), std::move(headers), "", "127.0.0.1"},
                       [answer](ProxyResponse r) { answer->set_value(std::move(r)); });
    return future;
  }
  ProxyResponse Request(std::string target, HeaderList headers = {}) {
    auto future = Send(std::move(target), std::move(headers));
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    return future.get();
  }
  // Waits until `n` requests are waiting on another's fetch.
  bool CollapsedReach(uint64_t n) {
    for (int i = 0; i < 5000; ++i) {
      if (responses_->Stats()[0].collapsed >= n) return true;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  std::unique_ptr<L1Store> l1_;
  std::unique_ptr<TieredCache> cache_;
  std::unique_ptr<CacheService> service_;
  std::shared_ptr<FakeOrigin> origin_;
  std::unique_ptr<ResponseCache> responses_;
};

std::string CacheStatus(const ProxyResponse& r) {
  return std::string(FindHeader(r.headers, "cache-status").value_or(""));
}

TEST_CASE_METHOD(ResponseCacheTest, "ResponseCache: ConcurrentMissesShareOneOriginFetch",
                 "[proxy]") {
  origin_->Hold();
  std::vector<std::future<ProxyResponse>> waiting;
  for (int i = 0; i < 50; ++i) waiting.push_back(Send("/report"));
  REQUIRE(CollapsedReach(49));
  origin_->Release();
  for (auto& f : waiting) {
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    const ProxyResponse r = f.get();
    CHECK(r.status == 200);
    CHECK(r.payload() == "body");
  }
  CHECK(origin_->fetches() == 1);
  CHECK(CacheStatus(Request("/report")).starts_with("tiercache; hit"));
  CHECK(origin_->fetches() == 1);
}

TEST_CASE_METHOD(ResponseCacheTest,
                 "ResponseCache: AWaiterWithAnotherVariantFetchesItsOwnResponse", "[proxy]") {
  origin_->Answer([](const OriginRequest& r) {
    return OriginResponse{200,
                          {{"Cache-Control", "max-age=60"}, {"Vary", "Accept-Language"}},
                          std::string(FindHeader(r.headers, "accept-language").value_or("-"))};
  });
  origin_->Hold();
  auto en = Send("/", {{"Accept-Language", "en"}});
  REQUIRE(CollapsedReach(0));
  auto fr = Send("/", {{"Accept-Language", "fr"}});
  REQUIRE(CollapsedReach(1));  // it waits on the English fetch: Vary is not known yet
  origin_->Release();
  CHECK(en.get().payload() == "en");
  CHECK(fr.get().payload() == "fr");
  CHECK(origin_->fetches() == 2);
  // Both variants are stored, each under its own key.
  CHECK(Request("/", {{"Accept-Language", "fr"}}).payload() == "fr");
  CHECK(Request("/", {{"Accept-Language", "en"}}).payload() == "en");
  CHECK(origin_->fetches() == 2);
}

TEST_CASE_METHOD(ResponseCacheTest, "ResponseCache: AResponseNotStoredIsNotHandedToWaiters",
                 "[proxy]") {
  origin_->Answer([](const OriginRequest& r) {
    return OriginResponse{200,
                          {{"Cache-Control", "max-age=60"}, {"Set-Cookie", "sid=x"}},
                          std::string(FindHeader(r.headers, "cookie").value_or("-"))};
  });
  origin_->Hold();
  auto first = Send("/me", {{"Cookie", "user=1"}});
  auto second = Send("/me", {{"Cookie", "user=2"}});
  REQUIRE(CollapsedReach(1));
  origin_->Release();
  CHECK(first.get().payload() == "user=1");
  const ProxyResponse other = second.get();
  CHECK(other.payload() == "user=2");
  CHECK(origin_->fetches() == 2);
  // Sent on its own once the first answer proved unshareable.
  CHECK(CacheStatus(other) == "tiercache; fwd=miss; fwd-status=200");
}

TEST_CASE_METHOD(ResponseCacheTest, "ResponseCache: HeadIsFetchedAsGetWithViaAndTheClientsAddress",
                 "[proxy]") {
  auto answer = std::make_shared<std::promise<ProxyResponse>>();
  const HeaderList headers = {{"If-None-Match", "\"a\""}, {"X-Forwarded-For", "10.0.0.1"}};
  responses_->Handle(ProxyRequest{"HEAD", "/x", headers, "", "127.0.0.1"},
                     [answer](ProxyResponse r) { answer->set_value(std::move(r)); });
  answer->get_future().get();
  const OriginRequest sent = origin_->last();
  CHECK(sent.method == "GET");
  CHECK_FALSE(FindHeader(sent.headers, "if-none-match").has_value());
  CHECK(FindHeader(sent.headers, "via") == "1.1 tiercache");
  CHECK(FindHeader(sent.headers, "x-forwarded-for") == "10.0.0.1, 127.0.0.1");
  CHECK(Request("/x").payload() == "body");
  CHECK(origin_->fetches() == 1);
}

struct OwnClock {
  FakeClock clock;
};

// The proxy on a clock the test moves (L1 keeps real time: the test is over long before
// anything it holds expires).
class ProxyClockTest : private OwnClock, public ResponseCacheTest {
 protected:
  ProxyClockTest() : ResponseCacheTest(BaseRoute(), OwnClock::clock) {}
  void Advance(Duration d) { OwnClock::clock.Advance(d); }
};

TEST_CASE_METHOD(ProxyClockTest, "ResponseCache: AResponseWithoutDateIsNotAgedByTheOneAdded",
                 "[proxy]") {
  // Half a second into a wall-clock second: the Date added is whole seconds, half a second
  // earlier than the response came, and must not count as age.
  Advance(500ms);
  origin_->Answer([](const OriginRequest&) {
    return OriginResponse{200, {{"Cache-Control", "max-age=1"}}, "page"};
  });
  const ProxyResponse first = Request("/d");
  CHECK(FindHeader(first.headers, "date").has_value());
  CHECK(CacheStatus(first).find("; stored") != std::string::npos);
  Advance(600ms);  // 0.6 s old: still fresh (1.1 s had the added Date counted)
  CHECK(CacheStatus(Request("/d")).starts_with("tiercache; hit"));
  CHECK(origin_->fetches() == 1);
}

TEST_CASE_METHOD(ResponseCacheTest, "ResponseCache: AnotherClientsValueUnderTheKeyIsAMiss",
                 "[proxy]") {
  SetRequest set;
  set.key = "proxy:app:/k";
  set.value = "not a stored response";
  std::promise<Status> stored;
  service_->Set(Frontend::Named("http"), set, [&](Status s) { stored.set_value(s); });
  REQUIRE(stored.get_future().get().ok());
  CHECK(Request("/k").payload() == "body");
  CHECK(origin_->fetches() == 1);
  CHECK(CacheStatus(Request("/k")).starts_with("tiercache; hit"));
}

TEST_CASE_METHOD(ResponseCacheTest,
                 "ResponseCache: ARouteTimeoutDoesNotMakeAPersonalRequestsAnswerShareable",
                 "[proxy]") {
  origin_->Answer([](const OriginRequest&) { return OriginResponse{200, {}, "page"}; });
  const ProxyResponse with_cookie = Request("/p", {{"Cookie", "sessionid=alice"}});
  CHECK(CacheStatus(with_cookie).find("detail=not-fresh") != std::string::npos);
  const ProxyResponse anonymous = Request("/p");
  CHECK(CacheStatus(anonymous).find("; stored") != std::string::npos);
  CHECK(CacheStatus(Request("/p", {{"Cookie", "sessionid=bob"}})).starts_with("tiercache; hit"));
  CHECK(origin_->fetches() == 2);
}

class StaleIfErrorTest : public ResponseCacheTest {
 protected:
  static ProxyRoute WithStaleIfError() {
    ProxyRoute r = BaseRoute();
    r.stale_if_error = 60s;
    return r;
  }
  StaleIfErrorTest() : ResponseCacheTest(WithStaleIfError()) {}
};

TEST_CASE_METHOD(StaleIfErrorTest, "ResponseCache: ARevalidatedEntryKeepsTheOriginsTags",
                 "[proxy]") {
  origin_->Answer([](const OriginRequest& r) {
    if (FindHeader(r.headers, "if-none-match")) {
      return OriginResponse{304, {{"ETag", "\"v1\""}}, ""};
    }
    return OriginResponse{
        200, {{"Cache-Control", "max-age=0"}, {"ETag", "\"v1\""}, {"Surrogate-Key", "t1"}},
        "doc"};
  });
  CHECK(CacheStatus(Request("/doc")).find("; stored") != std::string::npos);
  const ProxyResponse revalidated = Request("/doc");
  CHECK(CacheStatus(revalidated) == "tiercache; fwd=stale; fwd-status=304; stored");
  CHECK(revalidated.payload() == "doc");
  CHECK_FALSE(FindHeader(revalidated.headers, "surrogate-key").has_value());
  CHECK(origin_->fetches() == 2);
  InvalidateRequest invalidate;
  invalidate.tags = {"t1"};
  std::promise<Result<InvalidateResult>> removed;
  service_->Invalidate(Frontend::Named("http"), invalidate,
                       [&](Result<InvalidateResult> r) { removed.set_value(std::move(r)); });
  auto result = removed.get_future().get();
  REQUIRE(result.ok());
  CHECK(result->total() == 1);
}

}  // namespace
}  // namespace tiercache
