#include "core/l1_shard.h"

#include <algorithm>

namespace tiercache {

namespace {
// Expired entries reclaimed on each write, so a shard under write load sheds its
// expired entries without waiting for the background sweep.
constexpr size_t kReclaimPerWrite = 8;
// Approximate bookkeeping cost of an entry beyond its payload (entry node, hash node,
// index hooks); fixed so that the accounting is exact and reproducible.
constexpr uint64_t kEntryOverhead = 160;
}  // namespace

L1Shard::L1Shard(const Limits& limits, const AdaptiveOptions& adaptive, KeyStats* stats,
                 size_t ghosts, uint64_t large_tag_entries)
    : limits_(limits),
      adaptive_(adaptive),
      stats_(stats),
      large_tag_entries_(std::max<uint64_t>(1, large_tag_entries)) {
  MutexLock lock(mu_);
  ghost_ring_.resize(stats == nullptr ? 0 : ghosts);
}

L1Shard::~L1Shard() {
  MutexLock lock(mu_);
  expiry_.clear();
  lru_.clear();
}

uint64_t L1Shard::Charge(std::string_view key, const std::string& value,
                         const std::vector<std::string>& tags, std::string_view content_type) {
  uint64_t charge = key.size() + value.size() + content_type.size() + kEntryOverhead;
  for (const auto& t : tags) charge += t.size();
  return charge;
}

std::optional<L1Value> L1Shard::Get(std::string_view key, TimePoint now) {
  MutexLock lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) {
    ++misses_;
    return std::nullopt;
  }
  Entry& e = *it->second;
  if (e.expires_at <= now) {
    EraseLocked(&e, now, KeyStats::Removal::kExpired);
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  TouchLocked(e, now);
  return L1Value{e.value, e.content_type, e.expires_at, now};
}

void L1Shard::TouchLocked(Entry& e, TimePoint now) {
  if (&lru_.front() != &e) {
    lru_.erase(lru_.iterator_to(e));
    lru_.push_front(e);
  }
  ++e.reads;
  if (e.adaptive_base == Duration::zero()) {
    e.last_read = now;
    return;
  }
  // The lifetime follows the reads that came before this one: a first read, or one after
  // a long idle, finds the heat near zero and gets min_timeout; a steady stream of reads
  // pushes it toward max_timeout.
  const double earlier = DecayedHeat(e.heat, now - e.last_read, e.adaptive_base);
  const Duration timeout = AdaptiveTimeout(earlier, e.adaptive_base, adaptive_);
  e.heat = earlier + 1.0;
  e.last_read = now;
  expiry_.erase(expiry_.iterator_to(e));
  e.expires_at = now + std::chrono::duration_cast<Duration>(timeout * limits_.ttl_factor);
  IndexExpiryLocked(e);
}

void L1Shard::IndexExpiryLocked(Entry& e) {
  if (expiry_.empty()) latest_expiry_ = TimePoint::min();
  // Writes with one lifetime come in expiry order: each goes last, found in constant time,
  // where a search from the root would miss the cache at every level of a large tree.
  if (e.expires_at >= latest_expiry_) {
    latest_expiry_ = e.expires_at;
    expiry_.push_back(e);
  } else {
    expiry_.insert(e);
  }
}

Result<L1Shard::Contents> L1Shard::Prepare(std::string_view key,
                                           std::shared_ptr<const std::string> value,
                                           std::vector<std::string> tags, Lifetime lifetime,
                                           TimePoint now, ContentType content_type) const {
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  const uint64_t charge = Charge(key, *value, tags, ContentTypeText(content_type));
  if (charge > limits_.max_bytes || limits_.max_entries == 0) {
    return Status::TooLarge("entry of " + std::to_string(charge) +
                            " bytes exceeds the L1 shard budget of " +
                            std::to_string(limits_.max_bytes) + " bytes (l1.max_bytes / l1.shards)");
  }
  Contents c;
  c.value = std::move(value);
  c.content_type = std::move(content_type);
  c.tags = std::move(tags);
  c.charge = charge;
  Duration timeout = lifetime.timeout;
  if (lifetime.kind == Lifetime::Kind::kAdaptive) {
    c.adaptive_base = lifetime.timeout;
    timeout = std::clamp(lifetime.timeout, adaptive_.min_timeout, adaptive_.max_timeout);
  }
  c.expires_at = lifetime.kind == Lifetime::Kind::kExact
                     ? now + timeout
                     : now + std::chrono::duration_cast<Duration>(timeout * limits_.ttl_factor);
  return c;
}

Status L1Shard::Set(std::string_view key, std::shared_ptr<const std::string> value,
                    std::vector<std::string> tags, Lifetime lifetime, TimePoint now,
                    SetMode mode, ContentType content_type) {
  auto contents = Prepare(key, std::move(value), std::move(tags), lifetime, now,
                          std::move(content_type));
  if (!contents.ok()) return contents.status();
  MutexLock lock(mu_);
  uint64_t reclaimed = 0;
  ReclaimExpiredLocked(kReclaimPerWrite, now, reclaimed);
  if (mode == SetMode::kIfAbsent) {
    if (auto it = map_.find(key); it != map_.end() && it->second->expires_at > now) {
      return Status::Ok();
    }
  }
  PlaceLocked(key, std::move(*contents), now);
  return Status::Ok();
}

Status L1Shard::Update(std::string_view key, const L1Decide& decide, TimePoint now) {
  MutexLock lock(mu_);
  Entry* current = nullptr;
  if (auto it = map_.find(key); it != map_.end() && it->second->expires_at > now) {
    current = it->second.get();
  }
  std::optional<L1Current> seen;
  if (current != nullptr) {
    seen.emplace(L1Current{current->value, current->content_type, current->tags,
                           current->expires_at - now});
  }
  L1Change change = decide(seen ? &*seen : nullptr);
  switch (change.action) {
    case L1Change::Action::kKeep:
      return Status::Ok();
    case L1Change::Action::kDelete:
      if (current != nullptr) EraseLocked(current, now, KeyStats::Removal::kDeleted);
      return Status::Ok();
    case L1Change::Action::kWrite:
      break;
  }
  auto contents = Prepare(key, std::move(change.value), std::move(change.tags), change.lifetime,
                          now, std::move(change.content_type));
  if (!contents.ok()) return contents.status();
  PlaceLocked(key, std::move(*contents), now);
  return Status::Ok();
}

void L1Shard::PlaceLocked(std::string_view key, Contents&& contents, TimePoint now) {
  Entry* e = nullptr;
  if (auto it = map_.find(key); it != map_.end()) {
    // Replaced in place: the entry, its key and its map node are reused, which makes a
    // write over an existing key cost no allocation besides the value's.
    e = it->second.get();
    UnlinkLocked(e, now, KeyStats::Removal::kReplaced);
  } else {
    auto owned = std::make_unique<Entry>();
    owned->key.assign(key);
    if (stats_ != nullptr) owned->group = stats_->GroupOf(key);
    e = owned.get();
    map_.emplace(std::string_view(e->key), std::move(owned));
  }
  // Stored again: a later miss is not explained by the old departure (an expired entry
  // replaced here just left one).
  if (!ghosts_.empty()) {
    if (auto ghost = ghosts_.find(key); ghost != ghosts_.end()) ghosts_.erase(ghost);
  }
  e->value = std::move(contents.value);
  e->content_type = std::move(contents.content_type);
  e->tags = std::move(contents.tags);
  e->charge = contents.charge;
  e->expires_at = contents.expires_at;
  e->adaptive_base = contents.adaptive_base;
  e->stored_at = now;
  e->last_read = now;
  e->reads = 0;
  e->heat = 0;
  // Room for it: `e` is in the map but not yet in the LRU order, so it is no victim.
  while (!lru_.empty() &&
         (map_.size() > limits_.max_entries || bytes_ + e->charge > limits_.max_bytes)) {
    Entry* victim = &lru_.back();
    if (EraseLocked(victim, now, KeyStats::Removal::kEvicted)) ++evictions_;
  }
  lru_.push_front(*e);
  IndexExpiryLocked(*e);
  for (const auto& tag : e->tags) {
    auto& node = *tag_index_.try_emplace(tag).first;
    if (node.second.insert(e) && node.second.size() == large_tag_entries_) {
      large_tags_.insert(&node);
    }
  }
  bytes_ += e->charge;
  if (stats_ != nullptr) stats_->Stored(e->group, e->charge);
}

std::optional<L1EntryInfo> L1Shard::Inspect(std::string_view key, TimePoint now) const {
  MutexLock lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end() || it->second->expires_at <= now) return std::nullopt;
  const Entry& e = *it->second;
  return L1EntryInfo{e.reads,   e.stored_at, e.last_read,
                     e.expires_at, e.tags,   e.charge,
                     e.adaptive_base != Duration::zero()};
}

