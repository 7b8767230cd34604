#include "core/l1_store.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <bit>
#include <unordered_map>
#include <functional>

#include "core/l1_shard.h"

namespace tiercache {

L1Store::L1Store(const L1Options& options, const AdaptiveOptions& adaptive, const Clock& clock,
                 KeyStats* stats, size_t miss_history)
    : compressor_(options.compress_min_bytes > 0
                      ? std::make_unique<Compressor>(CompressionOptions{
                            options.compression, options.compress_min_bytes})
                      : nullptr),
      clock_(clock),
      stats_(stats) {
  const size_t n = std::bit_ceil(std::max<size_t>(options.shards, 1));
  shard_shift_ = 64 - std::countr_zero(n);
  shards_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    // Spread the remainder so that the shard budgets add up to exactly the limits.
    L1Shard::Limits limits{
        options.max_entries / n + (i < options.max_entries % n ? 1 : 0),
        options.max_bytes / n + (i < options.max_bytes % n ? 1 : 0),
        options.ttl_factor,
        options.policy,
    };
    // A tag's entries are spread over the shards by key: each shard keeps track of the tags
    // with their share of kLargeTagEntries.
    shards_.push_back(std::make_unique<L1Shard>(
        limits, adaptive, stats, stats == nullptr ? 0 : (miss_history + n - 1) / n,
        std::max<uint64_t>(1, kLargeTagEntries / n), compressor_.get()));
  }
}

L1Store::~L1Store() = default;

L1Shard& L1Store::ShardFor(uint64_t hash) const {
  if (shards_.size() == 1) return *shards_[0];
  // The top bits pick the shard; the hash index inside a shard uses the low bits.
  return *shards_[hash >> shard_shift_];
}

std::optional<L1Value> L1Store::Get(std::string_view key) {
  const uint64_t h = L1Shard::Hash(key);
  return ShardFor(h).Get(key, h, clock_.Now());
}

Status L1Store::Set(std::string_view key, std::shared_ptr<const std::string> value,
                    std::vector<std::string> tags, Lifetime lifetime, SetMode mode,
                    ContentType content_type) {
  const uint64_t h = L1Shard::Hash(key);
  return ShardFor(h).Set(key, h, std::move(value), std::move(tags), lifetime, clock_.Now(), mode,
                           std::move(content_type));
}

Status L1Store::RememberAbsent(std::string_view key, Duration ttl) {
  const uint64_t h = L1Shard::Hash(key);
  return ShardFor(h).RememberAbsent(key, h, ttl, clock_.Now());
}

Status L1Store::Update(std::string_view key, const L1Decide& decide) {
  const uint64_t h = L1Shard::Hash(key);
  return ShardFor(h).Update(key, h, decide, clock_.Now());
}

std::vector<std::string> L1Store::Keys(size_t shard,
                                       const std::function<bool(std::string_view)>& match) const {
  if (shard >= shards_.size()) return {};
  return shards_[shard]->Keys(clock_.Now(), match);
}

std::optional<std::string> L1Store::AnyKey(uint64_t seed) const {
  const TimePoint now = clock_.Now();
  for (size_t i = 0; i < shards_.size(); ++i) {
    if (auto key = shards_[(seed + i) % shards_.size()]->AnyKey(now)) return key;
  }
  return std::nullopt;
}

std::vector<L1HotEntry> L1Store::Hottest(size_t n, bool with_values) const {
  const TimePoint now = clock_.Now();
  std::vector<uint32_t> reads;
  for (const auto& shard : shards_) shard->AddReadCounts(now, reads);
  if (n == 0 || reads.empty()) return {};
  // The n-th highest read count is the threshold: every entry above it is in, and of those
  // at it, as many as there is room for.
  uint32_t threshold = 1;
  size_t ties = reads.size();
  if (reads.size() > n) {
    std::nth_element(reads.begin(), reads.begin() + static_cast<ptrdiff_t>(n - 1), reads.end(),
                     std::greater<>());
    threshold = reads[n - 1];
    const auto above = static_cast<size_t>(
        std::count_if(reads.begin(), reads.begin() + static_cast<ptrdiff_t>(n),
                      [&](uint32_t r) { return r > threshold; }));
    ties = n - above;
  }
  std::vector<L1HotEntry> hot;
  hot.reserve(std::min(n, reads.size()));
  for (const auto& shard : shards_) shard->AddHotEntries(now, threshold, ties, with_values, hot);
  std::stable_sort(hot.begin(), hot.end(),
                   [](const L1HotEntry& a, const L1HotEntry& b) { return a.reads > b.reads; });
  // Entries read between the two walks may have crossed the threshold.
  if (hot.size() > n) hot.resize(n);
  return hot;
}

