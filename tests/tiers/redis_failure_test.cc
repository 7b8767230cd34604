// The Redis tier when Redis is gone, hung or slow, and when the tier is destroyed with work
// pending: operations fail fast (or within the command timeout), with messages naming the
// server, and the tier uses Redis again soon after it returns.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/key_pattern.h"
#include "tests/core/status_printer.h"
#include "tests/support/poll.h"
#include "tests/support/redis_server.h"
#include "tiers/redis/redis_tier.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using std::chrono::steady_clock;

constexpr auto kCommandTimeout = 250ms;

std::unique_ptr<Tier> MakeTier(const std::string& url, size_t max_queued = 100000) {
  RedisTierOptions o;
  o.url = url;
  o.command_timeout = kCommandTimeout;
  o.connect_timeout = 500ms;
  o.sweep_interval = 1h;
  o.max_queued = max_queued;
  auto tier = MakeRedisTier(o);
  REQUIRE(tier.ok());
  return std::move(*tier);
}

std::string UrlOf(uint16_t port) { return "redis://127.0.0.1:" + std::to_string(port); }

double MsSince(steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
}

// A Get and how long its answer took.
struct Timed {
  Status status;
  double ms;
};
Timed TimedGet(Tier& tier, const std::string& key) {
  const auto start = steady_clock::now();
  Result<TierEntry> r = SyncTier(tier).Get(key);
  return {r.ok() ? Status::Ok() : r.status(), MsSince(start)};
}

// Counts callbacks, to wait for all of them boundedly.
class Answers {
 public:
  void One(const Status& s) {
    std::lock_guard lock(mu_);
    ++count_;
    if (s.code() == StatusCode::kUnavailable) ++unavailable_;
    cv_.notify_all();
  }
  bool WaitFor(int n, std::chrono::milliseconds bound) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, bound, [&] { return count_ >= n; });
  }
  int count() {
    std::lock_guard lock(mu_);
    return count_;
  }
  int unavailable() {
    std::lock_guard lock(mu_);
    return unavailable_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
  int unavailable_ = 0;
};

TEST_CASE("RedisFailure: WithNoRedisOperationsFailAtOnceWithTheConnectionError",
          "[redis][failure]") {
  const uint16_t port = PickFreePorts(1)[0];  // nothing listens there
  auto tier = MakeTier(UrlOf(port));
  // The first operation waits for the first connection attempt; later ones not even that.
  for (int i = 0; i < 5; ++i) {
    const Timed t = TimedGet(*tier, "k");
    INFO("attempt " << i << " took " << t.ms << " ms: " << t.status.message());
    CHECK(t.status.code() == StatusCode::kUnavailable);
    CHECK_THAT(t.status.message(),
               Contains("redis 127.0.0.1:" + std::to_string(port) + ": connection refused"));
    CHECK(t.ms < 50);
  }
  CHECK(SyncTier(*tier).Ping().code() == StatusCode::kUnavailable);
}

TEST_CASE("RedisFailure: AStoppedRedisFailsOperationsFastAndIsUsedAgainSoonAfterItReturns",
          "[redis][failure]") {
  RedisServer server;
  auto tier = MakeTier(server.url());
  SyncTier sync(*tier);
  REQUIRE(sync.Set("k", "v").ok());

  server.Stop();
  // The connections notice the close while idle and go down; every operation then fails
  // at once, without a connection attempt of its own.
  REQUIRE(PollUntil([&] { return sync.Ping().code() == StatusCode::kUnavailable; }, 2s));
  for (int i = 0; i < 20; ++i) {
    const Timed t = TimedGet(*tier, "k");
    INFO("get " << i << " took " << t.ms << " ms: " << t.status.message());
    CHECK(t.status.code() == StatusCode::kUnavailable);
    CHECK_THAT(t.status.message(), Contains("redis 127.0.0.1:" + std::to_string(server.port())));
    CHECK(t.ms < 50);
  }
  std::this_thread::sleep_for(1500ms);  // let the backoff grow to its cap

  server.Start();
  const auto back = steady_clock::now();
  REQUIRE(PollUntil([&] { return sync.Ping().ok(); }, 5s));
  INFO("usable again " << MsSince(back) << " ms after Redis returned");
  CHECK(MsSince(back) < 2000);
  // Every connection is back (the data died with the server).
  for (int i = 0; i < 10; ++i) CHECK(sync.Set("k" + std::to_string(i), "v").ok());
  CHECK(sync.Get("k9").ok());
}

TEST_CASE("RedisFailure: AServerThatNeverAnswersCostsAnOperationTheCommandTimeout",
          "[redis][failure]") {
  PortHolder hung;  // accepts connections (the kernel does) and never reads
  auto tier = MakeTier(UrlOf(hung.port()));
  const Timed first = TimedGet(*tier, "k");
  INFO("first get took " << first.ms << " ms: " << first.status.message());
  CHECK(first.status.code() == StatusCode::kDeadlineExceeded);
  CHECK_THAT(first.status.message(), Contains("timed out after 250 ms"));
  CHECK(first.ms >= 200);
  CHECK(first.ms < 250 + 250);
  // The other connection's first attempt ends about now too. Then both are known bad:
  // operations fail at once until a login succeeds.
  std::this_thread::sleep_for(20ms);
  for (int i = 0; i < 5; ++i) {
    const Timed t = TimedGet(*tier, "k");
    INFO("get " << i << " took " << t.ms << " ms: " << t.status.message());
    CHECK(t.status.code() == StatusCode::kUnavailable);
    CHECK(t.ms < 50);
  }
}

