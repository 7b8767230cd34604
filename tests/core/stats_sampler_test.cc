// Unit tests of the once-a-second sampler behind the dashboard: per-interval rates from the
// service's cumulative counters, on a fake clock, and its thread's start and stop.

#include "core/stats_sampler.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "tests/core/fake_tier.h"
#include "tests/core/sync_service.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;

// A service over L1 (on a fake clock) and optionally one fake lower tier, and a sampler
// whose clocks and memory reading are the test's.
class StatsSamplerTest {
 protected:
  explicit StatsSamplerTest(bool with_lower_tier = false) {
    store_ = std::make_unique<L1Store>(L1Options{}, AdaptiveOptions{}, clock_);
    std::vector<TieredCache::LowerTier> tiers;
    if (with_lower_tier) {
      auto l2 = std::make_unique<test::FakeTier>("L2");
      l2_ = l2.get();
      tiers.push_back({std::move(l2), LowerTierOptions{}});
    }
    TierHealthOptions health;
    health.interval = 20ms;
    cache_ = std::make_unique<TieredCache>(*store_, 1.0, std::move(tiers), health,
                                           Clock::System());
    service_ = std::make_unique<CacheService>(Limits{}, StrategyOptions{}, *cache_);
    StatsSamplerOptions options;
    options.wall_clock = [this] { return WallTime(clock_.Now().time_since_epoch()); };
    options.resident_bytes = [this]() -> Result<uint64_t> {
      if (resident_ == 0) return Status::Internal("no /proc here");
      return resident_;
    };
    sampler_ = std::make_unique<StatsSampler>(*service_, history_, clock_, options);
  }

  void Put(const std::string& key) {
    SetRequest r;
    r.key = key;
    r.value = "value";
    REQUIRE(test::SyncSet(*service_, Frontend::Named("http"), r).ok());
  }
  bool Get(const std::string& key) { return test::SyncGet(*service_, Frontend::Named("http"), key).ok(); }

  // Advances the clock by `d` and takes a sample of that interval.
  StatsSample TickAfter(Duration d) {
    clock_.Advance(d);
    sampler_->Tick();
    const auto samples = history_.Snapshot();
    REQUIRE_FALSE(samples.empty());
    return samples.back();
  }

  FakeClock clock_;
  uint64_t resident_ = 64 << 20;
  std::unique_ptr<L1Store> store_;
  test::FakeTier* l2_ = nullptr;
  std::unique_ptr<TieredCache> cache_;
  std::unique_ptr<CacheService> service_;
  StatsHistory history_{900};
  std::unique_ptr<StatsSampler> sampler_;
};

class StatsSamplerWithTierTest : public StatsSamplerTest {
 protected:
  StatsSamplerWithTierTest() : StatsSamplerTest(/*with_lower_tier=*/true) {}
};

TEST_CASE_METHOD(StatsSamplerTest, "StatsSampler: HitRatesCoverOnlyTheLastInterval", "[stats]") {
  Put("k");
  REQUIRE(Get("k"));
  REQUIRE(Get("k"));
  REQUIRE_FALSE(Get("absent"));
  StatsSample s = TickAfter(1s);
  REQUIRE(s.hit_rate.has_value());
  CHECK(*s.hit_rate == Approx(2.0 / 3));
  REQUIRE(s.l1_hit_rate.has_value());
  CHECK(*s.l1_hit_rate == Approx(2.0 / 3));

  REQUIRE_FALSE(Get("absent"));
  s = TickAfter(1s);
  CHECK(*s.hit_rate == Approx(0.0));
  CHECK(*s.l1_hit_rate == Approx(0.0));
}

TEST_CASE_METHOD(StatsSamplerTest, "StatsSampler: AnIntervalWithoutGetsHasNoHitRateOrP99",
                 "[stats]") {
  Put("k");
  const StatsSample s = TickAfter(1s);
  CHECK_FALSE(s.hit_rate.has_value());
  CHECK_FALSE(s.l1_hit_rate.has_value());
  CHECK_FALSE(s.get_p99_seconds.has_value());
  CHECK(s.requests_per_second == Approx(1.0));
}

