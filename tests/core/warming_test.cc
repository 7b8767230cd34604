// The warming engine (core/warming.h) over an L1-only TieredCache and fake sources, on a
// fake clock: schedules, overlap, pacing, yielding, results, tier scope and stopping.

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
#include "tests/core/fake_time.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;

// Writes `entries` keys (one failing item per run when `fail_one`), taking `run_time` of the
// clock (which it advances).
class FakeSource final : public WarmSource {
 public:
  FakeSource(FakeClock& clock, int entries, Duration run_time, bool fail_one = false)
      : clock_(clock), entries_(entries), run_time_(run_time), fail_one_(fail_one) {}
  std::string_view kind() const override { return "fake"; }
  Status Run(WarmSink& sink) override {
    const int now_running = ++running_;
    max_running_ = std::max(max_running_.load(), now_running);
    bool first;
    {
      std::lock_guard lock(mu_);
      first = starts_.empty();
      starts_.push_back(clock_.Now());
    }
    if (first && hold_first_) {
      first_started.Set();
      release_first.Wait();
    }
    for (int i = 0; i < entries_; ++i) {
      sink.Attempted();
      if (!sink.Put({"k" + std::to_string(i), "v", {"t"}, std::nullopt})) break;
    }
    if (fail_one_) {
      sink.Attempted();
      sink.Failed("bad row", Status::InvalidArgument("no id"));
    }
    if (run_time_ > Duration::zero()) clock_.Advance(run_time_);
    --running_;
    return Status::Ok();
  }
  std::vector<TimePoint> starts() {
    std::lock_guard lock(mu_);
    return starts_;
  }
  // The first run sets first_started, then waits for release_first. Before it starts.
  void HoldFirstRun() { hold_first_ = true; }

  std::atomic<int> max_running_{0};
  test::Flag first_started;
  test::Flag release_first;

 private:
  FakeClock& clock_;
  const int entries_;
  const Duration run_time_;
  const bool fail_one_;
  bool hold_first_ = false;
  std::atomic<int> running_{0};
  std::mutex mu_;
  std::vector<TimePoint> starts_;
};

// Idle, the scheduler's timer and its four workers wait on the clock, and so does a run
// waiting for its rate bound.
struct Fixture : test::ClockDriver {
  Fixture() : ClockDriver(clock, 1 + 4) {}
  ~Fixture() {
    engine.Stop();
    scheduler.Stop();
  }
  WarmSourceStatus Status(size_t i = 0) { return engine.Sources().at(i); }
  bool Finished(uint64_t runs, size_t i = 0) { return Status(i).runs >= runs; }

  FakeClock clock;
  L1Store l1{L1Options{}, AdaptiveOptions{}, clock};
  TieredCache cache{l1, 1.0, {}, TierHealthOptions{}, clock};
  Scheduler scheduler{SchedulerOptions{4}, clock};
  WarmingEngine engine{cache, scheduler, 2, clock};
};

TEST_CASE("Warming: AnOnDemandRunStoresWhatTheSourceGivesAndRecordsTheRun", "[warming]") {
  Fixture f;
  auto source = std::make_unique<FakeSource>(f.clock, 100, 0ms, /*fail_one=*/true);
  REQUIRE(f.engine.Add({.name = "s"}, std::move(source)).ok());
  f.engine.Start();
  REQUIRE(f.engine.RunNow("s").ok());
  f.Settle();
  REQUIRE(f.Finished(1));
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
  auto owned = std::make_unique<FakeSource>(f.clock, 10, 350ms);
  FakeSource* source = owned.get();
  source->HoldFirstRun();
  REQUIRE(f.engine.Add({.name = "slow", .interval = 200ms, .on_start = true}, std::move(owned))
              .ok());
  f.engine.Start();
  // On demand while a run is going: refused, the run in progress serves it.
  REQUIRE(source->first_started.Wait());
  REQUIRE(f.Status().last);
  REQUIRE(f.Status().last->running);
  CHECK(f.engine.RunNow("slow").code() == StatusCode::kUnavailable);
  source->release_first.Set();
  REQUIRE(f.AdvanceUntil([&] { return f.Finished(4); }, 10ms));
  CHECK(source->max_running_ == 1);
  const auto starts = source->starts();
  for (size_t i = 1; i < starts.size(); ++i) {
    CHECK(starts[i] - starts[i - 1] >= 340ms);  // never before the previous run ended
  }
  CHECK(f.Status().next_run.has_value());
}

