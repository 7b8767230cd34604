#pragma once

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/set.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/key_stats.h"
#include "core/l1_store.h"
#include "core/thread_annotations.h"

namespace tiercache {

// One lock's worth of the L1 store: the entries, their LRU order, their expiry order and
// the tag index, all guarded by mu_. Private to core/l1_store.cc and its tests.
class L1Shard {
 public:
  struct Limits {
    uint64_t max_entries;
    uint64_t max_bytes;
    double ttl_factor;
  };

  // `stats` (may be null) is told of every entry stored and removed, and then the shard
  // remembers up to `ghosts` keys that expired or were evicted, for TakeGhost. Tags with at
  // least `large_tag_entries` entries are kept track of, for AddLargeTags.
  L1Shard(const Limits& limits, const AdaptiveOptions& adaptive, KeyStats* stats = nullptr,
          size_t ghosts = 0, uint64_t large_tag_entries = 1);
  ~L1Shard();

  std::optional<L1Value> Get(std::string_view key, TimePoint now) TC_EXCLUDES(mu_);
  Status Set(std::string_view key, std::shared_ptr<const std::string> value,
             std::vector<std::string> tags, Lifetime lifetime, TimePoint now,
             SetMode mode = SetMode::kReplace, ContentType content_type = nullptr)
      TC_EXCLUDES(mu_);
  Status Update(std::string_view key, const L1Decide& decide, TimePoint now) TC_EXCLUDES(mu_);
  std::optional<L1EntryInfo> Inspect(std::string_view key, TimePoint now) const
      TC_EXCLUDES(mu_);
  std::vector<std::string> Keys(TimePoint now,
                                const std::function<bool(std::string_view)>& match) const
      TC_EXCLUDES(mu_);
  std::optional<std::string> AnyKey(TimePoint now) const TC_EXCLUDES(mu_);
  bool Delete(std::string_view key, TimePoint now) TC_EXCLUDES(mu_);
  uint64_t InvalidateTags(const std::vector<std::string>& tags, TimePoint now) TC_EXCLUDES(mu_);
  uint64_t InvalidateMatching(const KeyPattern& pattern, TimePoint now) TC_EXCLUDES(mu_);
  uint64_t Clear(TimePoint now) TC_EXCLUDES(mu_);
  uint64_t ReclaimExpired(size_t budget, TimePoint now) TC_EXCLUDES(mu_);
  void AddStats(L1Stats& stats) const TC_EXCLUDES(mu_);
  std::optional<L1Ghost> TakeGhost(std::string_view key, TimePoint now) TC_EXCLUDES(mu_);
  // Adds the entry count of every tag with at least `large_tag_entries` entries in this
  // shard. It costs as much as there are such tags, not as there are tags: a status request
  // must not hold the shard while it walks a tag per entry.
  void AddLargeTags(std::unordered_map<std::string, uint64_t>& into) const TC_EXCLUDES(mu_);

  // Bytes charged for an entry: its payload (key, value, tags, content type) plus a fixed
  // overhead for bookkeeping.
  static uint64_t Charge(std::string_view key, const std::string& value,
                         const std::vector<std::string>& tags,
                         std::string_view content_type = {});

 private:
  using Hook = boost::intrusive::link_mode<boost::intrusive::normal_link>;
  struct Entry {
    std::string key;
    std::shared_ptr<const std::string> value;
    ContentType content_type;
    std::vector<std::string> tags;
    TimePoint expires_at;
    TimePoint stored_at;
    TimePoint last_read;                // access statistics: when and how often read
    uint64_t reads = 0;
    double heat = 0;                    // decayed read count (adaptive entries)
    Duration adaptive_base{0};          // zero for fixed-lifetime entries
    uint64_t charge = 0;
    uint16_t group = 0;                 // KeyStats group, when stats_ is set
    boost::intrusive::list_member_hook<Hook> lru_hook;
    boost::intrusive::set_member_hook<Hook> expiry_hook;
  };
  struct ExpiresBefore {
    bool operator()(const Entry& a, const Entry& b) const { return a.expires_at < b.expires_at; }
  };
  using LruList = boost::intrusive::list<
      Entry, boost::intrusive::member_hook<Entry, boost::intrusive::list_member_hook<Hook>,
                                           &Entry::lru_hook>>;
  using ExpiryIndex = boost::intrusive::multiset<
      Entry,
      boost::intrusive::member_hook<Entry, boost::intrusive::set_member_hook<Hook>,
                                    &Entry::expiry_hook>,
      boost::intrusive::compare<ExpiresBefore>>;
  // Keys are views into the owned Entry's key, so each key is stored once.
  using EntryMap = std::unordered_map<std::string_view, std::unique_ptr<Entry>>;

