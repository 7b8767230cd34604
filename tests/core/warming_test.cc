// The warming engine (core/warming.h) over an L1-only TieredCache and fake sources:
// schedules, overlap, results, tier scope and stopping.

#include "core/warming.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "core/hot_key_source.h"
#include "core/l1_store.h"
#include "tests/core/fake_tier.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Writes `entries` keys (one failing item per run when `fail_one`), taking `run_time`.
class FakeSource final : public WarmSource {
 public:
  FakeSource(int entries, Duration run_time, bool fail_one = false)
      : entries_(entries), run_time_(run_time), fail_one_(fail_one) {}
  std::string_view kind() const override { return "fake"; }
  Status Run(WarmSink& sink) override {
    const int now_running = ++running_;
    max_running_ = std::max(max_running_.load(), now_running);
    {
      std::lock_guard lock(mu_);
      starts_.push_back(Clock::now());
    }
    for (int i = 0; i < entries_; ++i) {
      sink.Attempted();
      if (!sink.Put({"k" + std::to_string(i), "v", {"t"}, std::nullopt})) break;
    }
    if (fail_one_) {
      sink.Attempted();
      sink.Failed("bad row", Status::InvalidArgument("no id"));
    }
    std::this_thread::sleep_for(run_time_);
    --running_;
    return Status::Ok();
  }
  std::vector<Clock::time_point> starts() {
    std::lock_guard lock(mu_);
    return starts_;
  }
  std::atomic<int> max_running_{0};

 private:
  const int entries_;
  const Duration run_time_;
  const bool fail_one_;
  std::atomic<int> running_{0};
  std::mutex mu_;
  std::vector<Clock::time_point> starts_;
};