TEST_CASE("Warming: AQuickIntervalSourceRunsAboutEveryInterval", "[warming]") {
  Fixture f;
  auto owned = std::make_unique<FakeSource>(f.clock, 1, 0ms);
  FakeSource* source = owned.get();
  REQUIRE(f.engine.Add({.name = "quick", .interval = 300ms}, std::move(owned)).ok());
  const TimePoint started = f.clock.Now();
  f.engine.Start();
  REQUIRE(f.AdvanceUntil([&] { return f.Finished(3); }, 10ms));
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
                       std::make_unique<FakeSource>(f.clock, 300, 0ms))
              .ok());
  f.engine.Start();
  const TimePoint started = f.clock.Now();
  REQUIRE(f.engine.RunNow("paced").ok());
  REQUIRE(f.AdvanceUntil([&] { return f.Finished(1); }, 10ms));
  CHECK(f.clock.Now() - started >= 290ms);  // 300 keys at 1000 a second
  CHECK(f.Status().written == 300);
}

// Over a lower tier whose batches take 20 ms of the clock: while the front ends are busy, a
// run keeps one small batch in flight and pauses as long again after each (busy_share 0.5);
// idle, it keeps several larger ones in flight.
TEST_CASE("Warming: WhileServingIsBusyARunYieldsOneBatchAtATime", "[warming]") {
  for (const bool busy : {true, false}) {
    INFO((busy ? "busy" : "idle"));
    FakeClock clock;
    L1Store l1{L1Options{}, AdaptiveOptions{}, clock};
    auto fake = std::make_unique<test::FakeTier>("L2");
    test::FakeTier& l2 = *fake;
    l2.batch_delay_ms = 20;
    l2.TakeTimeOn(&clock);
    if (!busy) l2.HoldBatches();  // until several are in flight
    std::vector<TieredCache::LowerTier> tiers;
    tiers.push_back({std::move(fake), LowerTierOptions{}});
    TieredCache cache{l1, 1.0, std::move(tiers), TierHealthOptions{}, clock};
    Scheduler scheduler{SchedulerOptions{2}, clock};
    WarmingEngine engine{cache, scheduler, 1, clock};
    // Idle: the scheduler's timer and two workers, and the cache's prober.
    test::ClockDriver driver(clock, 1 + 2 + 1);
    // A busy daemon serves 1,000,000 requests between two looks; an idle one none.
    std::atomic<uint64_t> served{0};
    engine.YieldToServing([&] { return busy ? served += 1'000'000 : served.load(); }, 1000, 0.5);
    REQUIRE(engine.Add({.name = "s", .max_in_flight = 256},
                       std::make_unique<FakeSource>(clock, 640, 0ms))
                .ok());
    engine.Start();
    const TimePoint started = clock.Now();
    REQUIRE(engine.RunNow("s").ok());
    if (!busy) {
      const auto bound = std::chrono::steady_clock::now() + test::kRealTimeBound;
      while (l2.batches_pending.load() < 2 && std::chrono::steady_clock::now() < bound) {
        std::this_thread::sleep_for(1ms);
      }
      l2.ReleaseBatches();
    }
    REQUIRE(driver.AdvanceUntil([&] { return engine.Sources().at(0).runs == 1; }, 5ms));
    const auto took = clock.Now() - started;
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
  REQUIRE(f.engine.Add({.name = "a"}, std::make_unique<FakeSource>(f.clock, 1, 0ms)).ok());
  CHECK(f.engine.Add({.name = "a"}, std::make_unique<FakeSource>(f.clock, 1, 0ms)).code() ==
        StatusCode::kInvalidArgument);
  CHECK(f.engine.Add({.name = "b", .tiers = {"L9"}}, std::make_unique<FakeSource>(f.clock, 1, 0ms))
            .message() == "warming source b: no tier named 'L9'");
}

TEST_CASE("Warming: StoppingEndsARunAtItsNextPut", "[warming]") {
  Fixture f;
  REQUIRE(f.engine.Add({.name = "big", .max_keys_per_second = 100},
                       std::make_unique<FakeSource>(f.clock, 100000, 0ms))
              .ok());
  f.engine.Start();
  REQUIRE(f.engine.RunNow("big").ok());
  f.Settle();  // the run waits for its rate bound
  REQUIRE(f.Status().last);
  REQUIRE(f.Status().last->running);
  const auto stopping = std::chrono::steady_clock::now();
  f.engine.Stop();
  f.scheduler.Stop();  // waits for the run, which ends without the clock moving
  CHECK(std::chrono::steady_clock::now() - stopping < 1s);
  CHECK(f.engine.Sources().at(0).runs == 1);
}

TEST_CASE("Warming: TheHotSourceReportsKeysNoLongerHeldAsFailures", "[warming]") {
  Fixture f;
  // Without lower tiers nothing is hot: the run tries nothing.
  REQUIRE(f.engine.Add({.name = "hot", .tiers = {"L1"}}, MakeHotKeySource(f.cache, 100)).ok());
  f.engine.Start();
  REQUIRE(f.engine.RunNow("hot").ok());
  f.Settle();
  REQUIRE(f.Finished(1));
  CHECK(f.Status().kind == "hot");
  CHECK(f.Status().attempted == 0);
}

}  // namespace
}  // namespace tiercache
