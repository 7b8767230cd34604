#include "core/l1_shard.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>

#include "core/compression.h"

namespace tiercache {

namespace {

using SharedString = std::shared_ptr<const std::string>;

// The size of the block the allocator hands out for `n` bytes: jemalloc's classes
// (16-byte steps to 128 bytes, then four classes per doubling), which glibc's malloc
// matches closely for the sizes entries have.
uint64_t AllocatedSize(uint64_t n) {
  if (n <= 8) return 8;
  if (n <= 128) return (n + 15) & ~uint64_t{15};
  const int lg = std::bit_width(n - 1) - 1;
  const uint64_t spacing = uint64_t{1} << (lg - 2);
  return (n + spacing - 1) & ~(spacing - 1);
}

// An entry's share of the hash index: one slot, the index being grown at one entry per
// slot on average.
constexpr uint64_t kIndexSlotBytes = sizeof(void*);
// A value kept in its own shared string: the control block with the string object, and
// the string's buffer.
uint64_t SharedValueBytes(uint64_t size) {
  return AllocatedSize(16 + 32) + AllocatedSize(size + 1);
}
// A tag of an entry: its link in the entry's extras (counted there), its slot in the tag's
// member list (which grows by doubling), and its name, counted for each entry carrying
// it so that an entry's charge does not depend on its neighbours.
uint64_t TagBytes(uint64_t name_size) { return 2 * sizeof(void*) + name_size; }
// A content type: a shared string of its own.
uint64_t ContentTypeBytes(uint64_t size) {
  return size == 0 ? 0 : AllocatedSize(16 + 32) + (size > 15 ? AllocatedSize(size + 1) : 0);
}

// W-TinyLFU's window: 1% of the capacity, at least one entry.
size_t WindowMax(size_t capacity) { return std::max<size_t>(1, capacity / 100); }

// Walks over many entries are bound by memory latency: they ask for the entries they will
// reach this many steps on while working on the current one.
constexpr size_t kPrefetchAhead = 16;

void PrefetchEntry(const void* p) {
  __builtin_prefetch(p);
  __builtin_prefetch(static_cast<const char*>(p) + 64);  // the key starts in the next line
}

constexpr int64_t kRebaseAfterMs = int64_t{3} << 30;  // ~37 days: room below 2^32
constexpr int64_t kRebaseKeepMs = int64_t{2} << 30;   // ~24.8 days of history kept

}  // namespace

uint64_t L1Shard::BlockSize(size_t key_size, size_t value_size, bool shared) {
  return sizeof(Entry) + key_size + (shared ? sizeof(SharedString) : value_size);
}

uint64_t L1Shard::Charge(std::string_view key, std::string_view value,
                         const std::vector<std::string>& tags, std::string_view content_type,
                         bool adaptive) {
  const bool shared = value.size() > kMaxInlineValue;
  uint64_t charge =
      AllocatedSize(BlockSize(key.size(), value.size(), shared)) +
      kIndexSlotBytes;
  if (shared) charge += SharedValueBytes(value.size());
  if (!tags.empty() || !content_type.empty() || adaptive) {
    charge += AllocatedSize(sizeof(Extras) + tags.size() * sizeof(TagLink));
  }
  for (const auto& t : tags) charge += TagBytes(t.size());
  charge += ContentTypeBytes(content_type.size());
  return charge;
}

uint64_t L1Shard::ChargeOf(const Entry& e) const {
  const std::string_view value = e.value();
  const bool shared = e.shared_value;
  uint64_t charge =
      AllocatedSize(BlockSize(e.key_size, value.size(), shared)) +
      kIndexSlotBytes;
  if (shared) charge += SharedValueBytes(value.size());
  if (e.extras != nullptr) {
    charge += AllocatedSize(sizeof(Extras) + e.extras->tag_count * sizeof(TagLink));
    for (uint32_t i = 0; i < e.extras->tag_count; ++i) {
      charge += TagBytes(e.extras->tags()[i].node->first.size());
    }
    charge += ContentTypeBytes(ContentTypeText(e.extras->content_type).size());
  }
  return charge;
}

L1Shard::L1Shard(const Limits& limits, const AdaptiveOptions& adaptive, KeyStats* stats,
                 size_t ghosts, uint64_t large_tag_entries, const Compressor* compressor)
    : limits_(limits),
      adaptive_(adaptive),
      stats_(stats),
      sketch_(limits.policy == L1Policy::kTinyLfu ? std::max<uint64_t>(limits.max_entries, 1) : 1),
      large_tag_entries_(std::max<uint64_t>(1, large_tag_entries)),
      compressor_(compressor) {
  MutexLock lock(mu_);
  ghost_ring_.resize(stats == nullptr ? 0 : ghosts);
  bucket_mask_ = 15;
  buckets_ = std::make_unique<Entry*[]>(bucket_mask_ + 1);
  epoch_ = TimePoint::min();
}

L1Shard::~L1Shard() {
  MutexLock lock(mu_);
  FreeAllLocked();
}

uint32_t L1Shard::RelTimeLocked(TimePoint now) {
  if (epoch_ == TimePoint::min()) epoch_ = now;
  if (now <= epoch_) return 0;
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - epoch_).count();
  if (ms >= kRebaseAfterMs) {
    RebaseLocked(now);
    ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - epoch_).count();
  }
  return static_cast<uint32_t>(ms);
}