std::vector<std::string> L1Shard::Keys(TimePoint now,
                                       const std::function<bool(std::string_view)>& match) const {
  std::vector<std::string> keys;
  MutexLock lock(mu_);
  for (const auto& [key, e] : map_) {
    if (e->expires_at > now && match(key)) keys.emplace_back(key);
  }
  return keys;
}

std::optional<std::string> L1Shard::AnyKey(TimePoint now) const {
  MutexLock lock(mu_);
  for (const auto& [key, e] : map_) {
    if (e->expires_at > now) return std::string(key);
  }
  return std::nullopt;
}

bool L1Shard::Delete(std::string_view key, TimePoint now) {
  MutexLock lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return false;
  return EraseLocked(it->second.get(), now, KeyStats::Removal::kDeleted);
}

uint64_t L1Shard::InvalidateTags(const std::vector<std::string>& tags, TimePoint now) {
  MutexLock lock(mu_);
  uint64_t removed = 0;
  for (const auto& tag : tags) {
    // EraseLocked drops the tag's set once it is empty, so look it up afresh each time.
    for (auto it = tag_index_.find(tag); it != tag_index_.end(); it = tag_index_.find(tag)) {
      if (EraseLocked(it->second.any(), now, KeyStats::Removal::kDeleted)) ++removed;
    }
  }
  return removed;
}