  // What a write stores in an entry, checked against the shard's budget; made before
  // the lock is taken, and allocating nothing.
  struct Contents {
    std::shared_ptr<const std::string> value;
    ContentType content_type;
    std::vector<std::string> tags;  // sorted, unique
    uint64_t charge = 0;
    TimePoint expires_at;
    Duration adaptive_base{0};
  };
  Result<Contents> Prepare(std::string_view key, std::shared_ptr<const std::string> value,
                           std::vector<std::string> tags, Lifetime lifetime, TimePoint now,
                           ContentType content_type) const;
  // Stores `contents` under `key`, over the entry there if any, evicting to make room.
  void PlaceLocked(std::string_view key, Contents&& contents, TimePoint now) TC_REQUIRES(mu_);
  // Takes `e` out of every index but the map (statistics as EraseLocked); true if live.
  bool UnlinkLocked(Entry* e, TimePoint now, KeyStats::Removal why) TC_REQUIRES(mu_);
  // Removes `e` from every index and frees it. Returns true if it was still live. `why`
  // is for the statistics; an entry past its expiry counts as expired whatever `why`.
  bool EraseLocked(Entry* e, TimePoint now, KeyStats::Removal why) TC_REQUIRES(mu_);
  void RememberGhostLocked(const Entry& e, MissCause cause) TC_REQUIRES(mu_);
  void ReclaimExpiredLocked(size_t budget, TimePoint now, uint64_t& reclaimed) TC_REQUIRES(mu_);
  void TouchLocked(Entry& e, TimePoint now) TC_REQUIRES(mu_);
  void IndexExpiryLocked(Entry& e) TC_REQUIRES(mu_);

  struct Ghost {
    MissCause cause;
    TimePoint stored_at;
    uint64_t seq;  // which ring slot owns it
  };

  const Limits limits_;
  const AdaptiveOptions adaptive_;
  KeyStats* const stats_;

  mutable Mutex mu_;
  EntryMap map_ TC_GUARDED_BY(mu_);
  LruList lru_ TC_GUARDED_BY(mu_);  // front: most recently used
  ExpiryIndex expiry_ TC_GUARDED_BY(mu_);
  // At least the latest expiry in expiry_ (it may be one since removed).
  TimePoint latest_expiry_ TC_GUARDED_BY(mu_) = TimePoint::min();
  // The entries of one tag. Most tags name one entry (`user:{id}` on `user:{id}`): that
  // one is held inline, so a bulk load of such entries allocates no set per tag; a second
  // entry moves the tag to a hash set, where it stays.
  class TagEntries {
   public:
    bool insert(Entry* e) {  // true if it was not there
      if (!many_) {
        if (one_ == nullptr || one_ == e) return std::exchange(one_, e) == nullptr;
        many_ = std::make_unique<std::unordered_set<Entry*>>();
        many_->insert(std::exchange(one_, nullptr));
      }
      return many_->insert(e).second;
    }
    bool erase(Entry* e) {  // true if it was there
      if (many_) return many_->erase(e) > 0;
      if (one_ != e) return false;
      one_ = nullptr;
      return true;
    }
    size_t size() const { return many_ ? many_->size() : (one_ != nullptr ? 1 : 0); }
    bool empty() const { return size() == 0; }
    Entry* any() const { return many_ ? *many_->begin() : one_; }  // when not empty

   private:
    Entry* one_ = nullptr;  // while many_ is null
    std::unique_ptr<std::unordered_set<Entry*>> many_;
  };
  using TagIndex = std::unordered_map<std::string, TagEntries>;
  TagIndex tag_index_ TC_GUARDED_BY(mu_);
  // The tag_index_ nodes (stable: the map is node-based) of tags with large_tag_entries_
  // entries or more.
  const uint64_t large_tag_entries_;
  std::unordered_set<const TagIndex::value_type*> large_tags_ TC_GUARDED_BY(mu_);
  uint64_t bytes_ TC_GUARDED_BY(mu_) = 0;
  uint64_t hits_ TC_GUARDED_BY(mu_) = 0;
  uint64_t misses_ TC_GUARDED_BY(mu_) = 0;
  uint64_t evictions_ TC_GUARDED_BY(mu_) = 0;
  uint64_t expirations_ TC_GUARDED_BY(mu_) = 0;
  // Keys that left by expiry or eviction, oldest overwritten first (a ring of keys).
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
  };
  std::unordered_map<std::string, Ghost, KeyHash, std::equal_to<>> ghosts_ TC_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, uint64_t>> ghost_ring_ TC_GUARDED_BY(mu_);
  uint64_t ghost_seq_ TC_GUARDED_BY(mu_) = 0;
};

}  // namespace tiercache