TimePoint L1Shard::AbsTime(uint32_t rel) const { return epoch_ + std::chrono::milliseconds(rel); }

void L1Shard::RebaseLocked(TimePoint now) {
  const TimePoint next = now - std::chrono::milliseconds(kRebaseKeepMs);
  const auto shift = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(next - epoch_).count());
  const auto moved = [shift](uint32_t t) -> uint32_t { return t > shift ? t - shift : 0; };
  for (size_t b = 0; b <= bucket_mask_; ++b) {
    for (Entry* e = buckets_[b]; e != nullptr; e = e->next) {
      e->stored_at = moved(e->stored_at);
      e->last_read = moved(e->last_read);
    }
  }
  epoch_ += std::chrono::milliseconds(shift);
}

L1Shard::Entry** L1Shard::FindSlotLocked(std::string_view key, uint64_t hash) const {
  Entry** slot = &buckets_[hash & bucket_mask_];
  while (*slot != nullptr) {
    const Entry& e = **slot;
    if (e.key_size == key.size() && std::memcmp(e.key_data(), key.data(), key.size()) == 0) break;
    slot = &(*slot)->next;
  }
  return slot;
}

void L1Shard::GrowLocked() {
  const size_t n = (bucket_mask_ + 1) * 2;
  auto grown = std::make_unique<Entry*[]>(n);
  for (size_t b = 0; b <= bucket_mask_; ++b) {
    for (Entry* e = buckets_[b]; e != nullptr;) {
      Entry* next = e->next;
      Entry*& head = grown[Hash(e->key()) & (n - 1)];
      e->next = head;
      head = e;
      e = next;
    }
  }
  buckets_ = std::move(grown);
  bucket_mask_ = n - 1;
  sweep_bucket_ &= bucket_mask_;
}

std::optional<L1Value> L1Shard::Get(std::string_view key, uint64_t hash, TimePoint now) {
  L1Value packed;  // a compressed value as stored: decompressed once the lock is released
  {
    MutexLock lock(mu_);
    Entry** slot = FindSlotLocked(key, hash);
    Entry* e = *slot;
    if (e == nullptr) {
      ++misses_;
      return std::nullopt;
    }
    if (e->expires_at <= now) {
      EraseLocked(e, now, KeyStats::Removal::kExpired);
      ++misses_;
      return std::nullopt;
    }
    if (e->absent) {
      ++misses_;
      ++absence_hits_;
      L1Value absent;
      absent.expires_at = e->expires_at;
      absent.read_at = now;
      absent.absent = true;
      return absent;
    }
    ++hits_;
    TouchLocked(*e, hash, now);
    SharedBytes value = e->shared_value ? SharedBytes(*e->shared()) : SharedBytes(e->value(), e);
    ContentType type = e->extras != nullptr ? e->extras->content_type : nullptr;
    if (!e->compressed) [[likely]] {
      return L1Value{std::move(value), std::move(type), e->expires_at, now};
    }
    packed = L1Value{std::move(value), std::move(type), e->expires_at, now};
  }
  return DecompressedHit(std::move(packed));
}

std::optional<L1Value> L1Shard::DecompressedHit(L1Value packed) const {
  packed.value = Decompressed(*packed.value);
  if (packed.value) return packed;
  // Bytes that do not decompress are no value: a miss (counted as a failure in the
  // compression stats). The entry is left for its writer's next write or its expiry: a
  // removal by key here could hit a newer entry written meanwhile.
  return std::nullopt;
}

SharedBytes L1Shard::Decompressed(std::string_view stored) const {
  Result<std::string> value = compressor_->Decompress(stored);
  return value.ok() ? SharedBytes::From(std::move(value).value()) : SharedBytes();
}

SharedBytes L1Shard::ValueOf(const Entry& e) const {
  SharedBytes stored = e.shared_value ? SharedBytes(*e.shared())
                                      : SharedBytes(e.value(), const_cast<Entry*>(&e));
  return e.compressed ? Decompressed(*stored) : stored;
}

L1Shard::LruList& L1Shard::ListOf(Segment segment) {
  switch (segment) {
    case kWindow:
      return window_;
    case kProtected:
      return protected_;
    case kProbation:
      break;
  }
  return probation_;
}

void L1Shard::LinkLocked(Entry* e, Segment segment) {
  e->segment = segment;
  ListOf(segment).push_front(*e);
  if (segment == kWindow) ++window_entries_;
  if (segment == kProtected) ++protected_entries_;
}

