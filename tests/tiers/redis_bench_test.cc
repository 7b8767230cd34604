// A throughput probe of the Redis tier's Get, hidden from the normal runs (tag [.bench]):
//   build-redis/tests/tiers/redis_tier_tests "[bench]"
// Compare with redis-benchmark -t get against the same kind of server.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "tests/support/redis_server.h"
#include "tiers/redis/redis_tier.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;

TEST_CASE("RedisBench: GetsPerSecondWithManyCallers", "[.bench]") {
  RedisServer server;
  RedisTierOptions o;
  o.url = server.url();
  o.sweep_interval = 1h;
  auto made = MakeRedisTier(o);
  REQUIRE(made.ok());
  Tier& tier = **made;
  // Keys spread over the connections as a real load's would be.
  constexpr int kKeys = 1000;
  for (int i = 0; i < kKeys; ++i) {
    REQUIRE(SyncTier(tier).Set("key:" + std::to_string(i), std::string(3, 'x')).ok());
  }

  // Like redis-benchmark's 50 clients: 50 callers, each waiting for its answer before
  // asking again, driven from 2 threads.
  constexpr int kCallers = 50;
  constexpr auto kRun = 3s;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<int> running{0};
  std::atomic<uint64_t> next{0};
  std::function<void()> ask = [&] {
    if (stop.load()) {
      running.fetch_sub(1);
      return;
    }
    tier.Get("key:" + std::to_string(next.fetch_add(1) % kKeys), [&](Result<TierEntry> r) {
      if (!r.ok()) errors.fetch_add(1);
      done.fetch_add(1);
      ask();  // the next request of this caller, from the connection thread
    });
  };
  const auto start = std::chrono::steady_clock::now();
  running = kCallers;
  for (int i = 0; i < kCallers; ++i) ask();
  std::this_thread::sleep_for(kRun);
  stop = true;
  while (running.load() > 0) std::this_thread::sleep_for(1ms);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("redis tier Get: %.0f ops/s (%llu ops, %llu errors)\n", done.load() / seconds,
              static_cast<unsigned long long>(done.load()),
              static_cast<unsigned long long>(errors.load()));
  CHECK(errors.load() == 0);
}

}  // namespace
}  // namespace tiercache::test
