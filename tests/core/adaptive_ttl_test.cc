// Unit tests of the adaptive-lifetime rule: DecayedHeat and AdaptiveTimeout are pure
// functions, so these tests need no clock at all. How the L1 store applies them on reads
// is tested in l1_store_test.cc.

#include "core/adaptive_ttl.h"

#include <catch2/catch.hpp>

#include <cmath>

#include "core/clock.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;

class AdaptiveTtlTest {
 protected:
  AdaptiveTtlTest() {
    options_.base_timeout = 300s;
    options_.min_timeout = 60s;
    options_.max_timeout = 3600s;
  }

  // The lifetime, in seconds, of a key of the given heat with the 300 s base.
  double TimeoutFor(double heat) const {
    return ToSeconds(AdaptiveTimeout(heat, options_.base_timeout, options_));
  }

  double Decayed(double heat, Duration idle) const {
    return DecayedHeat(heat, idle, options_.base_timeout);
  }

  AdaptiveOptions options_;
};

TEST_CASE_METHOD(AdaptiveTtlTest, "AdaptiveTtl: HeatIsUnchangedWithoutIdleTime", "[adaptive]") {
  REQUIRE(Decayed(8.0, 0s) == 8.0);
  REQUIRE(Decayed(8.0, -5s) == 8.0);
}

TEST_CASE_METHOD(AdaptiveTtlTest, "AdaptiveTtl: HeatHalvesEveryHalfLife", "[adaptive]") {
  REQUIRE(Decayed(8.0, 300s) == 4.0);
  REQUIRE(Decayed(8.0, 600s) == 2.0);
  REQUIRE(Decayed(8.0, 900s) == 1.0);
  REQUIRE(Decayed(8.0, 150s) == Approx(8.0 / std::sqrt(2.0)).epsilon(1e-9));
}

TEST_CASE_METHOD(AdaptiveTtlTest, "AdaptiveTtl: HeatDecaysTowardZeroAfterLongIdle",
                 "[adaptive]") {
  const double heat = Decayed(100.0, 300s * 30);
  REQUIRE(heat > 0.0);
  REQUIRE(heat < 1e-6);
}

TEST_CASE_METHOD(AdaptiveTtlTest, "AdaptiveTtl: NonPositiveHalfLifeDisablesDecay", "[adaptive]") {
  REQUIRE(DecayedHeat(5.0, 1000s, 0s) == 5.0);
  REQUIRE(DecayedHeat(5.0, 1000s, -1s) == 5.0);
}

TEST_CASE_METHOD(AdaptiveTtlTest, "AdaptiveTtl: KeyReadOnceLivesExactlyTheBase", "[adaptive]") {
  REQUIRE(TimeoutFor(1.0) == 300.0);
}

TEST_CASE_METHOD(AdaptiveTtlTest, "AdaptiveTtl: LifetimeGrowsWithLog2OfOnePlusHeat",
                 "[adaptive]") {
  REQUIRE(TimeoutFor(3.0) == 600.0);
  REQUIRE(TimeoutFor(7.0) == 900.0);
  REQUIRE(TimeoutFor(100.0) == Approx(300.0 * std::log2(101.0)).epsilon(1e-9));
}

TEST_CASE_METHOD(AdaptiveTtlTest, "AdaptiveTtl: HotKeyIsCappedAtMaxTimeout", "[adaptive]") {
  REQUIRE(TimeoutFor(1e6) == 3600.0);
  REQUIRE(TimeoutFor(4095.0) == 3600.0);  // 300 × 12 = 3600 exactly
  REQUIRE(TimeoutFor(2047.0) == 3300.0);  // 300 × 11, under the cap
}

TEST_CASE_METHOD(AdaptiveTtlTest, "AdaptiveTtl: ColdKeyFallsToMinTimeout", "[adaptive]") {
  REQUIRE(TimeoutFor(0.0) == 60.0);
  REQUIRE(TimeoutFor(-3.0) == 60.0);
  REQUIRE(TimeoutFor(0.1) == 60.0);  // 300 × log2(1.1) ≈ 41 s
}

TEST_CASE_METHOD(AdaptiveTtlTest, "AdaptiveTtl: DecayedKeyLivesLessThanBaseButNotBelowMin",
                 "[adaptive]") {
  // Heat 1 decayed over one half-life: 300 × log2(1.5) ≈ 175 s.
  REQUIRE(TimeoutFor(Decayed(1.0, 300s)) == Approx(300.0 * std::log2(1.5)).epsilon(1e-9));
  REQUIRE(TimeoutFor(Decayed(1.0, 300s)) < 300.0);
  // After ten half-lives the heat is below 0.001: the floor.
  REQUIRE(TimeoutFor(Decayed(1.0, 3000s)) == 60.0);
}

TEST_CASE_METHOD(AdaptiveTtlTest, "AdaptiveTtl: ReadsAfterIdleGiveAShorterLifetimeThanHotReads",
                 "[adaptive]") {
  const double hot = TimeoutFor(100.0);
  const double after_idle = TimeoutFor(Decayed(100.0, 1800s) + 1.0);  // the read adds 1
  REQUIRE(after_idle == Approx(300.0 * std::log2(2.0 + 100.0 / 64.0)).epsilon(1e-9));
  REQUIRE(after_idle < hot);
}

TEST_CASE_METHOD(AdaptiveTtlTest, "AdaptiveTtl: LifetimeNeverDecreasesAsHeatGrows",
                 "[adaptive]") {
  double previous = TimeoutFor(0.0);
  for (double heat = 0.0; heat < 5000.0; heat += 0.5) {
    const double t = TimeoutFor(heat);
    REQUIRE(t >= previous);
    REQUIRE(t >= 60.0);
    REQUIRE(t <= 3600.0);
    previous = t;
  }
}

TEST_CASE_METHOD(AdaptiveTtlTest, "AdaptiveTtl: BaseScalesTheLifetime", "[adaptive]") {
  REQUIRE(ToSeconds(AdaptiveTimeout(3.0, 100s, options_)) == 200.0);
  REQUIRE(ToSeconds(AdaptiveTimeout(1.0, 1000s, options_)) == 1000.0);
}

}  // namespace
}  // namespace tiercache