void L1Shard::UnlinkFromListLocked(Entry* e) {
  const auto segment = static_cast<Segment>(e->segment);
  LruList& list = ListOf(segment);
  list.erase(list.iterator_to(*e));
  if (segment == kWindow) --window_entries_;
  if (segment == kProtected) --protected_entries_;
}

size_t L1Shard::CapacityLocked() const {
  // The byte budget may hold fewer entries than max_entries: judge by the entries' mean.
  uint64_t capacity = limits_.max_entries;
  if (bytes_ > 0 && entries_ > 0) {
    const uint64_t mean = std::max<uint64_t>(1, bytes_ / entries_);
    capacity = std::min<uint64_t>(capacity, limits_.max_bytes / mean);
  }
  return static_cast<size_t>(std::max<uint64_t>(capacity, 1));
}

void L1Shard::TouchLocked(Entry& e, uint64_t hash, TimePoint now) {
  if (limits_.policy == L1Policy::kLru) {
    if (&probation_.front() != &e) {
      UnlinkFromListLocked(&e);
      LinkLocked(&e, kProbation);
    }
  } else {
    sketch_.Increment(hash);
    const auto segment = static_cast<Segment>(e.segment);
    LruList& list = ListOf(segment);
    if (segment != kProbation) {
      if (&list.front() != &e) list.splice(list.begin(), list, list.iterator_to(e));
    } else {
      // Read again while on probation: protected, pushing protected's oldest back to
      // probation.
      UnlinkFromListLocked(&e);
      LinkLocked(&e, kProtected);
      const size_t capacity = CapacityLocked();
      const size_t protected_max = (capacity - std::min(capacity, WindowMax(capacity))) * 4 / 5;
      while (protected_entries_ > std::max<size_t>(protected_max, 1)) {
        Entry* demoted = &protected_.back();
        UnlinkFromListLocked(demoted);
        LinkLocked(demoted, kProbation);
      }
    }
  }
  if (e.reads != 0xffffff) ++e.reads;
  const uint32_t earlier_read = e.last_read;
  e.last_read = RelTimeLocked(now);
  if (!e.adaptive()) return;
  // The lifetime follows the reads that came before this one: a first read, or one after
  // a long idle, finds the heat near zero and gets min_timeout; a steady stream of reads
  // pushes it toward max_timeout.
  Extras& x = *e.extras;
  const double earlier = DecayedHeat(x.heat, now - AbsTime(earlier_read), x.adaptive_base);
  const Duration timeout = AdaptiveTimeout(earlier, x.adaptive_base,
                                           BoundsOf(x.adaptive_min_s, x.adaptive_max_s));
  x.heat = static_cast<float>(earlier + 1.0);
  e.expires_at = now + std::chrono::duration_cast<Duration>(timeout * limits_.ttl_factor);
}

uint32_t L1Shard::WholeSeconds(Duration d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return static_cast<uint32_t>(std::clamp<int64_t>(s, 0, UINT32_MAX));
}

AdaptiveOptions L1Shard::BoundsOf(uint32_t min_s, uint32_t max_s) const {
  AdaptiveOptions bounds = adaptive_;
  if (min_s != 0) bounds.min_timeout = std::chrono::seconds(min_s);
  if (max_s != 0) bounds.max_timeout = std::chrono::seconds(max_s);
  return bounds;
}

Result<L1Shard::Contents> L1Shard::Prepare(std::string_view key,
                                           std::shared_ptr<const std::string> value,
                                           std::vector<std::string> tags, Lifetime lifetime,
                                           TimePoint now, ContentType content_type) const {
  if (key.size() > kMaxKeyBytes) {
    return Status::TooLarge("key of " + std::to_string(key.size()) +
                            " bytes exceeds L1's limit of " + std::to_string(kMaxKeyBytes));
  }
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  const bool adaptive = lifetime.kind == Lifetime::Kind::kAdaptive;
  Contents c;
  if (compressor_ != nullptr) {
    if (auto packed = compressor_->Compress(*value)) {
      value = std::make_shared<const std::string>(std::move(*packed));
      c.compressed = true;
    }
  }
  // What the entry holds: compressed values are charged as stored.
  const uint64_t charge = Charge(key, *value, tags, ContentTypeText(content_type), adaptive);
  if (charge > limits_.max_bytes || limits_.max_entries == 0) {
    return Status::TooLarge("entry of " + std::to_string(charge) +
                            " bytes exceeds the L1 shard budget of " +
                            std::to_string(limits_.max_bytes) +
                            " bytes (l1.max_bytes / l1.shards)");
  }
  c.value = std::move(value);
  c.content_type = std::move(content_type);
  c.tags = std::move(tags);
  c.charge = charge;
  Duration timeout = lifetime.timeout;
  if (adaptive) {
    c.adaptive_base = lifetime.timeout;
    c.adaptive_min_s = WholeSeconds(lifetime.adaptive_min);
    c.adaptive_max_s = WholeSeconds(lifetime.adaptive_max);
    const AdaptiveOptions bounds = BoundsOf(c.adaptive_min_s, c.adaptive_max_s);
    timeout = std::clamp(lifetime.timeout, bounds.min_timeout, bounds.max_timeout);
  }
  c.expires_at = lifetime.kind == Lifetime::Kind::kExact
                     ? now + timeout
                     : now + std::chrono::duration_cast<Duration>(timeout * limits_.ttl_factor);
  return c;
}

