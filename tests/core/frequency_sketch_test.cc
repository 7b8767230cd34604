#include "core/frequency_sketch.h"

#include <catch2/catch.hpp>

#include <functional>
#include <string>

namespace tiercache {
namespace {

uint64_t HashOf(const std::string& key) { return std::hash<std::string>{}(key); }

TEST_CASE("FrequencySketch: AFirstSightingGoesToTheDoorkeeperOnly", "[l1][tinylfu]") {
  FrequencySketch sketch(1000);
  CHECK(sketch.Frequency(HashOf("k")) == 0);
  sketch.Increment(HashOf("k"));
  CHECK(sketch.Frequency(HashOf("k")) == 1);
  sketch.Increment(HashOf("k"));
  CHECK(sketch.Frequency(HashOf("k")) == 2);
  CHECK(sketch.Frequency(HashOf("other")) == 0);
}

TEST_CASE("FrequencySketch: CountsSaturateAtSixteen", "[l1][tinylfu]") {
  FrequencySketch sketch(1000);
  for (int i = 0; i < 100; ++i) sketch.Increment(HashOf("hot"));
  CHECK(sketch.Frequency(HashOf("hot")) == 16);  // 15 in the counters, 1 in the doorkeeper
}

TEST_CASE("FrequencySketch: OftenSeenKeysEstimateAboveRareOnes", "[l1][tinylfu]") {
  FrequencySketch sketch(1000);
  for (int i = 0; i < 500; ++i) {
    sketch.Increment(HashOf("rare" + std::to_string(i)));
    if (i % 50 == 0) {
      for (int j = 0; j < 8; ++j) sketch.Increment(HashOf("often"));
    }
  }
  int overestimated = 0;
  for (int i = 0; i < 500; ++i) {
    overestimated += sketch.Frequency(HashOf("rare" + std::to_string(i))) > 2 ? 1 : 0;
  }
  CHECK(sketch.Frequency(HashOf("often")) == 16);
  CHECK(overestimated < 10);  // a count-min sketch may overcount a few keys, never undercount
}

TEST_CASE("FrequencySketch: AgingHalvesCountsAndClearsTheDoorkeeper", "[l1][tinylfu]") {
  FrequencySketch sketch(16);  // ages every 160 sightings
  for (int i = 0; i < 9; ++i) sketch.Increment(HashOf("k"));
  REQUIRE(sketch.Frequency(HashOf("k")) == 9);  // 8 counted, 1 doorkeeper
  for (int i = 0; i < 151; ++i) sketch.Increment(HashOf("filler" + std::to_string(i % 3)));
  // 160 sightings: the counters halved (8 -> 4), the doorkeeper forgot everything.
  CHECK(sketch.Frequency(HashOf("k")) == 4);
}

}  // namespace
}  // namespace tiercache