std::optional<L1EntryInfo> L1Store::Inspect(std::string_view key) const {
  const uint64_t h = L1Shard::Hash(key);
  return ShardFor(h).Inspect(key, h, clock_.Now());
}

bool L1Store::Delete(std::string_view key) {
  const uint64_t h = L1Shard::Hash(key);
  return ShardFor(h).Delete(key, h, clock_.Now());
}

uint64_t L1Store::SumOverShards(const std::function<uint64_t(L1Shard&, size_t)>& work) {
  // A large store's shards are worked on by as many threads as there are cores: an
  // invalidation of a million entries is bound by memory latency, and each core has its
  // own. A small one is not worth starting threads for.
  constexpr size_t kParallelFrom = 16'384;
  size_t entries = 0;
  for (const auto& shard : shards_) entries += shard->Size();
  const size_t threads =
      std::min<size_t>(shards_.size(), std::max(1u, std::thread::hardware_concurrency()));
  if (entries < kParallelFrom || threads < 2) {
    uint64_t sum = 0;
    for (auto& shard : shards_) sum += work(*shard, 0);
    return sum;
  }
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> sum{0};
  const auto worker = [&](size_t w) {
    for (size_t i = next.fetch_add(1); i < shards_.size(); i = next.fetch_add(1)) {
      sum.fetch_add(work(*shards_[i], w), std::memory_order_relaxed);
    }
  };
  {
    std::vector<std::jthread> helpers;
    helpers.reserve(threads - 1);
    for (size_t t = 1; t < threads; ++t) helpers.emplace_back(worker, t);
    worker(0);
  }  // joined
  return sum.load();
}

uint64_t L1Store::InvalidateTags(const std::vector<std::string>& tags) {
  const TimePoint now = clock_.Now();
  return SumOverShards([&](L1Shard& shard, size_t) { return shard.InvalidateTags(tags, now); });
}

uint64_t L1Store::InvalidateMatching(const KeyPattern& pattern) {
  const TimePoint now = clock_.Now();
  // Worker w > 0 matches with a copy of its own (KeyPattern::Copy), made on first use.
  std::vector<std::shared_ptr<const KeyPattern>> copies(
      std::max(1u, std::thread::hardware_concurrency()));
  return SumOverShards([&](L1Shard& shard, size_t w) {
    if (w == 0 || w >= copies.size()) return shard.InvalidateMatching(pattern, now);
    if (!copies[w]) copies[w] = pattern.Copy();
    return shard.InvalidateMatching(copies[w] ? *copies[w] : pattern, now);
  });
}

uint64_t L1Store::Clear() {
  const TimePoint now = clock_.Now();
  return SumOverShards([&](L1Shard& shard, size_t) { return shard.Clear(now); });
}

uint64_t L1Store::ReclaimExpired(size_t max_per_shard) {
  uint64_t reclaimed = 0;
  for (auto& shard : shards_) reclaimed += shard->ReclaimExpired(max_per_shard, clock_.Now());
  return reclaimed;
}

std::optional<L1Ghost> L1Store::TakeGhost(std::string_view key) {
  const uint64_t h = L1Shard::Hash(key);
  return ShardFor(h).TakeGhost(key, h, clock_.Now());
}

std::vector<std::pair<std::string, uint64_t>> L1Store::LargestTags(size_t n) const {
  std::unordered_map<std::string, uint64_t> counts;
  for (const auto& shard : shards_) shard->AddLargeTags(counts);
  std::vector<std::pair<std::string, uint64_t>> out;
  for (auto& [tag, entries] : counts) {
    if (entries >= kLargeTagEntries) out.emplace_back(tag, entries);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (out.size() > n) out.resize(n);
  return out;
}

L1Stats L1Store::Stats() const {
  L1Stats stats;
  for (const auto& shard : shards_) shard->AddStats(stats);
  if (compressor_) stats.compression = compressor_->Stats();
  return stats;
}

}  // namespace tiercache