Status L1Shard::Set(std::string_view key, uint64_t hash, std::shared_ptr<const std::string> value,
                    std::vector<std::string> tags, Lifetime lifetime, TimePoint now,
                    SetMode mode, ContentType content_type) {
  auto contents = Prepare(key, std::move(value), std::move(tags), lifetime, now,
                          std::move(content_type));
  if (!contents.ok()) return contents.status();
  MutexLock lock(mu_);
  if (mode == SetMode::kIfAbsent) {
    if (const Entry* e = FindLocked(key, hash); e != nullptr && e->expires_at > now) {
      return Status::Ok();
    }
  }
  PlaceLocked(key, hash, std::move(*contents), now);
  return Status::Ok();
}

Status L1Shard::RememberAbsent(std::string_view key, uint64_t hash, Duration ttl,
                               TimePoint now) {
  static const auto kNoValue = std::make_shared<const std::string>();
  auto contents =
      Prepare(key, kNoValue, {}, Lifetime{Lifetime::Kind::kExact, ttl}, now, nullptr);
  if (!contents.ok()) return contents.status();
  contents->absent = true;
  MutexLock lock(mu_);
  if (const Entry* e = FindLocked(key, hash); e != nullptr && e->expires_at > now) {
    return Status::Ok();  // a write landed meanwhile, or the absence is known already
  }
  PlaceLocked(key, hash, std::move(*contents), now);
  return Status::Ok();
}

std::vector<std::string> L1Shard::TagsOf(const Entry& e) const {
  std::vector<std::string> tags;
  tags.reserve(e.tag_count());
  for (uint32_t i = 0; i < e.tag_count(); ++i) tags.push_back(e.extras->tags()[i].node->first);
  return tags;
}

Status L1Shard::Update(std::string_view key, uint64_t hash, const L1Decide& decide,
                       TimePoint now) {
  MutexLock lock(mu_);
  Entry* current = FindLocked(key, hash);
  if (current != nullptr && (current->expires_at <= now || current->absent)) current = nullptr;
  std::optional<L1Current> seen;
  if (current != nullptr) {
    seen.emplace(L1Current{
        ValueOf(*current),
        current->extras != nullptr ? current->extras->content_type : nullptr, TagsOf(*current),
        current->expires_at - now});
  }
  L1Change change = decide(seen ? &*seen : nullptr);
  seen.reset();  // lets go of the entry's block, which the write may then reuse
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
  PlaceLocked(key, hash, std::move(*contents), now);
  return Status::Ok();
}

