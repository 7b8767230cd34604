// Unit tests of the quantile estimate over histogram buckets that the dashboard's p99 uses.

#include "core/histogram_quantile.h"

#include <array>
#include <catch2/catch.hpp>
#include <vector>

namespace tiercache {
namespace {


// Bounds 1, 2, 4, 8 (and +Inf): easy to interpolate by hand.
constexpr std::array<double, 4> kBounds = {1, 2, 4, 8};

TEST_CASE("HistogramQuantile: NoObservationsHasNoQuantile", "[histogram]") {
  const std::array<uint64_t, 5> counts{};
  CHECK_FALSE(HistogramQuantile(kBounds, counts, 0.99).has_value());
}

TEST_CASE("HistogramQuantile: InterpolatesLinearlyInsideTheBucketHoldingTheRank",
          "[histogram]") {
  // 100 observations: 50 in (0, 1], 40 in (2, 4], 10 in (4, 8].
  const std::array<uint64_t, 5> counts = {50, 0, 40, 10, 0};
  // Rank 50 is the last of the first bucket: its upper bound.
  CHECK(*HistogramQuantile(kBounds, counts, 0.5) == Approx(1.0));
  // Rank 70 is half way through (2, 4].
  CHECK(*HistogramQuantile(kBounds, counts, 0.7) == Approx(3.0));
  // Rank 99 is 9/10 of the way through (4, 8].
  CHECK(*HistogramQuantile(kBounds, counts, 0.99) == Approx(7.6));
}

TEST_CASE("HistogramQuantile: TheFirstBucketStartsAtZero", "[histogram]") {
  const std::array<uint64_t, 5> counts = {100, 0, 0, 0, 0};
  CHECK(*HistogramQuantile(kBounds, counts, 0.99) == Approx(0.99));
}

TEST_CASE("HistogramQuantile: ARankInTheInfiniteBucketIsTheHighestFiniteBound",
          "[histogram]") {
  const std::array<uint64_t, 5> counts = {10, 0, 0, 0, 90};
  CHECK(*HistogramQuantile(kBounds, counts, 0.99) == Approx(8.0));
}

TEST_CASE("HistogramQuantile: MismatchedSizesHaveNoQuantile", "[histogram]") {
  const std::array<uint64_t, 4> counts = {1, 1, 1, 1};  // no +Inf count
  CHECK_FALSE(HistogramQuantile(kBounds, counts, 0.5).has_value());
}

}  // namespace
}  // namespace tiercache
