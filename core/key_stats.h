#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/key_pattern.h"
#include "core/status.h"

namespace tiercache {

// A named group of keys for the per-pattern statistics (`monitoring.key_patterns`).
struct KeyGroupPattern {
  std::string name;
  std::shared_ptr<const KeyPattern> pattern;
};

// Why a read found nothing, as far as L1 remembers the key (core/l1_store.h, TakeGhost).
enum class MissCause : uint8_t {
  kAbsent,   // never stored, or removed on purpose (delete, invalidation), or long forgotten
  kExpired,  // it was stored and its lifetime ended
  kEvicted,  // it was stored and L1 evicted it to make room
};

// One group's counters, as read by Snapshot.
struct KeyGroupStats {
  std::string name;
  uint64_t reads = 0;
  uint64_t hits = 0;            // served by any tier
  uint64_t misses = 0;          // no tier had it
  uint64_t expired_misses = 0;  // misses of keys whose entry had expired
  uint64_t evicted_misses = 0;  // misses of keys L1 had evicted
  uint64_t writes = 0;          // Sets through the service
  double ttl_seconds_sum = 0;   // timeouts of those writes, for their mean
  // For expired misses: how long after being stored the key was read again, summed.
  double reread_age_seconds_sum = 0;
  uint64_t entries = 0;          // in L1 now
  uint64_t bytes = 0;            // charged in L1 now
  uint64_t expirations = 0;      // L1 entries that expired
  uint64_t evictions = 0;        // L1 entries evicted
  uint64_t evicted_after_reads = 0;  // of those, entries that had been read
  uint64_t unread_removals = 0;  // L1 entries that left without ever being read

  double hit_rate() const { return reads == 0 ? 0.0 : static_cast<double>(hits) / reads; }
};

// Statistics per key pattern: reads, hits and misses (and why they missed), writes, and
// what L1 holds. A key belongs to the first configured pattern it matches, else to the
// group named after its first ':'-separated segment ("user" for "user:42:profile"), or
// to "other" once `max_groups` groups exist, so the number of series stays bounded.
//
// Recording is lock-free: a key's group is found by a hash probe into a fixed table
// (configured patterns are tried in order first), and the counters are relaxed atomics.
// Thread-safe.
class KeyStats {
 public:
  static constexpr uint16_t kOther = 0;
  static constexpr size_t kMaxGroups = 1000;

  // `max_groups` counts every group, "other" included; at most kMaxGroups.
  KeyStats(std::vector<KeyGroupPattern> patterns, size_t max_groups);
  KeyStats(const KeyStats&) = delete;
  KeyStats& operator=(const KeyStats&) = delete;

  uint16_t GroupOf(std::string_view key);

  // A read through the service: a hit, or a miss and its cause.
  void Read(uint16_t group, bool hit, MissCause cause = MissCause::kAbsent,
            Duration reread_age = Duration::zero());
  void Written(uint16_t group, Duration ttl);
  // L1 events, reported by the shards under their locks.
  void Stored(uint16_t group, uint64_t charge);
  enum class Removal : uint8_t { kReplaced, kDeleted, kExpired, kEvicted };
  void Removed(uint16_t group, uint64_t charge, Removal why, bool was_read);

  // Removals gathered by one bulk operation (an invalidation of many entries) and counted
  // in one step by Apply: threads removing entries of one group at once would otherwise
  // pass the group's counters between their cores for every entry.
  class Removals {
   public:
    void Add(uint16_t group, uint64_t charge, Removal why, bool was_read);

   private:
    friend class KeyStats;
    struct Group {
      uint16_t group;
      uint64_t entries = 0, bytes = 0, unread = 0, expirations = 0, evictions = 0,
               evicted_after_reads = 0;
    };
    std::vector<Group> groups_;  // few: a bulk removal meets few groups
  };
  void Apply(const Removals& removals);

  // Every configured or seen group ("other" once it counts anything), configured first.
  std::vector<KeyGroupStats> Snapshot() const;

 private:
  struct Counters {
    std::atomic<uint64_t> reads{0}, hits{0}, misses{0}, expired_misses{0}, evicted_misses{0};
    std::atomic<uint64_t> writes{0}, ttl_ms_sum{0}, reread_age_ms_sum{0};
    std::atomic<uint64_t> entries{0}, bytes{0}, expirations{0}, evictions{0};
    std::atomic<uint64_t> evicted_after_reads{0}, unread_removals{0};
  };
  // Open addressing over segment hashes: a slot holds (hash << 16 | group), 0 when empty.
  static constexpr size_t kSlots = 4096;

  uint16_t SegmentGroup(std::string_view segment);

  const std::vector<KeyGroupPattern> patterns_;
  const size_t max_groups_;
  std::unique_ptr<Counters[]> counters_;
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
  std::atomic<size_t> slots_used_;
  mutable std::mutex names_mu_;  // adding a group; reading names
  std::vector<std::string> names_;
};

}  // namespace tiercache