void L1Shard::PlaceLocked(std::string_view key, uint64_t hash, Contents&& contents,
                          TimePoint now) {
  // Stored again: a later miss is not explained by the old departure (an expired entry
  // replaced here just left one).
  if (!ghosts_.empty()) {
    if (auto ghost = ghosts_.find(key); ghost != ghosts_.end()) ghosts_.erase(ghost);
  }
  const size_t value_size = contents.value->size();
  const bool shared = value_size > kMaxInlineValue;
  const uint64_t block = BlockSize(key.size(), value_size, shared);
  Entry** slot = FindSlotLocked(key, hash);
  Entry* e = *slot;
  uint16_t group = 0;
  // A new key enters the window (kLru: the one list); an overwritten one keeps its place.
  auto segment = limits_.policy == L1Policy::kLru ? kProbation : kWindow;
  if (limits_.policy == L1Policy::kTinyLfu) sketch_.Increment(hash);
  if (e != nullptr) {
    group = e->group;
    segment = static_cast<Segment>(e->segment);
    UnlinkLocked(e, now, KeyStats::Removal::kReplaced);
    const uint64_t old_block = BlockSize(e->key_size, e->value_size, e->shared_value);
    // Replaced in place when no reader holds the old bytes and the block is as large:
    // a write over an existing key then allocates nothing.
    const bool reuse = e->refs.load(std::memory_order_acquire) == 1 &&
                       e->shared_value == shared &&
                       AllocatedSize(old_block) == AllocatedSize(block);
    if (!reuse) {
      Entry* old = e;
      e = nullptr;
      *slot = old->next;
      --entries_;
      old->Release();
    }
  } else if (stats_ != nullptr) {
    group = stats_->GroupOf(key);
  }
  if (e == nullptr) {
    // The whole size class is asked for, so that a later value of the same class fits.
    e = new (::operator new(AllocatedSize(block))) Entry();
    e->shared_value = shared;
    e->key_size = static_cast<uint16_t>(key.size());
    std::memcpy(const_cast<char*>(e->key_data()), key.data(), key.size());
    e->next = *slot;
    *slot = e;
    ++entries_;
  }
  if (shared) {
    new (e->shared()) SharedString(std::move(contents.value));
    e->value_size = 0;
  } else {
    e->value_size = static_cast<uint32_t>(value_size);
    std::memcpy(const_cast<char*>(e->key_data()) + e->key_size, contents.value->data(),
                value_size);
  }
  e->group = group;
  e->absent = contents.absent;
  e->compressed = contents.compressed;
  if (e->absent) ++absences_;
  e->expires_at = contents.expires_at;
  e->stored_at = e->last_read = RelTimeLocked(now);
  e->reads = 0;
  if (contents.content_type || contents.adaptive_base != Duration::zero() ||
      !contents.tags.empty()) {
    void* mem = ::operator new(sizeof(Extras) + contents.tags.size() * sizeof(TagLink));
    e->extras = new (mem) Extras();
    e->extras->content_type = std::move(contents.content_type);
    e->extras->adaptive_base = contents.adaptive_base;
    e->extras->adaptive_min_s = contents.adaptive_min_s;
    e->extras->adaptive_max_s = contents.adaptive_max_s;
  }
  e->segment = segment;
  MakeRoomLocked(e, contents.charge, now);
  LinkLocked(e, segment);
  LinkTagsLocked(e, contents.tags);
  bytes_ += contents.charge;
  if (stats_ != nullptr && !e->absent) stats_->Stored(e->group, contents.charge);
  if (entries_ > bucket_mask_ + 1) GrowLocked();
}

bool L1Shard::FullLocked(uint64_t incoming_charge) const {
  return entries_ > limits_.max_entries || bytes_ + incoming_charge > limits_.max_bytes;
}

void L1Shard::EvictLocked(Entry* victim, TimePoint now) {
  if (EraseLocked(victim, now, KeyStats::Removal::kEvicted)) ++evictions_;
}

void L1Shard::MakeRoomLocked(const Entry* incoming, uint64_t incoming_charge, TimePoint now) {
  if (limits_.policy == L1Policy::kLru) {
    while (FullLocked(incoming_charge) && !probation_.empty()) {
      EvictLocked(&probation_.back(), now);
    }
    return;
  }
  // The window's oldest entries move to the front of probation as candidates (counting
  // the incoming entry, which will enter the window).
  const size_t capacity = CapacityLocked();
  const size_t window_max = WindowMax(capacity);
  size_t candidates = 0;
  const bool incoming_to_window = incoming->segment == kWindow;
  while (!window_.empty() && window_entries_ + (incoming_to_window ? 1 : 0) > window_max) {
    Entry* moved = &window_.back();
    UnlinkFromListLocked(moved);
    LinkLocked(moved, kProbation);
    ++candidates;
  }
  // While full: the newest candidate against probation's oldest entry, the one seen less
  // often by the sketch leaves (a tie keeps the resident one); an expired one always does.
  while (FullLocked(incoming_charge)) {
    if (probation_.empty()) {
      if (!protected_.empty()) {
        EvictLocked(&protected_.back(), now);
      } else if (!window_.empty()) {
        EvictLocked(&window_.back(), now);
      } else {
        return;  // only the incoming entry is left, and alone it fits (Prepare checked)
      }
      continue;
    }
    Entry* victim = &probation_.back();
    Entry* candidate = candidates > 0 ? &probation_.front() : nullptr;
    if (candidate == nullptr || candidate == victim) {
      if (candidate == victim) --candidates;
      EvictLocked(victim, now);
    } else if (victim->expires_at <= now) {
      EvictLocked(victim, now);
    } else if (candidate->expires_at <= now) {
      --candidates;
      EvictLocked(candidate, now);
    } else if (!protected_.empty() && protected_.back().expires_at <= now) {
      EvictLocked(&protected_.back(), now);  // what was read often once, but has expired since
    } else if (FrequencyOf(*candidate) > FrequencyOf(*victim)) {
      EvictLocked(victim, now);
    } else {
      --candidates;
      EvictLocked(candidate, now);
    }
  }
}

void L1Shard::LinkTagsLocked(Entry* e, const std::vector<std::string>& tags) {
  if (tags.empty()) return;
  TagLink* links = e->extras->tags();
  for (const auto& tag : tags) {
    TagNode& node = *tag_index_.try_emplace(tag).first;
    auto& members = node.second.entries;
    links[e->extras->tag_count++] = TagLink{&node, static_cast<uint32_t>(members.size())};
    members.push_back(e);
    if (members.size() == large_tag_entries_) large_tags_.insert(&node);
  }
}

