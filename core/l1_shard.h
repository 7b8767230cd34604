#pragma once

#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/frequency_sketch.h"
#include "core/key_stats.h"
#include "core/l1_store.h"
#include "core/shared_bytes.h"
#include "core/thread_annotations.h"

namespace tiercache {

// One lock's worth of the L1 store: the entries, their hash index, their eviction order
// and the tag index, all guarded by mu_. Private to core/l1_store.cc and its tests.
//
// Eviction (l1.policy): kLru keeps one list and evicts its least recently used entry.
// kTinyLfu is W-TinyLFU (Caffeine's policy): new entries enter a window LRU of 1% of the
// capacity; entries pushed out of it become candidates for the main space, a segmented
// LRU (probation, and protected for entries read again while on probation, 80% of it);
// when the shard is full a candidate is admitted only if the frequency sketch has seen
// its key more often than the probation entry it would evict, so one-off keys (a scan)
// cannot push out the ones read again and again.
//
// An entry is one allocation: a 64-byte header, the key and, up to kMaxInlineValue
// bytes, the value, so that an entry costs about what Redis spends on one string key.
// Larger values stay in the shared string they arrived in (no copy). Tags, a content type
// and the adaptive lifetime's state live in a second block that only entries with any of
// them have. Expiry has no index: expired entries are never returned, and are reclaimed
// when read, by eviction, and by ReclaimExpired walking the hash index a slice at a time.
class L1Shard {
 public:
  struct Limits {
    uint64_t max_entries;
    uint64_t max_bytes;
    double ttl_factor;
    L1Policy policy = L1Policy::kLru;
  };

  // Values up to this size are kept inside the entry.
  static constexpr size_t kMaxInlineValue = 512;
  // The longest key an entry holds (its length is kept in 16 bits).
  static constexpr size_t kMaxKeyBytes = 0xffff;

  // `stats` (may be null) is told of every entry stored and removed, and then the shard
  // remembers up to `ghosts` keys that expired or were evicted, for TakeGhost. Tags with at
  // least `large_tag_entries` entries are kept track of, for AddLargeTags.
  // `compressor` (may be null: none) compresses the values it takes
  // (l1.compress_min_bytes); it must outlive the shard.
  L1Shard(const Limits& limits, const AdaptiveOptions& adaptive, KeyStats* stats = nullptr,
          size_t ghosts = 0, uint64_t large_tag_entries = 1,
          const Compressor* compressor = nullptr);
  ~L1Shard();
  L1Shard(const L1Shard&) = delete;
  L1Shard& operator=(const L1Shard&) = delete;

  // The hash every method taking a key and a hash expects.
  static uint64_t Hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

  std::optional<L1Value> Get(std::string_view key, uint64_t hash, TimePoint now)
      TC_EXCLUDES(mu_);
  Status Set(std::string_view key, uint64_t hash, std::shared_ptr<const std::string> value,
             std::vector<std::string> tags, Lifetime lifetime, TimePoint now,
             SetMode mode = SetMode::kReplace, ContentType content_type = nullptr)
      TC_EXCLUDES(mu_);
  Status Update(std::string_view key, uint64_t hash, const L1Decide& decide, TimePoint now)
      TC_EXCLUDES(mu_);
  Status RememberAbsent(std::string_view key, uint64_t hash, Duration ttl, TimePoint now)
      TC_EXCLUDES(mu_);
  std::optional<L1EntryInfo> Inspect(std::string_view key, uint64_t hash, TimePoint now) const
      TC_EXCLUDES(mu_);
  std::vector<std::string> Keys(TimePoint now,
                                const std::function<bool(std::string_view)>& match) const
      TC_EXCLUDES(mu_);
  std::optional<std::string> AnyKey(TimePoint now) const TC_EXCLUDES(mu_);
  // Appends the read count of every live entry read at least once.
  void AddReadCounts(TimePoint now, std::vector<uint32_t>& into) const TC_EXCLUDES(mu_);
  // Appends the live entries read more than `above` times, and of those read exactly
  // `above` times as many as `ties_left` allows (counting it down); with their values,
  // tags and content types if `with_values`.
  void AddHotEntries(TimePoint now, uint32_t above, size_t& ties_left, bool with_values,
                     std::vector<L1HotEntry>& into) const TC_EXCLUDES(mu_);
  bool Delete(std::string_view key, uint64_t hash, TimePoint now) TC_EXCLUDES(mu_);
  uint64_t InvalidateTags(const std::vector<std::string>& tags, TimePoint now) TC_EXCLUDES(mu_);
  uint64_t InvalidateMatching(const KeyPattern& pattern, TimePoint now) TC_EXCLUDES(mu_);
  uint64_t Clear(TimePoint now) TC_EXCLUDES(mu_);
  // Looks at up to `budget` entries, going on where the previous call stopped, and
  // reclaims the expired ones among them; returns how many it reclaimed.
  uint64_t ReclaimExpired(size_t budget, TimePoint now) TC_EXCLUDES(mu_);
  void AddStats(L1Stats& stats) const TC_EXCLUDES(mu_);
  size_t Size() const TC_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return entries_;
  }
  std::optional<L1Ghost> TakeGhost(std::string_view key, uint64_t hash, TimePoint now)
      TC_EXCLUDES(mu_);
  // Adds the entry count of every tag with at least `large_tag_entries` entries in this
  // shard. It costs as much as there are such tags, not as there are tags: a status request
  // must not hold the shard while it walks a tag per entry.
  void AddLargeTags(std::unordered_map<std::string, uint64_t>& into) const TC_EXCLUDES(mu_);