TEST_CASE_METHOD(StatsSamplerTest, "StatsSampler: RequestsPerSecondDividesByTheMeasuredInterval",
                 "[stats]") {
  for (int i = 0; i < 6; ++i) Put("k" + std::to_string(i));
  for (int i = 0; i < 4; ++i) Get("k" + std::to_string(i));
  CHECK(TickAfter(2s).requests_per_second == Approx(5.0));
  CHECK(TickAfter(1s).requests_per_second == Approx(0.0));
}

TEST_CASE_METHOD(StatsSamplerTest, "StatsSampler: GetP99LiesWithinTheLatencyBuckets", "[stats]") {
  Put("k");
  for (int i = 0; i < 100; ++i) REQUIRE(Get("k"));
  const StatsSample s = TickAfter(1s);
  REQUIRE(s.get_p99_seconds.has_value());
  CHECK(*s.get_p99_seconds > 0);
  CHECK(*s.get_p99_seconds <= RequestMetrics::kBuckets.back());
}

TEST_CASE_METHOD(StatsSamplerTest, "StatsSampler: SamplesCarryL1SizeMemoryAndTheWallClockTime",
                 "[stats]") {
  Put("a");
  Put("b");
  const StatsSample s = TickAfter(1s);
  const L1Stats l1 = store_->Stats();
  CHECK(s.l1_entries == 2);
  CHECK(s.l1_bytes == l1.bytes);
  CHECK(s.resident_bytes == std::optional<uint64_t>(64 << 20));
  CHECK(s.time == std::chrono::floor<std::chrono::milliseconds>(
                       WallTime(clock_.Now().time_since_epoch())));
  CHECK(s.tiers.empty());
}

TEST_CASE_METHOD(StatsSamplerTest,
                 "StatsSampler: TimesAreWholeMillisecondsSoSinceTheNewestGivesNothingAgain",
                 "[stats]") {
  const StatsSample s = TickAfter(std::chrono::microseconds(1500));
  CHECK(s.time.time_since_epoch() % std::chrono::milliseconds(1) == Duration::zero());
  const auto reported = std::chrono::floor<std::chrono::milliseconds>(s.time);
  CHECK(history_.Since(reported).empty());
}

TEST_CASE_METHOD(StatsSamplerTest, "StatsSampler: UnreadableMemoryLeavesAGapNotAZero", "[stats]") {
  resident_ = 0;
  CHECK_FALSE(TickAfter(1s).resident_bytes.has_value());
}

TEST_CASE_METHOD(StatsSamplerWithTierTest, "StatsSampler: SamplesRecordEachLowerTiersState",
                 "[stats]") {
  StatsSample s = TickAfter(1s);
  REQUIRE(s.tiers.size() == 1);
  CHECK(s.tiers[0].name == "L2");
  CHECK(s.tiers[0].state == TierState::kUp);

  l2_->failing = true;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (cache_->LowerTiers()[0].state != TierState::kDown &&
         std::chrono::steady_clock::now() < deadline) {
    Get("miss");  // failures in a row mark it down
    std::this_thread::sleep_for(10ms);
  }
  s = TickAfter(1s);
  CHECK(s.tiers[0].state == TierState::kDown);
}

TEST_CASE("StatsSampler: StartSamplesEveryIntervalUntilStop", "[stats]") {
  FakeClock clock;
  L1Store store(L1Options{}, AdaptiveOptions{}, clock);
  TieredCache cache(store, 1.0, {}, TierHealthOptions{}, clock);
  CacheService service(Limits{}, StrategyOptions{}, cache);
  StatsHistory history;
  StatsSamplerOptions options;
  options.interval = 10ms;
  StatsSampler sampler(service, history, clock, options);

  sampler.Start();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (history.Snapshot().size() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  sampler.Stop();
  const size_t taken = history.Snapshot().size();
  CHECK(taken >= 3);
  std::this_thread::sleep_for(50ms);
  CHECK(history.Snapshot().size() == taken);
  sampler.Stop();  // idempotent
}

}  // namespace
}  // namespace tiercache