void L1Shard::UnlinkTagsLocked(Entry* e) {
  for (uint32_t i = 0; i < e->tag_count(); ++i) {
    const TagLink link = e->extras->tags()[i];
    auto& members = link.node->second.entries;
    Entry* last = members.back();
    members[link.pos] = last;
    members.pop_back();
    if (last != e) {
      // The entry moved into the freed place learns where it now is.
      TagLink* moved = last->extras->tags();
      for (uint32_t j = 0; j < last->extras->tag_count; ++j) {
        if (moved[j].node == link.node) moved[j].pos = link.pos;
      }
    }
    if (members.size() + 1 == large_tag_entries_) large_tags_.erase(link.node);
    if (members.empty()) tag_index_.erase(tag_index_.find(link.node->first));
  }
}

std::optional<L1EntryInfo> L1Shard::Inspect(std::string_view key, uint64_t hash,
                                            TimePoint now) const {
  MutexLock lock(mu_);
  const Entry* e = FindLocked(key, hash);
  if (e == nullptr || e->expires_at <= now || e->absent) return std::nullopt;
  return L1EntryInfo{e->reads,      AbsTime(e->stored_at), AbsTime(e->last_read),
                     e->expires_at, TagsOf(*e),            ChargeOf(*e),
                     e->adaptive(), e->compressed == 1};
}

std::vector<std::string> L1Shard::Keys(TimePoint now,
                                       const std::function<bool(std::string_view)>& match) const {
  std::vector<std::string> keys;
  MutexLock lock(mu_);
  for (size_t b = 0; b <= bucket_mask_; ++b) {
    PrefetchBucketLocked(b + kPrefetchAhead);
    for (const Entry* e = buckets_[b]; e != nullptr; e = e->next) {
      if (e->expires_at > now && !e->absent && match(e->key())) keys.emplace_back(e->key());
    }
  }
  return keys;
}

std::optional<std::string> L1Shard::AnyKey(TimePoint now) const {
  MutexLock lock(mu_);
  for (size_t b = 0; b <= bucket_mask_; ++b) {
    for (const Entry* e = buckets_[b]; e != nullptr; e = e->next) {
      if (e->expires_at > now && !e->absent) return std::string(e->key());
    }
  }
  return std::nullopt;
}

void L1Shard::AddReadCounts(TimePoint now, std::vector<uint32_t>& into) const {
  MutexLock lock(mu_);
  for (size_t b = 0; b <= bucket_mask_; ++b) {
    PrefetchBucketLocked(b + kPrefetchAhead);
    for (const Entry* e = buckets_[b]; e != nullptr; e = e->next) {
      if (e->reads > 0 && e->expires_at > now && !e->absent) into.push_back(e->reads);
    }
  }
}

void L1Shard::AddHotEntries(TimePoint now, uint32_t above, size_t& ties_left, bool with_values,
                            std::vector<L1HotEntry>& into) const {
  MutexLock lock(mu_);
  for (size_t b = 0; b <= bucket_mask_; ++b) {
    PrefetchBucketLocked(b + kPrefetchAhead);
    for (const Entry* e = buckets_[b]; e != nullptr; e = e->next) {
      if (e->reads < above || e->reads == 0 || e->expires_at <= now || e->absent) continue;
      if (e->reads == above) {
        if (ties_left == 0) continue;
        --ties_left;
      }
      L1HotEntry& hot = into.emplace_back();
      hot.key.assign(e->key());
      hot.reads = e->reads;
      hot.expires_at = e->expires_at;
      if (with_values) {
        hot.value = ValueOf(*e);
        hot.tags = TagsOf(*e);
        if (e->extras != nullptr) hot.content_type = e->extras->content_type;
      }
    }
  }
}

bool L1Shard::Delete(std::string_view key, uint64_t hash, TimePoint now) {
  MutexLock lock(mu_);
  Entry* e = FindLocked(key, hash);
  if (e == nullptr) return false;
  return EraseLocked(e, now, KeyStats::Removal::kDeleted);
}

uint64_t L1Shard::InvalidateTags(const std::vector<std::string>& tags, TimePoint now) {
  MutexLock lock(mu_);
  KeyStats::Removals removals;
  BeginBatchLocked(removals);
  uint64_t removed = 0;
  for (const auto& tag : tags) {
    auto it = tag_index_.find(tag);
    if (it == tag_index_.end()) continue;
    // Copied: erasing the last member erases the tag's node and its list.
    const std::vector<Entry*> members = it->second.entries;
    removed += EraseAllLocked(members, now);
  }
  EndBatchLocked(removals);
  return removed;
}

void L1Shard::BeginBatchLocked(KeyStats::Removals& removals) {
  if (stats_ != nullptr) batch_ = &removals;
}

void L1Shard::EndBatchLocked(KeyStats::Removals& removals) {
  if (stats_ == nullptr) return;
  batch_ = nullptr;
  stats_->Apply(removals);
}

