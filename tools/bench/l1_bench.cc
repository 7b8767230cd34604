// Microbenchmark of the L1 store: lookups, stores and a 90/10 mix on 100-byte values over
// 100k keys, with one and two threads sharing one store.
//
//   l1_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// BM_L1GetJson64K and BM_L1SetJson64K read and write 64 KiB JSON values kept as they are
// (codec 0) or compressed (1 zstd, 2 lz4).
//
// The argument of BM_L1Get and BM_L1Mixed picks the key distribution: 0 uniform, 1 Zipf
// (s = 0.99, rank 0 hottest). Key sequences are drawn before timing starts.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/l1_store.h"
#include "tools/common/key_distribution.h"

namespace {

using tiercache::L1Store;
using tiercache::Lifetime;

constexpr size_t kKeys = 100'000;
constexpr size_t kValueBytes = 100;
constexpr size_t kSequence = size_t{1} << 16;  // pre-drawn operations per thread, reused cyclically
constexpr double kZipfS = 0.99;

struct Fixture {
  std::vector<std::string> keys;
  // One value per key, as in a real cache: a value shared by every key would make all
  // threads bump one reference count and measure that cache line instead of the store.
  std::vector<std::shared_ptr<const std::string>> values;
  std::unique_ptr<L1Store> store;
  tierbench::KeyDistribution zipf_keys{tierbench::Distribution::kZipf, kKeys, kZipfS};

  Fixture() {
    keys.reserve(kKeys);
    for (size_t i = 0; i < kKeys; ++i) keys.push_back("bench:user:" + std::to_string(i) + ":profile");
    values.reserve(kKeys);
    for (size_t i = 0; i < kKeys; ++i) {
      values.push_back(std::make_shared<const std::string>(kValueBytes, 'v'));
    }
    tiercache::L1Options options;  // defaults: 16 shards, 1M entries, 1 GiB: everything fits
    store = std::make_unique<L1Store>(options, tiercache::AdaptiveOptions{},
                                      tiercache::Clock::System());
    Lifetime life;
    life.timeout = std::chrono::hours(24);  // never expires during a run
    for (size_t i = 0; i < kKeys; ++i) store->Set(keys[i], values[i], {}, life);
  }

