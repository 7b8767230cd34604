#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/adaptive_ttl.h"
#include "core/clock.h"
#include "core/compression.h"
#include "core/content_type.h"
#include "core/key_pattern.h"
#include "core/key_stats.h"
#include "core/l1_options.h"
#include "core/shared_bytes.h"
#include "core/status.h"

namespace tiercache {

class L1Shard;

// How an entry's lifetime in L1 is decided.
struct Lifetime {
  // kFixed: timeout × l1.ttl_factor. kAdaptive: moves around timeout × l1.ttl_factor with
  // reads. kExact: timeout as given (an entry promoted from a lower tier keeps the time
  // it has left there, already scaled).
  enum class Kind : uint8_t { kFixed, kAdaptive, kExact };
  Kind kind = Kind::kFixed;
  // kFixed, kExact: the lifetime. kAdaptive: the base timeout the adaptive rule moves around.
  Duration timeout = std::chrono::seconds(300);
  // kAdaptive: this entry's bounds; zero takes strategies.adaptive's min_timeout and
  // max_timeout. Kept in whole seconds.
  Duration adaptive_min{0};
  Duration adaptive_max{0};
};

// What a successful lookup returns. The value is shared, not copied, so a lookup costs
// the same for 10 bytes and 8 MiB.
// Whether a Set replaces a live entry of the same key.
enum class SetMode : uint8_t {
  kReplace,
  kIfAbsent,  // keeps a live entry: a promotion never overwrites a newer write
};

struct L1Value {
  SharedBytes value;  // the entry's bytes, readable after it is overwritten or removed
  ContentType content_type;
  TimePoint expires_at;
  TimePoint read_at;  // the time of the lookup; expires_at - read_at is the time left
  bool absent = false;  // a remembered absence (RememberAbsent): no value
};

// What L1 remembers of a key that is gone: why, and when it had been stored.
struct L1Ghost {
  MissCause cause = MissCause::kAbsent;
  TimePoint stored_at;
};

// An entry's metadata and access statistics, as seen without reading it.
struct L1EntryInfo {
  uint64_t reads = 0;         // lookups that returned the entry since it was stored
  TimePoint stored_at;
  TimePoint last_read;        // stored_at until the first read
  TimePoint expires_at;
  std::vector<std::string> tags;
  uint64_t charge = 0;        // bytes counted against max_bytes
  bool adaptive = false;
  bool compressed = false;    // the value is kept compressed (l1.compress_min_bytes)
};

// A live entry among those read most (L1Store::Hottest).
struct L1HotEntry {
  std::string key;
  uint32_t reads = 0;  // since it was stored (saturating at 2^24 - 1)
  TimePoint expires_at;
  // Only when asked for with values:
  SharedBytes value;
  std::vector<std::string> tags;
  ContentType content_type;
};

// The live entry an update sees, under its shard's lock.
struct L1Current {
  SharedBytes value;
  ContentType content_type;
  std::vector<std::string> tags;
  Duration ttl_left;
};

// What an update does with the entry it saw.
struct L1Change {
  enum class Action : uint8_t { kKeep, kWrite, kDelete };
  Action action = Action::kKeep;
  std::shared_ptr<const std::string> value;  // kWrite
  std::vector<std::string> tags;             // kWrite
  Lifetime lifetime;                         // kWrite
  ContentType content_type;                  // kWrite
};

// Decides an update from the live entry, or null when the key is absent or expired. Runs
// under the shard's lock: it must not call into L1.
using L1Decide = std::function<L1Change(const L1Current*)>;

struct L1Stats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
  uint64_t max_entries = 0;
  uint64_t max_bytes = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;    // removed to make room (LRU)
  uint64_t expirations = 0;  // removed because their lifetime ended
  uint64_t absences = 0;       // remembered absences held (not in `entries`)
  uint64_t absence_hits = 0;   // lookups answered by one
  std::optional<CompressionStats> compression;  // with l1.compress_min_bytes
};

// The sharded in-memory tier. Each shard has its own lock; an operation on one key
// locks one shard, and operations over many keys (tags, patterns, clear) lock one shard
// at a time, so they never stall the whole store. Thread-safe.
//
// Bounds: each shard holds at most max_entries/shards entries and max_bytes/shards
// bytes, so the totals never exceed the configured limits; the least recently used
// entry of the shard is evicted to make room. An entry that alone exceeds a shard's byte
// budget is refused with kTooLarge.
//
// Expiry: an expired entry is never returned. Expired entries are reclaimed when looked
// up, when eviction reaches them, and by ReclaimExpired, which walks each shard a slice at
// a time (the daemon's sweeper calls it every l1.sweep_interval).
class L1Store {
 public:
  // With `stats`, every entry stored and removed is counted by key group, and up to
  // `miss_history` keys that expired or were evicted are remembered for TakeGhost.
  L1Store(const L1Options& options, const AdaptiveOptions& adaptive, const Clock& clock,
          KeyStats* stats = nullptr, size_t miss_history = 0);
  ~L1Store();
  L1Store(const L1Store&) = delete;
  L1Store& operator=(const L1Store&) = delete;