  // Bytes charged for an entry: the memory it takes, as the allocator's size classes
  // round its blocks (docs/architecture.md, "L1 memory").
  static uint64_t Charge(std::string_view key, std::string_view value,
                         const std::vector<std::string>& tags,
                         std::string_view content_type = {}, bool adaptive = false);

 private:
  using Hook = boost::intrusive::link_mode<boost::intrusive::normal_link>;
  // The list an entry is in (Entry::segment).
  enum Segment : uint8_t { kWindow, kProbation, kProtected };
  struct TagMembers;
  using TagIndex = std::unordered_map<std::string, TagMembers>;
  using TagNode = TagIndex::value_type;
  // One tag of an entry: the tag's index node and the entry's place in its member list.
  struct TagLink {
    TagNode* node;
    uint32_t pos;
  };
  // What only some entries have; one block, its tag links after it.
  struct Extras {
    ContentType content_type;
    Duration adaptive_base{0};   // zero for fixed-lifetime entries
    float heat = 0;              // decayed read count (adaptive entries)
    uint32_t tag_count = 0;
    // The entry's own adaptive bounds in seconds; 0: strategies.adaptive's.
    uint32_t adaptive_min_s = 0;
    uint32_t adaptive_max_s = 0;
    TagLink* tags() { return reinterpret_cast<TagLink*>(this + 1); }
    const TagLink* tags() const { return reinterpret_cast<const TagLink*>(this + 1); }
  };
  // The header of an entry's block; the block goes on with the shared value (if not
  // inline), the key and the inline value. refs (BytesHolder): 1 for the shard, plus one
  // per reader holding the inline value.
  struct Entry : BytesHolder {
    uint32_t value_size = 0;  // inline values
    Entry* next = nullptr;    // hash chain
    boost::intrusive::list_member_hook<Hook> lru_hook;
    TimePoint expires_at;
    Extras* extras = nullptr;
    uint32_t stored_at = 0;   // milliseconds since epoch_ (RelTime)
    uint32_t last_read = 0;   // stored_at until the first read
    uint32_t reads : 24 = 0;  // saturates
    uint32_t shared_value : 1 = 0;
    uint32_t segment : 2 = 0;  // Segment: which list holds it
    uint32_t absent : 1 = 0;   // a remembered absence, not a value
    uint32_t compressed : 1 = 0;  // the value bytes are compressor_'s
    uint16_t key_size = 0;
    uint16_t group = 0;       // KeyStats group, when stats_ is set

    std::shared_ptr<const std::string>* shared() {
      return reinterpret_cast<std::shared_ptr<const std::string>*>(this + 1);
    }
    const std::shared_ptr<const std::string>* shared() const {
      return reinterpret_cast<const std::shared_ptr<const std::string>*>(this + 1);
    }
    const char* key_data() const {
      return reinterpret_cast<const char*>(this + 1) +
             (shared_value ? sizeof(std::shared_ptr<const std::string>) : 0);
    }
    std::string_view key() const { return {key_data(), key_size}; }
    std::string_view value() const {
      return shared_value ? std::string_view(**shared())
                          : std::string_view(key_data() + key_size, value_size);
    }
    uint32_t tag_count() const { return extras != nullptr ? extras->tag_count : 0; }
    bool adaptive() const { return extras != nullptr && extras->adaptive_base != Duration::zero(); }
  };
  static_assert(sizeof(Entry) == 64, "an entry header is one cache line");
  static_assert(sizeof(Extras) <= 40, "per-entry bounds fit in what the block had");
  struct TagMembers {
    std::vector<Entry*> entries;
  };
  using LruList = boost::intrusive::list<
      Entry, boost::intrusive::member_hook<Entry, boost::intrusive::list_member_hook<Hook>,
                                           &Entry::lru_hook>>;

