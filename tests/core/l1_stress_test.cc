// Concurrency stress test of the L1 store, on the real clock: several threads run a random
// mix of every operation on a small store, then the bounds and the byte accounting are
// checked. Sized to finish in seconds under ThreadSanitizer, which must report nothing.
//
// Catch2 assertions are not thread-safe, so the worker threads only count what they see
// and the main thread asserts after joining them.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/key_pattern.h"
#include "core/l1_shard.h"
#include "core/l1_store.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;

class L1StressTest {
 protected:
  static constexpr int kThreads = 4;
  static constexpr int kOpsPerThread = 50'000;
  static constexpr int kKeys = 2000;
  static constexpr uint64_t kMaxEntries = 500;
  // 24 KiB per shard: a shard of 125 small entries fits, one of large entries does not,
  // so both bounds come into play.
  static constexpr uint64_t kMaxBytes = 96 * 1024;

  L1StressTest() {
    L1Options options;
    options.shards = 4;
    options.max_entries = kMaxEntries;
    options.max_bytes = kMaxBytes;
    options.ttl_factor = 1.0;
    store_ = std::make_unique<L1Store>(options, AdaptiveOptions{}, Clock::System());
    auto compiled = KeyPattern::Compile("^k1[0-9]*7$");
    REQUIRE(compiled.ok());
    pattern_ = std::move(compiled).value();
  }

  static std::string KeyOf(int i) { return "k" + std::to_string(i); }

  // Every key always carries the same tags, so the charge of an entry follows from its key
  // and value alone.
  static std::vector<std::string> TagsOf(int i) {
    return {"t" + std::to_string(i % 8), "u" + std::to_string(i % 3)};
  }

  // A value names its key, so a value served for the wrong key is detected.
  static std::string ValueFor(const std::string& key, size_t filler) {
    return key + "=" + std::string(filler, 'x');
  }

  void Worker(int thread_index) {
    std::mt19937 rng(1234 + thread_index);
    std::uniform_int_distribution<int> op_dist(0, 9999);
    std::uniform_int_distribution<int> key_dist(0, kKeys - 1);
    std::uniform_int_distribution<size_t> small_dist(0, 20);
    std::uniform_int_distribution<size_t> large_dist(300, 800);
    std::uniform_int_distribution<int> ttl_ms_dist(10, 2000);
    for (int n = 0; n < kOpsPerThread; ++n) {
      // Per 10,000 operations: 4,000 sets, 500 deletes, 300 reclaims, 500 bound checks,
      // 20 tag and 50 pattern invalidations, 5 clears, and gets for the rest.
      const int op = op_dist(rng);
      const int i = key_dist(rng);
      const std::string key = KeyOf(i);
      if (op < 4000) {
        const Lifetime lifetime{op % 2 == 0 ? Lifetime::Kind::kFixed : Lifetime::Kind::kAdaptive,
                                std::chrono::milliseconds(ttl_ms_dist(rng))};
        const size_t filler = op % 5 == 0 ? large_dist(rng) : small_dist(rng);
        auto value = std::make_shared<const std::string>(ValueFor(key, filler));
        if (!store_->Set(key, std::move(value), TagsOf(i), lifetime).ok()) {
          refused_sets_.fetch_add(1, std::memory_order_relaxed);
        }
      } else if (op < 4500) {
        store_->Delete(key);
      } else if (op < 4800) {
        store_->ReclaimExpired(16);
      } else if (op < 5300) {
        const L1Stats stats = store_->Stats();
        if (stats.entries > kMaxEntries || stats.bytes > kMaxBytes) {
          bound_violations_.fetch_add(1, std::memory_order_relaxed);
        }
      } else if (op < 5320) {
        store_->InvalidateTags({"t" + std::to_string(i % 8), "nope"});
      } else if (op < 5370) {
        store_->InvalidateMatching(*pattern_);
      } else if (op < 5375) {
        store_->Clear();
      } else {
        gets_.fetch_add(1, std::memory_order_relaxed);
        if (auto found = store_->Get(key)) {
          const std::string value(*found->value);
          if (value.compare(0, key.size() + 1, key + "=") != 0) {
            wrong_values_.fetch_add(1, std::memory_order_relaxed);
          }
        }
      }
    }
  }

