// Unit tests of the fixed ring of samples behind GET /v1/stats/history.

#include "core/stats_history.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

namespace tiercache {
namespace {

// A sample told apart by its request rate.
StatsSample SampleNumbered(int n) {
  StatsSample s;
  s.requests_per_second = n;
  return s;
}

std::vector<int> Numbers(const std::vector<StatsSample>& samples) {
  std::vector<int> out;
  for (const StatsSample& s : samples) out.push_back(static_cast<int>(s.requests_per_second));
  return out;
}

TEST_CASE("StatsHistory: HoldsFifteenMinutesOfSecondsByDefault", "[stats]") {
  CHECK(StatsHistory().capacity() == 900);
  CHECK(StatsHistory().Snapshot().empty());
}

TEST_CASE("StatsHistory: SnapshotIsOldestFirst", "[stats]") {
  StatsHistory history(5);
  for (int i = 1; i <= 3; ++i) history.Add(SampleNumbered(i));
  CHECK(Numbers(history.Snapshot()) == std::vector<int>{1, 2, 3});
}

TEST_CASE("StatsHistory: AFullHistoryDropsTheOldest", "[stats]") {
  StatsHistory history(3);
  for (int i = 1; i <= 7; ++i) history.Add(SampleNumbered(i));
  CHECK(Numbers(history.Snapshot()) == std::vector<int>{5, 6, 7});
}

TEST_CASE("StatsHistory: ZeroCapacityKeepsTheLatestSample", "[stats]") {
  StatsHistory history(0);
  history.Add(SampleNumbered(1));
  history.Add(SampleNumbered(2));
  CHECK(Numbers(history.Snapshot()) == std::vector<int>{2});
}

// Sample n taken at n seconds past the epoch.
StatsSample SampleAtSecond(int n) {
  StatsSample s = SampleNumbered(n);
  s.time = WallTime(std::chrono::seconds(n));
  return s;
}

TEST_CASE("StatsHistory: SinceGivesOnlyTheNewerSamples", "[stats]") {
  StatsHistory history(5);
  for (int i = 1; i <= 7; ++i) history.Add(SampleAtSecond(i));
  CHECK(Numbers(history.Since(WallTime(std::chrono::seconds(5)))) == std::vector<int>{6, 7});
  CHECK(Numbers(history.Since(WallTime(std::chrono::seconds(1)))) ==
        std::vector<int>{3, 4, 5, 6, 7});
  CHECK(history.Since(WallTime(std::chrono::seconds(7))).empty());
}

TEST_CASE("StatsHistory: SinceALaterTimeThanTheNewestGivesEverything", "[stats]") {
  // The poller's newest sample is from before the wall clock went back.
  StatsHistory history(5);
  for (int i = 1; i <= 3; ++i) history.Add(SampleAtSecond(i));
  CHECK(Numbers(history.Since(WallTime(std::chrono::seconds(60)))) ==
        std::vector<int>{1, 2, 3});
  CHECK(StatsHistory(5).Since(WallTime(std::chrono::seconds(60))).empty());
}

TEST_CASE("StatsHistory: ReadersSeeBoundedInOrderSnapshotsWhileSamplesAreAdded", "[stats]") {
  StatsHistory history(50);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 1; i <= 5000; ++i) history.Add(SampleNumbered(i));
    done = true;
  });
  bool in_order = true;
  bool bounded = true;
  while (!done) {
    const std::vector<int> seen = Numbers(history.Snapshot());
    bounded = bounded && seen.size() <= 50;
    for (size_t i = 1; i < seen.size(); ++i) in_order = in_order && seen[i] == seen[i - 1] + 1;
  }
  writer.join();
  CHECK(bounded);
  CHECK(in_order);
  CHECK(Numbers(history.Snapshot()).back() == 5000);
}

}  // namespace
}  // namespace tiercache