void L1Shard::PrefetchBucketLocked(size_t b) const {
  if (b <= bucket_mask_ && buckets_[b] != nullptr) PrefetchEntry(buckets_[b]);
}

uint64_t L1Shard::EraseAllLocked(const std::vector<Entry*>& victims, TimePoint now) {
  // In stages a few steps apart, so that the memory each erase touches is on its way
  // before it is needed: the entry itself; then its hash slot and LRU neighbours; then the
  // head of its hash chain; then the erase. Erased from the back, which keeps a tag's
  // member list a pop each time.
  constexpr size_t kAhead = kPrefetchAhead, kNear = kPrefetchAhead / 2;
  const size_t n = victims.size();
  std::vector<uint64_t> hashes(n);
  const auto at = [&](size_t i) { return victims[n - 1 - i]; };
  for (size_t i = 0; i < std::min(n, kAhead); ++i) PrefetchEntry(at(i));
  for (size_t i = 0; i < std::min(n, kNear); ++i) hashes[i] = Hash(at(i)->key());
  uint64_t removed = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) PrefetchEntry(at(i + kAhead));
    if (i + kNear < n) {
      const Entry* next = at(i + kNear);
      hashes[i + kNear] = Hash(next->key());
      __builtin_prefetch(&buckets_[hashes[i + kNear] & bucket_mask_]);
      __builtin_prefetch(next->lru_hook.prev_);
      __builtin_prefetch(next->lru_hook.next_);
      if (next->extras != nullptr) __builtin_prefetch(next->extras);
    }
    if (i + kNear / 2 < n) {
      // The slot asked for above is here by now: ask for the head of its chain.
      if (const Entry* head = buckets_[hashes[i + kNear / 2] & bucket_mask_]) {
        __builtin_prefetch(head);
      }
    }
    Entry* e = at(i);
    Entry** slot = &buckets_[hashes[i] & bucket_mask_];
    while (*slot != e) slot = &(*slot)->next;
    *slot = e->next;
    --entries_;
    if (UnlinkLocked(e, now, KeyStats::Removal::kDeleted)) ++removed;
    e->Release();
  }
  return removed;
}

uint64_t L1Shard::InvalidateMatching(const KeyPattern& pattern, TimePoint now) {
  MutexLock lock(mu_);
  KeyStats::Removals removals;
  BeginBatchLocked(removals);
  uint64_t removed = 0;
  size_t walked = 0, matched = 0;
  for (size_t b = 0; b <= bucket_mask_; ++b) {
    PrefetchBucketLocked(b + kPrefetchAhead);
    // While most keys match, the removals' LRU neighbours are worth asking for early too.
    if (matched * 4 > walked && b + kPrefetchAhead / 2 <= bucket_mask_) {
      if (const Entry* soon = buckets_[b + kPrefetchAhead / 2]) {
        __builtin_prefetch(soon->lru_hook.prev_);
        __builtin_prefetch(soon->lru_hook.next_);
      }
    }
    for (Entry** slot = &buckets_[b]; *slot != nullptr;) {
      Entry* e = *slot;
      ++walked;
      if (!pattern.Matches(e->key())) {
        slot = &e->next;
        continue;
      }
      ++matched;
      *slot = e->next;
      --entries_;
      if (UnlinkLocked(e, now, KeyStats::Removal::kDeleted)) ++removed;
      e->Release();
    }
  }
  EndBatchLocked(removals);
  return removed;
}

uint64_t L1Shard::Clear(TimePoint now) {
  MutexLock lock(mu_);
  uint64_t live = 0;
  KeyStats::Removals removals;
  for (size_t b = 0; b <= bucket_mask_; ++b) {
    PrefetchBucketLocked(b + kPrefetchAhead);
    for (const Entry* e = buckets_[b]; e != nullptr; e = e->next) {
      // Stored entries leave for good: no ghost explains a miss after a clear.
      if (e->absent) continue;  // never an entry: nothing to count
      const bool is_live = e->expires_at > now;
      live += is_live ? 1 : 0;
      if (!is_live) ++expirations_;
      if (stats_ != nullptr) {
        removals.Add(e->group, ChargeOf(*e),
                     is_live ? KeyStats::Removal::kDeleted : KeyStats::Removal::kExpired,
                     e->reads > 0);
      }
    }
  }
  if (stats_ != nullptr) stats_->Apply(removals);
  FreeAllLocked();
  return live;
}

void L1Shard::DropContents(Entry* e) {
  // Readers hold the shared string itself, not the entry: it can go now. A reused block
  // gets its next value constructed in its place.
  if (e->shared_value) e->shared()->~SharedString();
  if (e->extras != nullptr) {
    e->extras->~Extras();
    ::operator delete(e->extras);
    e->extras = nullptr;
  }
}

