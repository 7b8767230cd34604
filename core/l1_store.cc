#include "core/l1_store.h"

#include <algorithm>
#include <bit>
#include <unordered_map>
#include <functional>

#include "core/l1_shard.h"

namespace tiercache {

L1Store::L1Store(const L1Options& options, const AdaptiveOptions& adaptive, const Clock& clock,
                 KeyStats* stats, size_t miss_history)
    : clock_(clock), stats_(stats) {
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
        std::max<uint64_t>(1, kLargeTagEntries / n)));
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

std::optional<L1EntryInfo> L1Store::Inspect(std::string_view key) const {
  const uint64_t h = L1Shard::Hash(key);
  return ShardFor(h).Inspect(key, h, clock_.Now());
}

bool L1Store::Delete(std::string_view key) {
  const uint64_t h = L1Shard::Hash(key);
  return ShardFor(h).Delete(key, h, clock_.Now());
}

uint64_t L1Store::InvalidateTags(const std::vector<std::string>& tags) {
  uint64_t removed = 0;
  for (auto& shard : shards_) removed += shard->InvalidateTags(tags, clock_.Now());
  return removed;
}

uint64_t L1Store::InvalidateMatching(const KeyPattern& pattern) {
  uint64_t removed = 0;
  for (auto& shard : shards_) removed += shard->InvalidateMatching(pattern, clock_.Now());
  return removed;
}

uint64_t L1Store::Clear() {
  uint64_t removed = 0;
  for (auto& shard : shards_) removed += shard->Clear(clock_.Now());
  return removed;
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
  return stats;
}

}  // namespace tiercache