uint64_t L1Shard::InvalidateMatching(const KeyPattern& pattern, TimePoint now) {
  MutexLock lock(mu_);
  std::vector<Entry*> matched;
  for (const auto& [key, entry] : map_) {
    if (pattern.Matches(key)) matched.push_back(entry.get());
  }
  uint64_t removed = 0;
  for (Entry* e : matched) {
    if (EraseLocked(e, now, KeyStats::Removal::kDeleted)) ++removed;
  }
  return removed;
}

uint64_t L1Shard::Clear(TimePoint now) {
  MutexLock lock(mu_);
  uint64_t live = 0;
  for (const auto& [key, entry] : map_) {
    if (entry->expires_at > now) ++live;
  }
  expirations_ += map_.size() - live;
  if (stats_ != nullptr) {
    for (const auto& [key, e] : map_) {
      stats_->Removed(e->group, e->charge,
                      e->expires_at > now ? KeyStats::Removal::kDeleted
                                          : KeyStats::Removal::kExpired,
                      e->reads > 0);
    }
  }
  expiry_.clear();
  lru_.clear();
  large_tags_.clear();
  tag_index_.clear();
  map_.clear();
  bytes_ = 0;
  return live;
}

uint64_t L1Shard::ReclaimExpired(size_t budget, TimePoint now) {
  MutexLock lock(mu_);
  uint64_t reclaimed = 0;
  ReclaimExpiredLocked(budget, now, reclaimed);
  return reclaimed;
}

void L1Shard::ReclaimExpiredLocked(size_t budget, TimePoint now, uint64_t& reclaimed) {
  while (budget-- > 0 && !expiry_.empty() && expiry_.begin()->expires_at <= now) {
    EraseLocked(&*expiry_.begin(), now, KeyStats::Removal::kExpired);
    ++reclaimed;
  }
}

bool L1Shard::EraseLocked(Entry* e, TimePoint now, KeyStats::Removal why) {
  const bool live = UnlinkLocked(e, now, why);
  // Erase by iterator: the map's key is a view into *e, which the erase frees.
  map_.erase(map_.find(std::string_view(e->key)));
  return live;
}

bool L1Shard::UnlinkLocked(Entry* e, TimePoint now, KeyStats::Removal why) {
  const bool live = e->expires_at > now;
  if (!live) ++expirations_;
  if (stats_ != nullptr) {
    if (!live) why = KeyStats::Removal::kExpired;
    stats_->Removed(e->group, e->charge, why, e->reads > 0);
    if (why == KeyStats::Removal::kExpired) RememberGhostLocked(*e, MissCause::kExpired);
    if (why == KeyStats::Removal::kEvicted) RememberGhostLocked(*e, MissCause::kEvicted);
  }
  lru_.erase(lru_.iterator_to(*e));
  expiry_.erase(expiry_.iterator_to(*e));
  for (const auto& tag : e->tags) {
    auto it = tag_index_.find(tag);
    if (it == tag_index_.end()) continue;
    if (it->second.erase(e) && it->second.size() + 1 == large_tag_entries_) {
      large_tags_.erase(&*it);
    }
    if (it->second.empty()) tag_index_.erase(it);
  }
  bytes_ -= e->charge;
  return live;
}

void L1Shard::RememberGhostLocked(const Entry& e, MissCause cause) {
  if (ghost_ring_.empty()) return;
  auto& [old_key, old_seq] = ghost_ring_[ghost_seq_ % ghost_ring_.size()];
  if (auto it = ghosts_.find(old_key); it != ghosts_.end() && it->second.seq == old_seq) {
    ghosts_.erase(it);
  }
  old_key = e.key;
  old_seq = ghost_seq_;
  ghosts_[e.key] = Ghost{cause, e.stored_at, ghost_seq_};
  ++ghost_seq_;
}

std::optional<L1Ghost> L1Shard::TakeGhost(std::string_view key, TimePoint now) {
  MutexLock lock(mu_);
  // A Get that has not looked yet would find an expired entry still here.
  if (auto live = map_.find(key); live != map_.end() && live->second->expires_at <= now) {
    EraseLocked(live->second.get(), now, KeyStats::Removal::kExpired);
  }
  auto it = ghosts_.find(key);
  if (it == ghosts_.end()) return std::nullopt;
  L1Ghost ghost{it->second.cause, it->second.stored_at};
  ghosts_.erase(it);
  return ghost;
}

void L1Shard::AddLargeTags(std::unordered_map<std::string, uint64_t>& into) const {
  MutexLock lock(mu_);
  for (const TagIndex::value_type* node : large_tags_) into[node->first] += node->second.size();
}

void L1Shard::AddStats(L1Stats& stats) const {
  MutexLock lock(mu_);
  stats.entries += map_.size();
  stats.bytes += bytes_;
  stats.max_entries += limits_.max_entries;
  stats.max_bytes += limits_.max_bytes;
  stats.hits += hits_;
  stats.misses += misses_;
  stats.evictions += evictions_;
  stats.expirations += expirations_;
}

}  // namespace tiercache