void L1Shard::FreeAllLocked() {
  for (size_t b = 0; b <= bucket_mask_; ++b) {
    for (Entry* e = buckets_[b]; e != nullptr;) {
      Entry* next = e->next;
      DropContents(e);
      e->Release();
      e = next;
    }
    buckets_[b] = nullptr;
  }
  window_.clear();
  probation_.clear();
  protected_.clear();
  window_entries_ = protected_entries_ = 0;
  absences_ = 0;
  large_tags_.clear();
  tag_index_.clear();
  entries_ = 0;
  bytes_ = 0;
}

uint64_t L1Shard::ReclaimExpired(size_t budget, TimePoint now) {
  MutexLock lock(mu_);
  KeyStats::Removals removals;
  BeginBatchLocked(removals);
  uint64_t reclaimed = 0;
  size_t looked = 0;
  for (size_t buckets = 0; buckets <= bucket_mask_ && looked < budget; ++buckets) {
    PrefetchBucketLocked((sweep_bucket_ + kPrefetchAhead) & bucket_mask_);
    for (Entry** slot = &buckets_[sweep_bucket_]; *slot != nullptr; ++looked) {
      Entry* e = *slot;
      if (e->expires_at > now) {
        slot = &e->next;
        continue;
      }
      *slot = e->next;
      --entries_;
      UnlinkLocked(e, now, KeyStats::Removal::kExpired);
      e->Release();
      ++reclaimed;
    }
    sweep_bucket_ = (sweep_bucket_ + 1) & bucket_mask_;
  }
  EndBatchLocked(removals);
  return reclaimed;
}

bool L1Shard::EraseLocked(Entry* e, TimePoint now, KeyStats::Removal why) {
  Entry** slot = FindSlotLocked(e->key(), Hash(e->key()));
  *slot = e->next;
  --entries_;
  const bool live = UnlinkLocked(e, now, why);
  e->Release();
  return live;
}

bool L1Shard::UnlinkLocked(Entry* e, TimePoint now, KeyStats::Removal why) {
  // An absence is no entry: its removal counts as no removal, expiry or eviction.
  const bool live = e->expires_at > now && !e->absent;
  if (!live && !e->absent) ++expirations_;
  const uint64_t charge = ChargeOf(*e);
  if (e->absent) {
    --absences_;
  } else if (stats_ != nullptr) {
    if (!live) why = KeyStats::Removal::kExpired;
    if (batch_ != nullptr) {
      batch_->Add(e->group, charge, why, e->reads > 0);
    } else {
      stats_->Removed(e->group, charge, why, e->reads > 0);
    }
    if (why == KeyStats::Removal::kExpired) RememberGhostLocked(*e, MissCause::kExpired);
    if (why == KeyStats::Removal::kEvicted) RememberGhostLocked(*e, MissCause::kEvicted);
  }
  UnlinkFromListLocked(e);
  if (e->extras != nullptr) UnlinkTagsLocked(e);
  DropContents(e);
  bytes_ -= charge;
  return live;
}

void L1Shard::RememberGhostLocked(const Entry& e, MissCause cause) {
  if (ghost_ring_.empty()) return;
  auto& [old_key, old_seq] = ghost_ring_[ghost_seq_ % ghost_ring_.size()];
  if (auto it = ghosts_.find(old_key); it != ghosts_.end() && it->second.seq == old_seq) {
    ghosts_.erase(it);
  }
  old_key = e.key();
  old_seq = ghost_seq_;
  ghosts_[std::string(e.key())] = Ghost{cause, AbsTime(e.stored_at), ghost_seq_};
  ++ghost_seq_;
}

std::optional<L1Ghost> L1Shard::TakeGhost(std::string_view key, uint64_t hash, TimePoint now) {
  MutexLock lock(mu_);
  // A Get that has not looked yet would find an expired entry still here.
  if (Entry* live = FindLocked(key, hash); live != nullptr && live->expires_at <= now) {
    EraseLocked(live, now, KeyStats::Removal::kExpired);
  }
  auto it = ghosts_.find(key);
  if (it == ghosts_.end()) return std::nullopt;
  L1Ghost ghost{it->second.cause, it->second.stored_at};
  ghosts_.erase(it);
  return ghost;
}

void L1Shard::AddLargeTags(std::unordered_map<std::string, uint64_t>& into) const {
  MutexLock lock(mu_);
  for (const TagNode* node : large_tags_) into[node->first] += node->second.entries.size();
}

void L1Shard::AddStats(L1Stats& stats) const {
  MutexLock lock(mu_);
  stats.entries += entries_ - absences_;
  stats.absences += absences_;
  stats.absence_hits += absence_hits_;
  stats.bytes += bytes_;
  stats.max_entries += limits_.max_entries;
  stats.max_bytes += limits_.max_bytes;
  stats.hits += hits_;
  stats.misses += misses_;
  stats.evictions += evictions_;
  stats.expirations += expirations_;
}

}  // namespace tiercache