  // The live value of `key`, and makes it the most recently used of its shard. For an
  // adaptive entry, the read also extends or shortens its lifetime.
  std::optional<L1Value> Get(std::string_view key);

  // Stores `value` under `key`, replacing any earlier entry. `tags` may repeat; they are
  // stored once each. kTooLarge if the entry alone exceeds a shard's byte budget.
  Status Set(std::string_view key, std::shared_ptr<const std::string> value,
             std::vector<std::string> tags, Lifetime lifetime,
             SetMode mode = SetMode::kReplace, ContentType content_type = nullptr);

  // Remembers that no tier has `key`, for `ttl`: Get then answers with `absent` set until
  // it expires or a write, delete or invalidation of the key comes. Keeps a live entry.
  // The absence takes a slot in L1 (evicted like an entry), but is not an entry: not in
  // Stats().entries, Keys, AnyKey or Inspect.
  Status RememberAbsent(std::string_view key, Duration ttl);

  // Reads and changes `key` in one step under its shard's lock, so that concurrent updates
  // of one key (INCR, APPEND) each see the one before. kTooLarge as Set.
  Status Update(std::string_view key, const L1Decide& decide);

  // The live keys of shard `shard` (0 to shard_count() - 1) that `match` accepts; walks
  // one shard at a time so that a scan of a large store never holds every lock.
  std::vector<std::string> Keys(size_t shard,
                                const std::function<bool(std::string_view)>& match) const;
  // Some live key, if any: from a shard chosen by `seed`, or the next one holding any.
  std::optional<std::string> AnyKey(uint64_t seed) const;

  // Up to `n` live entries read most since they were stored, most read first; entries never
  // read are not among them. With `with_values`, their values, tags and content types too
  // (shared, not copied). Walks every shard twice, one at a time: for a graceful stop,
  // not for a hot path.
  std::vector<L1HotEntry> Hottest(size_t n, bool with_values) const;

  // The live entry's metadata and access statistics; unlike Get, not a read: it changes
  // neither the LRU order nor the statistics.
  std::optional<L1EntryInfo> Inspect(std::string_view key) const;

  // Removes `key`; true if a live entry was removed.
  bool Delete(std::string_view key);

  // Removes every entry carrying any of `tags`; returns how many live entries went. This,
  // InvalidateMatching and Clear work on the shards of a large store in parallel.
  uint64_t InvalidateTags(const std::vector<std::string>& tags);

  // Removes every entry whose key matches `pattern`; returns how many live entries went.
  uint64_t InvalidateMatching(const KeyPattern& pattern);

  // Removes everything; returns how many live entries went.
  uint64_t Clear();

  // Looks at up to `max_per_shard` entries of each shard, going on where the previous call
  // stopped, and reclaims the expired ones; returns how many it reclaimed.
  uint64_t ReclaimExpired(size_t max_per_shard);

  // Why `key` is not in L1, if it left by expiry or eviction lately; forgets it, so that
  // each departure explains one miss.
  std::optional<L1Ghost> TakeGhost(std::string_view key);

  // The `n` tags with the most entries, most first, counting only tags with at least
  // kLargeTagEntries entries (status, recommendations). Its cost grows with the number of
  // such tags only.
  static constexpr uint64_t kLargeTagEntries = 1000;
  std::vector<std::pair<std::string, uint64_t>> LargestTags(size_t n) const;

  L1Stats Stats() const;
  KeyStats* key_stats() const { return stats_; }
  size_t shard_count() const { return shards_.size(); }

 private:
  // The shard of a key of hash `hash`.
  L1Shard& ShardFor(uint64_t hash) const;
  // The sum of `work` over every shard, on several threads when the store is large.
  // `work` gets the shard and the index of the thread working on it (0 is the caller's).
  uint64_t SumOverShards(const std::function<uint64_t(L1Shard&, size_t)>& work);

  const std::unique_ptr<const Compressor> compressor_;  // with l1.compress_min_bytes
  std::vector<std::unique_ptr<L1Shard>> shards_;
  const Clock& clock_;
  KeyStats* const stats_;
  int shard_shift_;
};

}  // namespace tiercache
