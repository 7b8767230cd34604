#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "core/latency_clock.h"

namespace tiercache {
namespace {

TEST_CASE("LatencyClock: MeasuresWhatSteadyClockMeasures", "[latency_clock]") {
  const auto steady_start = std::chrono::steady_clock::now();
  const LatencyClock::Point start = LatencyClock::Now();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const LatencyClock::Point end = LatencyClock::Now();
  const Duration steady = std::chrono::steady_clock::now() - steady_start;
  const Duration measured = LatencyClock::Between(start, end);
  INFO("tsc: " << LatencyClock::UsesTsc() << ", measured " << ToSeconds(measured)
               << " s, steady_clock " << ToSeconds(steady) << " s");
  // Inside the span steady_clock saw around it, within a calibration error of 1%.
  CHECK(measured >= std::chrono::milliseconds(30));
  CHECK(ToSeconds(measured) <= ToSeconds(steady) * 1.01);
}

TEST_CASE("LatencyClock: AnEndBeforeItsStartIsNoTime", "[latency_clock]") {
  const LatencyClock::Point now = LatencyClock::Now();
  CHECK(LatencyClock::Between(now + 1000, now) == Duration::zero());
  CHECK(LatencyClock::Between(now, now) == Duration::zero());
}

}  // namespace
}  // namespace tiercache