struct Fixture {
  L1Store l1{L1Options{}, AdaptiveOptions{}, tiercache::Clock::System()};
  TieredCache cache{l1, 1.0, {}, TierHealthOptions{}};
  Scheduler scheduler{SchedulerOptions{4, {}}};
  WarmingEngine engine{cache, scheduler, 2};
  ~Fixture() {
    engine.Stop();
    scheduler.Stop();
  }
  WarmSourceStatus Status(size_t i = 0) { return engine.Sources().at(i); }
  bool Finished(uint64_t runs, size_t i = 0) { return Status(i).runs >= runs; }
  template <class Condition>
  static bool Eventually(Condition c, Duration bound = 5s) {
    const auto deadline = Clock::now() + bound;
    while (Clock::now() < deadline) {
      if (c()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return c();
  }
};

TEST_CASE("Warming: AnOnDemandRunStoresWhatTheSourceGivesAndRecordsTheRun", "[warming]") {
  Fixture f;
  auto source = std::make_unique<FakeSource>(100, 0ms, /*fail_one=*/true);
  REQUIRE(f.engine.Add({.name = "s"}, std::move(source)).ok());
  f.engine.Start();
  REQUIRE(f.engine.RunNow("s").ok());
  REQUIRE(Fixture::Eventually([&] { return f.Finished(1); }));
  const WarmSourceStatus s = f.Status();
  CHECK(s.kind == "fake");
  CHECK(s.attempted == 101);
  CHECK(s.written == 100);
  CHECK(s.failures == 1);
  CHECK(s.success_rate() == Approx(100.0 / 101));
  REQUIRE(s.last);
  CHECK(s.last->ok);
  CHECK(s.last->error == "bad row: no id");
  CHECK(f.l1.Stats().entries == 100);
  CHECK(f.engine.RunNow("nope").code() == StatusCode::kNotFound);
}

TEST_CASE("Warming: AnIntervalSourceRunsOnItsIntervalAndNeverOverlapsItself", "[warming]") {
  Fixture f;
  // Each run takes 350 ms, longer than the 200 ms interval.
  auto owned = std::make_unique<FakeSource>(10, 350ms);
  FakeSource* source = owned.get();
  REQUIRE(f.engine.Add({.name = "slow", .interval = 200ms, .on_start = true}, std::move(owned))
              .ok());
  f.engine.Start();
  // On demand while a run is going: refused, the run in progress serves it.
  REQUIRE(Fixture::Eventually([&] { return f.Status().last && f.Status().last->running; }));
  CHECK(f.engine.RunNow("slow").code() == StatusCode::kUnavailable);
  REQUIRE(Fixture::Eventually([&] { return f.Finished(4); }));
  CHECK(source->max_running_ == 1);
  const auto starts = source->starts();
  for (size_t i = 1; i < starts.size(); ++i) {
    CHECK(starts[i] - starts[i - 1] >= 340ms);  // never before the previous run ended
  }
  CHECK(f.Status().next_run.has_value());
}

TEST_CASE("Warming: AQuickIntervalSourceRunsAboutEveryInterval", "[warming]") {
  Fixture f;
  auto owned = std::make_unique<FakeSource>(1, 0ms);
  FakeSource* source = owned.get();
  REQUIRE(f.engine.Add({.name = "quick", .interval = 300ms}, std::move(owned)).ok());
  const auto started = Clock::now();
  f.engine.Start();
  REQUIRE(Fixture::Eventually([&] { return f.Finished(3); }));
  const auto starts = source->starts();
  REQUIRE(starts.size() >= 3);
  // The first run is one interval in (not on_start), then one an interval.
  CHECK(starts[0] - started >= 290ms);
  for (size_t i = 1; i < 3; ++i) {
    CHECK(starts[i] - starts[i - 1] >= 250ms);
    CHECK(starts[i] - starts[i - 1] <= 600ms);
  }
}

TEST_CASE("Warming: AMaxKeysPerSecondBoundPacesTheRun", "[warming]") {
  Fixture f;
  REQUIRE(f.engine.Add({.name = "paced", .max_keys_per_second = 1000},
                       std::make_unique<FakeSource>(300, 0ms))
              .ok());
  f.engine.Start();
  const auto started = Clock::now();
  REQUIRE(f.engine.RunNow("paced").ok());
  REQUIRE(Fixture::Eventually([&] { return f.Finished(1); }));
  CHECK(Clock::now() - started >= 290ms);  // 300 keys at 1000 a second
  CHECK(f.Status().written == 300);
}

// Over a lower tier whose batches take 20 ms: while the front ends are busy, a run keeps
// one small batch in flight and pauses as long again after each (busy_share 0.5); idle, it
// keeps several larger ones in flight.
TEST_CASE("Warming: WhileServingIsBusyARunYieldsOneBatchAtATime", "[warming]") {
  for (const bool busy : {true, false}) {
    INFO((busy ? "busy" : "idle"));
    L1Store l1{L1Options{}, AdaptiveOptions{}, tiercache::Clock::System()};
    auto fake = std::make_unique<test::FakeTier>("L2");
    test::FakeTier& l2 = *fake;
    l2.batch_delay_ms = 20;
    std::vector<TieredCache::LowerTier> tiers;
    tiers.push_back({std::move(fake), LowerTierOptions{}});
    TieredCache cache{l1, 1.0, std::move(tiers), TierHealthOptions{}};
    Scheduler scheduler{SchedulerOptions{2, {}}};
    WarmingEngine engine{cache, scheduler, 1};
    // A busy daemon serves 1,000,000 requests between two looks; an idle one none.
    std::atomic<uint64_t> served{0};
    engine.YieldToServing([&] { return busy ? served += 1'000'000 : served.load(); }, 1000, 0.5);
    REQUIRE(
        engine.Add({.name = "s", .max_in_flight = 256}, std::make_unique<FakeSource>(640, 0ms))
            .ok());
    engine.Start();
    const auto started = Clock::now();
    REQUIRE(engine.RunNow("s").ok());
    REQUIRE(Fixture::Eventually([&] { return engine.Sources().at(0).runs == 1; }, 10s));
    const auto took = Clock::now() - started;
    CHECK(engine.Sources().at(0).written == 640);
    if (busy) {
      // The first batch (max_in_flight / 4) goes before the first look at the load; then
      // batches of 32.
      CHECK(l2.batch_calls == 1 + (640 - 64) / 32);
      CHECK(l2.max_batches_pending == 1);
      CHECK(took >= 19 * 2 * 20ms * 0.9);  // 19 batches of 20 ms, each followed by a pause
    } else {
      CHECK(l2.batch_calls == 640 / 64);  // batches of max_in_flight / 4
      CHECK(l2.max_batches_pending > 1);
    }
    engine.Stop();
    scheduler.Stop();
  }
}

TEST_CASE("Warming: BadSourcesAreRefused", "[warming]") {
  Fixture f;
  REQUIRE(f.engine.Add({.name = "a"}, std::make_unique<FakeSource>(1, 0ms)).ok());
  CHECK(f.engine.Add({.name = "a"}, std::make_unique<FakeSource>(1, 0ms)).code() ==
        StatusCode::kInvalidArgument);
  CHECK(f.engine.Add({.name = "b", .tiers = {"L9"}}, std::make_unique<FakeSource>(1, 0ms))
            .message() == "warming source b: no tier named 'L9'");
}

TEST_CASE("Warming: StoppingEndsARunAtItsNextPut", "[warming]") {
  Fixture f;
  REQUIRE(f.engine.Add({.name = "big", .max_keys_per_second = 100},
                       std::make_unique<FakeSource>(100000, 0ms))
              .ok());
  f.engine.Start();
  REQUIRE(f.engine.RunNow("big").ok());
  std::this_thread::sleep_for(100ms);
  const auto stopping = Clock::now();
  f.engine.Stop();
  f.scheduler.Stop();  // waits for the run
  CHECK(Clock::now() - stopping < 1s);
}

TEST_CASE("Warming: TheHotSourceReportsKeysNoLongerHeldAsFailures", "[warming]") {
  Fixture f;
  // Without lower tiers nothing is hot: the run tries nothing.
  REQUIRE(f.engine.Add({.name = "hot", .tiers = {"L1"}}, MakeHotKeySource(f.cache, 100)).ok());
  f.engine.Start();
  REQUIRE(f.engine.RunNow("hot").ok());
  REQUIRE(Fixture::Eventually([&] { return f.Finished(1); }));
  CHECK(f.Status().kind == "hot");
  CHECK(f.Status().attempted == 0);
}

}  // namespace
}  // namespace tiercache