  // What a write stores, checked against the shard's budget before the lock is taken.
  struct Contents {
    std::shared_ptr<const std::string> value;
    ContentType content_type;
    std::vector<std::string> tags;  // sorted, unique
    uint64_t charge = 0;
    TimePoint expires_at;
    Duration adaptive_base{0};
    uint32_t adaptive_min_s = 0;
    uint32_t adaptive_max_s = 0;
    bool absent = false;
    bool compressed = false;  // `value` is compressor_'s form of the value written
  };
  static uint32_t WholeSeconds(Duration d);
  // strategies.adaptive with an entry's own bounds (0: the configured one).
  AdaptiveOptions BoundsOf(uint32_t min_s, uint32_t max_s) const;
  Result<Contents> Prepare(std::string_view key, std::shared_ptr<const std::string> value,
                           std::vector<std::string> tags, Lifetime lifetime, TimePoint now,
                           ContentType content_type) const;
  // Stores `contents` under `key`, over the entry there if any, evicting to make room.
  void PlaceLocked(std::string_view key, uint64_t hash, Contents&& contents, TimePoint now)
      TC_REQUIRES(mu_);
  // The slot in the hash index that points at `key`'s entry, or at the end of its chain.
  Entry** FindSlotLocked(std::string_view key, uint64_t hash) const TC_REQUIRES(mu_);
  Entry* FindLocked(std::string_view key, uint64_t hash) const TC_REQUIRES(mu_) {
    return *FindSlotLocked(key, hash);
  }
  void GrowLocked() TC_REQUIRES(mu_);
  // Removals between the two are counted in `removals`, then in stats_ in one step.
  void BeginBatchLocked(KeyStats::Removals& removals) TC_REQUIRES(mu_);
  void EndBatchLocked(KeyStats::Removals& removals) TC_REQUIRES(mu_);
  // Asks for the first entry of slot `b` (if any) ahead of a walk reaching it.
  void PrefetchBucketLocked(size_t b) const TC_REQUIRES(mu_);
  // Erases every entry of `victims` (each in the shard), as EraseLocked with kDeleted;
  // returns how many were live.
  uint64_t EraseAllLocked(const std::vector<Entry*>& victims, TimePoint now) TC_REQUIRES(mu_);
  // Takes `e` out of the LRU order and the tag index and drops what it holds besides its
  // block (statistics as EraseLocked); true if it was live. It stays in the hash index.
  bool UnlinkLocked(Entry* e, TimePoint now, KeyStats::Removal why) TC_REQUIRES(mu_);
  // Removes `e` from every index and lets go of it (readers may still hold its block).
  // Returns true if it was still live. `why` is for the statistics; an entry past its
  // expiry counts as expired whatever `why`.
  bool EraseLocked(Entry* e, TimePoint now, KeyStats::Removal why) TC_REQUIRES(mu_);
  void LinkTagsLocked(Entry* e, const std::vector<std::string>& tags) TC_REQUIRES(mu_);
  void UnlinkTagsLocked(Entry* e) TC_REQUIRES(mu_);
  void RememberGhostLocked(const Entry& e, MissCause cause) TC_REQUIRES(mu_);
  void TouchLocked(Entry& e, uint64_t hash, TimePoint now) TC_REQUIRES(mu_);
  LruList& ListOf(Segment segment) TC_REQUIRES(mu_);
  // Puts `e` (in no list) at the front of `segment`.
  void LinkLocked(Entry* e, Segment segment) TC_REQUIRES(mu_);
  void UnlinkFromListLocked(Entry* e) TC_REQUIRES(mu_);
  // The entries the window and the protected segment may hold, for a shard that holds
  // about as many entries as its limits allow.
  size_t CapacityLocked() const TC_REQUIRES(mu_);
  // Whether the shard, with an entry of `incoming_charge` bytes more, is over a limit.
  bool FullLocked(uint64_t incoming_charge) const TC_REQUIRES(mu_);
  void EvictLocked(Entry* victim, TimePoint now) TC_REQUIRES(mu_);
  // Evicts until `incoming` (in the index, in no list) fits, never evicting it.
  void MakeRoomLocked(const Entry* incoming, uint64_t incoming_charge, TimePoint now)
      TC_REQUIRES(mu_);
  uint32_t FrequencyOf(const Entry& e) const TC_REQUIRES(mu_) {
    return sketch_.Frequency(Hash(e.key()));
  }
  std::vector<std::string> TagsOf(const Entry& e) const TC_REQUIRES(mu_);
  // The entry's value as written: shared with the entry, or decompressed into a copy
  // (null if its bytes do not decompress).
  SharedBytes ValueOf(const Entry& e) const TC_REQUIRES(mu_);
  SharedBytes Decompressed(std::string_view stored) const;
  // Get's end for a compressed value, out of the lock and out of the common path.
  std::optional<L1Value> DecompressedHit(L1Value packed) const;
  // Destroys what an entry holds besides its block: the shared value and the extras.
  // Leaves the block (key, inline bytes) for readers and for reuse.
  static void DropContents(Entry* e);
  // Frees every entry, telling no one (Clear reports them first).
  void FreeAllLocked() TC_REQUIRES(mu_);
  // The size of an entry's block: header, shared value or inline bytes, key.
  static uint64_t BlockSize(size_t key_size, size_t value_size, bool shared);
  uint64_t ChargeOf(const Entry& e) const TC_REQUIRES(mu_);