  // Key indexes for one thread: uniform or Zipf, seeded by the thread index.
  std::vector<uint32_t> Sequence(bool zipf, int thread) const {
    std::mt19937_64 rng(12345 + static_cast<uint64_t>(thread));
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<uint32_t> seq(kSequence);
    for (auto& k : seq) {
      if (zipf) {
        k = static_cast<uint32_t>(zipf_keys.Pick(u(rng)));
      } else {
        k = static_cast<uint32_t>(std::min<size_t>(static_cast<size_t>(u(rng) * kKeys), kKeys - 1));
      }
    }
    return seq;
  }
};

// Built once, before the first benchmark runs (thread-safe static initialisation), and
// shared by every benchmark and thread.
Fixture& Shared() {
  static Fixture f;
  return f;
}

Lifetime DayLifetime() {
  Lifetime life;
  life.timeout = std::chrono::hours(24);
  return life;
}

void BM_L1Get(benchmark::State& state) {
  Fixture& f = Shared();
  const auto seq = f.Sequence(state.range(0) != 0, state.thread_index());
  size_t i = 0;
  int64_t misses = 0;
  for (auto _ : state) {
    auto v = f.store->Get(f.keys[seq[i++ & (kSequence - 1)]]);
    if (!v) ++misses;
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["misses"] = benchmark::Counter(static_cast<double>(misses), benchmark::Counter::kAvgThreads);
}

void BM_L1Set(benchmark::State& state) {
  Fixture& f = Shared();
  const auto seq = f.Sequence(state.range(0) != 0, state.thread_index());
  const Lifetime life = DayLifetime();
  size_t i = 0;
  for (auto _ : state) {
    // A fresh value per store, as the server makes one from each request body.
    auto st = f.store->Set(f.keys[seq[i++ & (kSequence - 1)]],
                           std::make_shared<const std::string>(kValueBytes, 'v'), {}, life);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_L1Mixed(benchmark::State& state) {
  Fixture& f = Shared();
  const auto seq = f.Sequence(state.range(0) != 0, state.thread_index());
  std::vector<uint8_t> is_set(kSequence);
  {
    std::mt19937 rng(777 + state.thread_index());
    for (auto& s : is_set) s = (rng() % 10) == 0;  // 10 % SETs, 90 % GETs
  }
  const Lifetime life = DayLifetime();
  size_t i = 0;
  for (auto _ : state) {
    const size_t j = i++ & (kSequence - 1);
    const std::string& key = f.keys[seq[j]];
    if (is_set[j]) {
      auto st = f.store->Set(key, std::make_shared<const std::string>(kValueBytes, 'v'), {},
                             life);
      benchmark::DoNotOptimize(st);
    } else {
      auto v = f.store->Get(key);
      benchmark::DoNotOptimize(v);
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void Setup(const benchmark::State&) { Shared(); }

// 64 KiB JSON values kept as they are (arg 0), or compressed with zstd (1) or lz4 (2):
// what a read and a write of one cost with l1.compress_min_bytes, and the bytes held.
constexpr size_t kJsonKeys = 256;

std::string JsonValue(size_t seed) {
  std::string doc = "{\"page\": " + std::to_string(seed) + ", \"users\": [";
  for (size_t i = 0; doc.size() < 64 * 1024 - 64; ++i) {
    if (i > 0) doc += ", ";
    doc += "{\"id\": " + std::to_string(seed * 1000 + i) + ", \"email\": \"user" +
           std::to_string(i) + "@example.com\", \"active\": " + (i % 3 ? "true" : "false") +
           "}";
  }
  return doc + "]}";
}

struct JsonFixture {
  std::vector<std::string> keys;
  std::vector<std::shared_ptr<const std::string>> values;
  std::unique_ptr<L1Store> store;

  explicit JsonFixture(int codec) {
    tiercache::L1Options options;
    if (codec != 0) {
      options.compress_min_bytes = 1024;
      options.compression =
          codec == 1 ? tiercache::CompressionCodec::kZstd : tiercache::CompressionCodec::kLz4;
    }
    store = std::make_unique<L1Store>(options, tiercache::AdaptiveOptions{},
                                      tiercache::Clock::System());
    for (size_t i = 0; i < kJsonKeys; ++i) {
      keys.push_back("bench:page:" + std::to_string(i));
      values.push_back(std::make_shared<const std::string>(JsonValue(i)));
      store->Set(keys[i], values[i], {}, DayLifetime());
    }
  }
};

JsonFixture& SharedJson(int codec) {
  static JsonFixture none(0), zstd(1), lz4(2);
  return codec == 0 ? none : codec == 1 ? zstd : lz4;
}

void ReportJson(benchmark::State& state, const JsonFixture& f) {
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(f.values[0]->size()));
  state.counters["held_bytes_per_value"] =
      static_cast<double>(f.store->Stats().bytes) / static_cast<double>(kJsonKeys);
}

void BM_L1GetJson64K(benchmark::State& state) {
  JsonFixture& f = SharedJson(static_cast<int>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    auto v = f.store->Get(f.keys[i++ % kJsonKeys]);
    benchmark::DoNotOptimize(v);
  }
  ReportJson(state, f);
}

void BM_L1SetJson64K(benchmark::State& state) {
  JsonFixture& f = SharedJson(static_cast<int>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ % kJsonKeys;
    auto st = f.store->Set(f.keys[k], f.values[k], {}, DayLifetime());
    benchmark::DoNotOptimize(st);
  }
  ReportJson(state, f);
}

BENCHMARK(BM_L1Get)->Setup(Setup)->ArgName("zipf")->Arg(0)->Arg(1)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_L1Set)->Setup(Setup)->ArgName("zipf")->Arg(0)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_L1GetJson64K)->ArgName("codec")->Arg(0)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_L1SetJson64K)->ArgName("codec")->Arg(0)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_L1Mixed)->Setup(Setup)->ArgName("zipf")->Arg(0)->Arg(1)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
