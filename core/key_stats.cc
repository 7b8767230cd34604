#include "core/key_stats.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>

namespace tiercache {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

uint64_t Ms(Duration d) {
  return static_cast<uint64_t>(
      std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
}

}  // namespace

KeyStats::KeyStats(std::vector<KeyGroupPattern> patterns, size_t max_groups)
    : patterns_(std::move(patterns)),
      max_groups_(std::clamp(max_groups, patterns_.size() + 1, kMaxGroups)),
      counters_(new Counters[max_groups_]),
      slots_(new std::atomic<uint64_t>[kSlots]),
      slots_used_(0) {
  for (size_t i = 0; i < kSlots; ++i) slots_[i].store(0, kRelaxed);
  names_.push_back("other");
  for (const KeyGroupPattern& p : patterns_) names_.push_back(p.name);
}

uint16_t KeyStats::GroupOf(std::string_view key) {
  for (size_t i = 0; i < patterns_.size(); ++i) {
    if (patterns_[i].pattern->Matches(key)) return static_cast<uint16_t>(i + 1);
  }
  return SegmentGroup(key.substr(0, key.find(':')));
}

uint16_t KeyStats::SegmentGroup(std::string_view segment) {
  const uint64_t h = std::hash<std::string_view>{}(segment);
  // The slot keeps 48 bits of the hash: two segments sharing them would share a group,
  // which only merges two series' counts.
  const uint64_t tag = (h >> 16) | (uint64_t{1} << 47);
  const auto probe = [&](uint64_t& slot_value) -> std::optional<size_t> {
    for (size_t n = 0, i = h % kSlots; n < kSlots; ++n, i = (i + 1) % kSlots) {
      slot_value = slots_[i].load(std::memory_order_acquire);
      if (slot_value == 0 || (slot_value >> 16) == tag) return i;
    }
    return std::nullopt;
  };
  uint64_t value = 0;
  std::optional<size_t> slot = probe(value);
  if (slot && value != 0) return static_cast<uint16_t>(value & 0xffff);
  // The table is at most half full: past that, new segments go to "other" unrecorded.
  if (!slot || slots_used_.load(kRelaxed) >= kSlots / 2) return kOther;

  std::lock_guard lock(names_mu_);
  slot = probe(value);  // another thread may have added it meanwhile
  if (!slot) return kOther;
  if (value != 0) return static_cast<uint16_t>(value & 0xffff);
  uint16_t group = kOther;
  if (names_.size() < max_groups_) {
    group = static_cast<uint16_t>(names_.size());
    names_.emplace_back(segment);
  }
  // Segments past the bound are remembered as "other" too, so they stop taking the lock.
  slots_used_.fetch_add(1, kRelaxed);
  slots_[*slot].store((tag << 16) | group, std::memory_order_release);
  return group;
}

void KeyStats::Read(uint16_t group, bool hit, MissCause cause, Duration reread_age) {
  Counters& c = counters_[group];
  c.reads.fetch_add(1, kRelaxed);
  if (hit) {
    c.hits.fetch_add(1, kRelaxed);
    return;
  }
  c.misses.fetch_add(1, kRelaxed);
  if (cause == MissCause::kExpired) {
    c.expired_misses.fetch_add(1, kRelaxed);
    c.reread_age_ms_sum.fetch_add(Ms(reread_age), kRelaxed);
  } else if (cause == MissCause::kEvicted) {
    c.evicted_misses.fetch_add(1, kRelaxed);
  }
}

void KeyStats::Written(uint16_t group, Duration ttl) {
  Counters& c = counters_[group];
  c.writes.fetch_add(1, kRelaxed);
  c.ttl_ms_sum.fetch_add(Ms(ttl), kRelaxed);
}

void KeyStats::Stored(uint16_t group, uint64_t charge) {
  Counters& c = counters_[group];
  c.entries.fetch_add(1, kRelaxed);
  c.bytes.fetch_add(charge, kRelaxed);
}

void KeyStats::Removed(uint16_t group, uint64_t charge, Removal why, bool was_read) {
  Counters& c = counters_[group];
  c.entries.fetch_sub(1, kRelaxed);
  c.bytes.fetch_sub(charge, kRelaxed);
  if (!was_read) c.unread_removals.fetch_add(1, kRelaxed);
  if (why == Removal::kExpired) c.expirations.fetch_add(1, kRelaxed);
  if (why == Removal::kEvicted) {
    c.evictions.fetch_add(1, kRelaxed);
    if (was_read) c.evicted_after_reads.fetch_add(1, kRelaxed);
  }
}

void KeyStats::Removals::Add(uint16_t group, uint64_t charge, Removal why, bool was_read) {
  auto it = std::find_if(groups_.rbegin(), groups_.rend(),
                         [group](const Group& g) { return g.group == group; });
  Group& g = it != groups_.rend() ? *it : groups_.emplace_back(Group{group});
  ++g.entries;
  g.bytes += charge;
  if (!was_read) ++g.unread;
  if (why == Removal::kExpired) ++g.expirations;
  if (why == Removal::kEvicted) {
    ++g.evictions;
    if (was_read) ++g.evicted_after_reads;
  }
}

void KeyStats::Apply(const Removals& removals) {
  for (const auto& g : removals.groups_) {
    Counters& c = counters_[g.group];
    c.entries.fetch_sub(g.entries, kRelaxed);
    c.bytes.fetch_sub(g.bytes, kRelaxed);
    if (g.unread != 0) c.unread_removals.fetch_add(g.unread, kRelaxed);
    if (g.expirations != 0) c.expirations.fetch_add(g.expirations, kRelaxed);
    if (g.evictions != 0) c.evictions.fetch_add(g.evictions, kRelaxed);
    if (g.evicted_after_reads != 0) {
      c.evicted_after_reads.fetch_add(g.evicted_after_reads, kRelaxed);
    }
  }
}

std::vector<KeyGroupStats> KeyStats::Snapshot() const {
  std::vector<std::string> names;
  {
    std::lock_guard lock(names_mu_);
    names = names_;
  }
  std::vector<KeyGroupStats> out;
  for (size_t g = 0; g < names.size(); ++g) {
    const Counters& c = counters_[g];
    KeyGroupStats s;
    s.name = names[g];
    s.reads = c.reads.load(kRelaxed);
    s.hits = c.hits.load(kRelaxed);
    s.misses = c.misses.load(kRelaxed);
    s.expired_misses = c.expired_misses.load(kRelaxed);
    s.evicted_misses = c.evicted_misses.load(kRelaxed);
    s.writes = c.writes.load(kRelaxed);
    s.ttl_seconds_sum = static_cast<double>(c.ttl_ms_sum.load(kRelaxed)) / 1000;
    s.reread_age_seconds_sum = static_cast<double>(c.reread_age_ms_sum.load(kRelaxed)) / 1000;
    s.entries = c.entries.load(kRelaxed);
    s.bytes = c.bytes.load(kRelaxed);
    s.expirations = c.expirations.load(kRelaxed);
    s.evictions = c.evictions.load(kRelaxed);
    s.evicted_after_reads = c.evicted_after_reads.load(kRelaxed);
    s.unread_removals = c.unread_removals.load(kRelaxed);
    // "other" shows once something falls in it; every other group exists because a key
    // was seen (or it is configured).
    const bool empty = s.reads + s.writes + s.entries + s.unread_removals == 0;
    if (g != kOther || !empty) out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tiercache