  // Times of access are kept in 32 bits, as milliseconds since epoch_, which moves on
  // before they would overflow (RebaseLocked); access times more than about 24 days old
  // then read as that old.
  uint32_t RelTimeLocked(TimePoint now) TC_REQUIRES(mu_);
  TimePoint AbsTime(uint32_t rel) const TC_REQUIRES(mu_);
  void RebaseLocked(TimePoint now) TC_REQUIRES(mu_);

  struct Ghost {
    MissCause cause;
    TimePoint stored_at;
    uint64_t seq;  // which ring slot owns it
  };

  const Limits limits_;
  const AdaptiveOptions adaptive_;
  KeyStats* const stats_;
  // While a bulk removal runs (BeginBatchLocked to EndBatchLocked), where its removals
  // are counted.
  KeyStats::Removals* batch_ TC_GUARDED_BY(mu_) = nullptr;

  mutable Mutex mu_;
  // Chained hash index over the entries: a power of two of slots, grown past one entry per
  // slot on average. Chains are threaded through the entries (Entry::next).
  std::unique_ptr<Entry*[]> buckets_ TC_GUARDED_BY(mu_);
  size_t bucket_mask_ TC_GUARDED_BY(mu_) = 0;
  size_t entries_ TC_GUARDED_BY(mu_) = 0;
  size_t sweep_bucket_ TC_GUARDED_BY(mu_) = 0;  // where ReclaimExpired goes on
  // The eviction order, front most recently used in each. kLru: probation_ alone.
  LruList window_ TC_GUARDED_BY(mu_);
  LruList probation_ TC_GUARDED_BY(mu_);
  LruList protected_ TC_GUARDED_BY(mu_);
  size_t window_entries_ TC_GUARDED_BY(mu_) = 0;
  size_t protected_entries_ TC_GUARDED_BY(mu_) = 0;
  FrequencySketch sketch_ TC_GUARDED_BY(mu_);  // kTinyLfu
  TimePoint epoch_ TC_GUARDED_BY(mu_);
  TagIndex tag_index_ TC_GUARDED_BY(mu_);
  // The tag_index_ nodes (stable: the map is node-based) of tags with large_tag_entries_
  // entries or more.
  const uint64_t large_tag_entries_;
  std::unordered_set<const TagNode*> large_tags_ TC_GUARDED_BY(mu_);
  uint64_t bytes_ TC_GUARDED_BY(mu_) = 0;
  uint64_t hits_ TC_GUARDED_BY(mu_) = 0;
  uint64_t misses_ TC_GUARDED_BY(mu_) = 0;
  uint64_t evictions_ TC_GUARDED_BY(mu_) = 0;
  uint64_t expirations_ TC_GUARDED_BY(mu_) = 0;
  uint64_t absences_ TC_GUARDED_BY(mu_) = 0;       // entries_ that are absences
  uint64_t absence_hits_ TC_GUARDED_BY(mu_) = 0;
  // Keys that left by expiry or eviction, oldest overwritten first (a ring of keys).
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const { return Hash(k); }
  };
  std::unordered_map<std::string, Ghost, KeyHash, std::equal_to<>> ghosts_ TC_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, uint64_t>> ghost_ring_ TC_GUARDED_BY(mu_);
  uint64_t ghost_seq_ TC_GUARDED_BY(mu_) = 0;
  // Last: the members above are laid out as the hot paths touch them.
  const Compressor* const compressor_;
};

}  // namespace tiercache