  void RunWorkers() {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) threads.emplace_back([this, t] { Worker(t); });
    for (auto& thread : threads) thread.join();
  }

  std::unique_ptr<L1Store> store_;
  std::shared_ptr<const KeyPattern> pattern_;
  std::atomic<uint64_t> gets_{0};
  std::atomic<uint64_t> wrong_values_{0};
  std::atomic<uint64_t> refused_sets_{0};
  std::atomic<uint64_t> bound_violations_{0};
};

TEST_CASE_METHOD(L1StressTest, "L1Stress: ConcurrentMixedOperationsKeepBoundsAndAccounting",
                 "[stress]") {
  RunWorkers();

  REQUIRE(wrong_values_ == 0);
  REQUIRE(refused_sets_ == 0);
  REQUIRE(bound_violations_ == 0);
  const L1Stats after_run = store_->Stats();
  REQUIRE(after_run.entries <= kMaxEntries);
  REQUIRE(after_run.bytes <= kMaxBytes);
  REQUIRE(after_run.hits + after_run.misses == gets_);
  REQUIRE(after_run.evictions > 0);

  // Read every key once: live entries are returned, expired ones are erased by the read.
  // Nothing else runs now, so what remains is exactly what these reads returned (an entry
  // that expires after its read stays until reclaimed, and was counted).
  uint64_t live = 0;
  uint64_t live_bytes = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = KeyOf(i);
    if (auto found = store_->Get(key)) {
      ++live;
      live_bytes += L1Shard::Charge(key, *found->value, TagsOf(i));
    }
  }
  const L1Stats after_reads = store_->Stats();
  REQUIRE(after_reads.entries == live);
  REQUIRE(after_reads.bytes == live_bytes);

  REQUIRE(store_->Clear() <= live);
  const L1Stats cleared = store_->Stats();
  REQUIRE(cleared.entries == 0);
  REQUIRE(cleared.bytes == 0);
}

TEST_CASE_METHOD(L1StressTest, "L1Stress: ConcurrentWritersNeverExceedTheBoundsAtAnyMoment",
                 "[stress]") {
  std::atomic<bool> done{false};
  std::atomic<uint64_t> samples{0};
  std::thread observer([&] {
    while (!done.load(std::memory_order_acquire)) {
      const L1Stats stats = store_->Stats();
      if (stats.entries > kMaxEntries || stats.bytes > kMaxBytes) {
        bound_violations_.fetch_add(1, std::memory_order_relaxed);
      }
      samples.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([this, t] {
      std::mt19937 rng(99 + t);
      std::uniform_int_distribution<int> key_dist(0, kKeys - 1);
      std::uniform_int_distribution<size_t> size_dist(0, 2000);
      for (int n = 0; n < 20'000; ++n) {
        const int i = key_dist(rng);
        const std::string key = KeyOf(i);
        if (!store_->Set(key, std::make_shared<const std::string>(ValueFor(key, size_dist(rng))),
                         TagsOf(i), Lifetime{Lifetime::Kind::kFixed, 60s})
                 .ok()) {
          refused_sets_.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (auto& writer : writers) writer.join();
  done.store(true, std::memory_order_release);
  observer.join();

  REQUIRE(samples > 0);
  REQUIRE(bound_violations_ == 0);
  REQUIRE(refused_sets_ == 0);
  const L1Stats stats = store_->Stats();
  REQUIRE(stats.bytes <= kMaxBytes);
  REQUIRE(stats.evictions > 0);
  REQUIRE(stats.expirations == 0);
  REQUIRE(store_->Clear() == stats.entries);
  REQUIRE(store_->Stats().bytes == 0);
}

}  // namespace
}  // namespace tiercache