TEST_CASE("RedisFailure: APausedRedisTimesOutWhatIsInFlightThenFailsFastUntilResumed",
          "[redis][failure]") {
  RedisServer server;
  auto tier = MakeTier(server.url());
  SyncTier sync(*tier);
  REQUIRE(sync.Set("k", "v").ok());
  // The tier's first tag sweep runs at start; paused in flight, it would hold the Gets below
  // in the queue, and they would fail as unavailable rather than time out.
  const auto start = steady_clock::now();
  while (!tier->tag_index().measured && steady_clock::now() - start < 5s) {
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(tier->tag_index().measured);

  server.Pause();
  Answers answers;
  std::atomic<int> timed_out{0};
  const auto paused = steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    tier->Get("k", [&](Result<TierEntry> r) {
      if (r.status().code() == StatusCode::kDeadlineExceeded) timed_out.fetch_add(1);
      answers.One(r.status());
    });
  }
  REQUIRE(answers.WaitFor(100, 5s));
  const double took = MsSince(paused);
  INFO("all 100 answered after " << took << " ms");
  CHECK(timed_out.load() > 0);  // in flight; what was only queued fails as unavailable
  CHECK(timed_out.load() + answers.unavailable() == 100);
  CHECK(took < 250 + 250);
  CHECK(TimedGet(*tier, "k").ms < 50);

  server.Resume();
  const auto resumed = steady_clock::now();
  REQUIRE(PollUntil([&] { return sync.Get("k").ok(); }, 5s));
  INFO("usable again " << MsSince(resumed) << " ms after Redis resumed");
  CHECK(MsSince(resumed) < 2000);
}

TEST_CASE("RedisFailure: DestroyingTheTierAnswersEveryPendingOperationOnce", "[redis][failure]") {
  RedisServer server;
  auto tier = MakeTier(server.url());
  REQUIRE(SyncTier(*tier).Set("k", "v").ok());
  server.Pause();  // everything below stays pending

  Answers answers;
  constexpr int kGets = 500;
  for (int i = 0; i < kGets; ++i) {
    tier->Get("k", [&](Result<TierEntry> r) { answers.One(r.status()); });
  }
  tier->InvalidateTags({"t"}, [&](Result<uint64_t> r) { answers.One(r.status()); });
  tier->Clear([&](Result<uint64_t> r) { answers.One(r.status()); });
  auto pattern = KeyPattern::Compile("k");
  REQUIRE(pattern.ok());
  tier->InvalidateMatching(*pattern, [&](Result<uint64_t> r) { answers.One(r.status()); });
  std::vector<TierWrite> writes;
  writes.push_back(SyncTier::Write("a", "v"));
  tier->SetBatch(std::move(writes), [&](Status s) { answers.One(s); });

  const auto destroying = steady_clock::now();
  tier.reset();
  INFO("the destructor took " << MsSince(destroying) << " ms");
  CHECK(MsSince(destroying) < 200);  // no waiting out the command timeout
  CHECK(answers.count() == kGets + 4);
  CHECK(answers.unavailable() == kGets + 4);
  std::this_thread::sleep_for(100ms);
  CHECK(answers.count() == kGets + 4);  // nothing after the destructor returned
}

TEST_CASE("RedisFailure: OperationsBeyondMaxQueuedFailAtOnce", "[redis][failure]") {
  RedisServer server;
  auto tier = MakeTier(server.url(), 100);
  REQUIRE(SyncTier(*tier).Ping().ok());
  server.Pause();

  Answers answers;
  std::atomic<int> failed_at_once{0};
  const auto caller = std::this_thread::get_id();
  for (int i = 0; i < 150; ++i) {
    tier->Get("k", [&](Result<TierEntry> r) {
      // Refused before Get returned: the callback ran on this thread.
      if (std::this_thread::get_id() == caller) failed_at_once.fetch_add(1);
      answers.One(r.status());
    });
  }
  CHECK(failed_at_once >= 50);
  REQUIRE(answers.WaitFor(150, 5s));
}

TEST_CASE("RedisFailure: ALostScriptCacheIsReloaded", "[redis][failure]") {
  RedisServer server;
  auto tier = MakeTier(server.url());
  SyncTier sync(*tier);
  REQUIRE(sync.Set("k", "v", {"t"}).ok());
  server.Cli({"SCRIPT", "FLUSH"});
  CHECK(sync.Set("k", "v2", {"t"}).ok());
  auto removed = sync.InvalidateTags({"t"});
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
}

TEST_CASE("RedisFailure: ARedisThatDiesWhileAWriteIsInFlightFailsItWithoutKillingTheProcess",
          "[redis][failure]") {
  RedisServer server;
  RedisTierOptions o;
  o.url = server.url();
  o.command_timeout = 5s;
  o.sweep_interval = 1h;
  auto tier = MakeRedisTier(o);
  REQUIRE(tier.ok());
  REQUIRE(SyncTier(**tier).Ping().ok());
  // About 100 MB to write: Redis goes away while the socket is still being written to, and
  // a write to a closed socket raises SIGPIPE unless the tier keeps it from the process.
  std::vector<TierWrite> writes;
  const auto value = std::make_shared<const std::string>(1 << 20, 'v');
  for (int i = 0; i < 100; ++i) writes.push_back({"big:" + std::to_string(i), value, {}, 1min});
  Answers answers;
  (*tier)->SetBatch(std::move(writes), [&](Status s) { answers.One(s); });
  std::this_thread::sleep_for(5ms);
  server.Stop();
  REQUIRE(answers.WaitFor(1, 10s));
}

}  // namespace
}  // namespace tiercache::test
