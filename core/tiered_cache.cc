#include "core/tiered_cache.h"

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "core/compressing_tier.h"

namespace tiercache {

namespace {

// Removals a down tier missed are remembered, key by key, up to this many; beyond that
// the tier is cleared when it comes back, which is always correct for a cache.
constexpr size_t kMaxMissedKeys = 100'000;
constexpr size_t kMaxMissedCriteria = 1'000;
// A health probe or catch-up step that takes longer than this counts as failed.
constexpr auto kProbeBound = std::chrono::seconds(30);
// Missed keys deleted at once during a catch-up: enough to keep a pipelining tier busy
// (one at a time, 100,000 keys took Redis 9 s), few enough not to fill its queue.
constexpr size_t kCatchUpWindow = 512;

TimePoint SteadyNow() { return std::chrono::steady_clock::now(); }

// Waits for a callback-style operation; only the prober, on its own thread, does this.
template <class T, class Start>
std::optional<T> Await(Start start) {
  auto answer = std::make_shared<std::promise<T>>();
  auto future = answer->get_future();
  start([answer](T value) { answer->set_value(std::move(value)); });
  if (future.wait_for(kProbeBound) != std::future_status::ready) return std::nullopt;
  return future.get();
}

// Deletes `keys` from `tier`, kCatchUpWindow at a time; false on the first failure or a
// window that gets no answer within kProbeBound.
bool DeleteAll(Tier& tier, const std::unordered_set<std::string>& keys) {
  struct Window {
    std::mutex mu;
    std::condition_variable answered;
    size_t pending = 0;
    bool failed = false;
  };
  auto next = keys.begin();
  while (next != keys.end()) {
    auto window = std::make_shared<Window>();
    std::vector<std::string> batch;
    for (; next != keys.end() && batch.size() < kCatchUpWindow; ++next) batch.push_back(*next);
    window->pending = batch.size();
    for (std::string& key : batch) {
      tier.Delete(std::move(key), [window](Result<bool> r) {
        std::lock_guard lock(window->mu);
        if (!r.ok()) window->failed = true;
        if (--window->pending == 0) window->answered.notify_all();
      });
    }
    std::unique_lock lock(window->mu);
    if (!window->answered.wait_for(lock, kProbeBound, [&] { return window->pending == 0; }) ||
        window->failed) {
      return false;
    }
  }
  return true;
}

bool SharesTag(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::any_of(a.begin(), a.end(), [&](const std::string& t) {
    return std::find(b.begin(), b.end(), t) != b.end();
  });
}

}  // namespace

std::string_view TierStateName(TierState state) {
  switch (state) {
    case TierState::kUp: return "up";
    case TierState::kDegraded: return "degraded";
    case TierState::kDown: return "down";
  }
  return "unknown";
}

// Removals a tier could not apply (it was down or failed them). Until they are applied,
// what the tier returns is checked against them, so it never serves an entry that was
// deleted, overwritten or invalidated while it was unreachable.
struct MissedRemovals {
  std::unordered_set<std::string> keys;
  std::vector<std::string> tags;
  std::vector<std::shared_ptr<const KeyPattern>> patterns;
  bool clear = false;  // everything: a clear, or more than could be remembered

  bool empty() const { return !clear && keys.empty() && tags.empty() && patterns.empty(); }
  bool Covers(const std::string& key, const std::vector<std::string>& entry_tags) const {
    if (clear || keys.count(key) || SharesTag(entry_tags, tags)) return true;
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const auto& p) { return p->Matches(key); });
  }
  void AddKey(std::string key) {
    if (clear) return;
    if (keys.size() >= kMaxMissedKeys) return MarkClear();
    keys.insert(std::move(key));
  }
  void AddTags(const std::vector<std::string>& more) {
    if (clear) return;
    if (tags.size() + more.size() > kMaxMissedCriteria) return MarkClear();
    tags.insert(tags.end(), more.begin(), more.end());
  }
  void AddPattern(std::shared_ptr<const KeyPattern> pattern) {
    if (clear) return;
    if (patterns.size() >= kMaxMissedCriteria) return MarkClear();
    patterns.push_back(std::move(pattern));
  }
  void MarkClear() {
    *this = MissedRemovals{};
    clear = true;
  }
  void Merge(MissedRemovals&& other) {
    if (other.clear) return MarkClear();
    for (auto& k : other.keys) AddKey(k);
    AddTags(other.tags);
    for (auto& p : other.patterns) AddPattern(std::move(p));
  }
};

struct TieredCache::Slot {
  std::unique_ptr<Tier> tier;
  // The tier's name, kept here: hits and callbacks refer to it while the tier is destroyed.
  std::string name;
  std::string kind;  // tier->kind(), likewise
  const CompressingTier* compressing = nullptr;  // `tier`: values go through it
  bool counts = false;    // tier->supports_increment(), kept for after StopLowerTiers
  bool counters = false;  // tier->supports_counters(), likewise
  // Set by StopLowerTiers before the tier goes: from then on nothing is sent to it or to
  // its queue (the answers of the tiers still being destroyed must not reach one already
  // gone). A thread touches either only inside a Reach that found it unset; StopLowerTiers
  // waits for the Reaches under way to end before it destroys them. Both sides are
  // sequentially consistent, so a Reach either sees the mark or is waited for.
  std::atomic<bool> stopped{false};
  mutable std::atomic<uint32_t> reaching{0};
  class Reach {
   public:
    explicit Reach(const Slot& slot) : slot_(slot) { slot_.reaching.fetch_add(1); }
    ~Reach() { slot_.reaching.fetch_sub(1); }
    Reach(const Reach&) = delete;
    Reach& operator=(const Reach&) = delete;
    bool stopped() const { return slot_.stopped.load(); }

   private:
    const Slot& slot_;
  };
  LowerTierOptions options;
  std::unique_ptr<WriteBehindQueue> queue;  // async tiers only

  std::atomic<bool> down{false};
  std::atomic<uint32_t> consecutive_failures{0};
  std::atomic<TierState> state{TierState::kUp};
  std::atomic<uint64_t> hits{0}, misses{0}, errors{0}, skipped{0}, promotions{0};
  // Round trips of the reads and of the writes sent to it (batches as one).
  LatencyHistogram get_latency, set_latency;
  uint64_t errors_at_last_probe = 0;  // prober thread only

  mutable std::mutex mu;
  std::string last_error;
  Duration round_trip{0};
  MissedRemovals missed;
  std::atomic<bool> has_missed{false};  // fast check before taking mu

  bool usable() const {
    return !down.load(std::memory_order_acquire) && !stopped.load();
  }

  void Succeeded() { consecutive_failures.store(0, std::memory_order_relaxed); }

  // Returns true if this failure marked the tier down.
  bool Failed(const Status& status) {
    errors.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(mu);
      last_error = status.message();
    }
    if (consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1 >=
        options.failure_threshold) {
      return !down.exchange(true, std::memory_order_acq_rel);
    }
    return false;
  }

  void Remember(const std::function<void(MissedRemovals&)>& add) {
    std::lock_guard lock(mu);
    add(missed);
    has_missed.store(true, std::memory_order_release);
  }

  bool Stale(const std::string& key, const std::vector<std::string>& tags) const {
    if (!has_missed.load(std::memory_order_acquire)) return false;
    std::lock_guard lock(mu);
    return missed.Covers(key, tags);
  }
};

struct TieredCache::Flight {
  std::string key;
  size_t shard = 0;
  uint64_t key_epoch = 0;
  uint64_t global_epoch = 0;
  // False once a tier was skipped (down) or failed: then "no tier has it" is not known.
  bool every_tier_answered = true;
  std::vector<Callback<Result<Hit>>> waiters;  // guarded by the flight shard's mutex
};

TieredCache::TieredCache(L1Store& l1, double l1_ttl_factor, std::vector<LowerTier> tiers,
                         TierHealthOptions health, const Clock& clock,
                         StateListener on_state_change)
    : l1_(l1),
      l1_ttl_factor_(l1_ttl_factor),
      health_(health),
      clock_(clock),
      on_state_change_(std::move(on_state_change)),
      probe_wake_(clock) {
  for (auto& t : tiers) {
    auto slot = std::make_unique<Slot>();
    slot->name = std::string(t.tier->name());
    slot->kind = std::string(t.tier->kind());
    auto compressing = std::make_unique<CompressingTier>(std::move(t.tier), t.options.compression);
    slot->compressing = compressing.get();
    slot->counts = compressing->supports_increment();
    slot->counters = compressing->supports_counters();
    slot->tier = std::move(compressing);
    slot->options = t.options;
    if (slot->options.failure_threshold == 0) slot->options.failure_threshold = 1;
    if (slot->options.write_mode == WriteMode::kAsync) {
      Slot* raw = slot.get();
      slot->queue = std::make_unique<WriteBehindQueue>(*slot->tier, slot->options.write_behind,
                                                       [raw] { return raw->usable(); });
    }
    tiers_.push_back(std::move(slot));
  }
  if (!tiers_.empty()) prober_ = std::thread([this] { ProbeLoop(); });
}

TieredCache::~TieredCache() { StopLowerTiers(); }

void TieredCache::StopLowerTiers() {
  {
    std::lock_guard lock(probe_mu_);
    if (stop_) return;
    stop_ = true;
  }
  probe_wake_.NotifyAll();
  if (prober_.joinable()) prober_.join();
  closing_.store(true, std::memory_order_release);
  for (auto& slot : tiers_) slot->stopped.store(true);
  // A thread may still be inside a call to a tier whose answer has already come (a read
  // going on to the next tier from the previous one's thread): it leaves before the tier
  // goes.
  for (auto& slot : tiers_) {
    while (slot->reaching.load() != 0) std::this_thread::yield();
  }
  // Queues first: their flushers call into the tiers.
  for (auto& slot : tiers_) slot->queue.reset();
  // A tier answers what is pending as it goes: those reads go no further down, and what
  // they promote is not sent to the tiers above it.
  for (auto it = tiers_.rbegin(); it != tiers_.rend(); ++it) (*it)->tier.reset();
}

size_t TieredCache::EpochBucket(std::string_view key) {
  return std::hash<std::string_view>{}(key) % kEpochBuckets;
}

bool TieredCache::MayPromote(const Flight& flight) const {
  const size_t bucket = EpochBucket(flight.key);
  // Removals under way may not have reached the tier the read found the key in: what it
  // found may be what they are removing.
  return key_epochs_[bucket].load(std::memory_order_acquire) == flight.key_epoch &&
         global_epoch_.load(std::memory_order_acquire) == flight.global_epoch &&
         removals_running_.load(std::memory_order_acquire) == 0 &&
         key_removals_running_[bucket].load(std::memory_order_acquire) == 0;
}

// --- Read ----------------------------------------------------------------------------------

std::optional<Result<Hit>> TieredCache::GetNow(std::string_view key) {
  if (std::optional<L1Value> found = l1_.Get(key)) {
    // Remembered absent (negative caching): no tier had it a moment ago.
    if (found->absent) return Result<Hit>(Status::NotFound("key not found"));
    const Duration left = std::max(found->expires_at - found->read_at, Duration::zero());
    return Result<Hit>(
        Hit{std::move(found->value), "L1", left, std::move(found->content_type), l1_ttl_factor_});
  }
  if (tiers_.empty()) return Result<Hit>(Status::NotFound("key not found"));
  return std::nullopt;
}

void TieredCache::Get(std::string_view key, Callback<Result<Hit>> done) {
  if (std::optional<Result<Hit>> now = GetNow(key)) return done(std::move(*now));
  GetFromLowerTiers(key, std::move(done));
}

void TieredCache::GetFromLowerTiers(std::string_view key, Callback<Result<Hit>> done) {
  const size_t shard = std::hash<std::string_view>{}(key) % kFlightShards;
  std::shared_ptr<Flight> flight;
  {
    std::lock_guard lock(flight_shards_[shard].mu);
    auto& flights = flight_shards_[shard].flights;
    if (auto it = flights.find(std::string(key)); it != flights.end()) {
      it->second->waiters.push_back(std::move(done));
      return;
    }
    flight = std::make_shared<Flight>();
    flight->key.assign(key);
    flight->shard = shard;
    flight->key_epoch = EpochOf(key).load(std::memory_order_acquire);
    flight->global_epoch = global_epoch_.load(std::memory_order_acquire);
    flight->waiters.push_back(std::move(done));
    flights.emplace(flight->key, flight);
  }
  ReadFrom(0, std::move(flight));
}

void TieredCache::ReadFrom(size_t index, std::shared_ptr<Flight> flight) {
  if (closing_.load(std::memory_order_acquire)) {
    return Land(flight, Status::Unavailable("shutting down"));
  }
  for (; index < tiers_.size(); ++index) {
    Slot& slot = *tiers_[index];
    const Slot::Reach reach(slot);
    if (slot.usable()) return SendRead(slot, index, std::move(flight));
    slot.skipped.fetch_add(1, std::memory_order_relaxed);
    flight->every_tier_answered = false;
  }
  if (flight->every_tier_answered) RememberAbsent(*flight);
  Land(flight, Status::NotFound("key not found"));
}

void TieredCache::SendRead(Slot& slot, size_t index, std::shared_ptr<Flight> flight) {
  const auto sent = std::chrono::steady_clock::now();
  slot.tier->Get(flight->key, [this, index, flight, &slot,
                               sent](Result<TierEntry> result) mutable {
    slot.get_latency.Observe(std::chrono::steady_clock::now() - sent);
    if (result.ok()) {
      slot.Succeeded();
      if (slot.Stale(flight->key, result->tags)) {
        slot.misses.fetch_add(1, std::memory_order_relaxed);
        return ReadFrom(index + 1, std::move(flight));
      }
      slot.hits.fetch_add(1, std::memory_order_relaxed);
      hot_keys_.Record(flight->key);
      auto [value, content_type] = Promote(*flight, index, std::move(*result));
      return Land(flight, Hit{std::move(value), slot.name, result->ttl_left,
                              std::move(content_type), slot.options.ttl_factor});
    }
    if (result.status().code() == StatusCode::kNotFound) {
      slot.Succeeded();
      slot.misses.fetch_add(1, std::memory_order_relaxed);
    } else {
      flight->every_tier_answered = false;
      if (slot.Failed(result.status())) SetState(slot, TierState::kDown);
    }
    ReadFrom(index + 1, std::move(flight));
  });
}

void TieredCache::SetNegativeCaching(std::vector<StrategyOptions::NegativeRule> rules) {
  negative_ = std::move(rules);
}

void TieredCache::RememberAbsent(const Flight& flight) {
  for (const auto& rule : negative_) {
    if (!rule.match->Matches(flight.key)) continue;
    // A write or invalidation since the read began may have put the key somewhere.
    if (MayPromote(flight)) {
      const Lifetime life = CappedL1(Lifetime{Lifetime::Kind::kExact, rule.ttl});
      (void)l1_.RememberAbsent(flight.key, life.timeout);
    }
    return;
  }
}

void TieredCache::Land(const std::shared_ptr<Flight>& flight, Result<Hit> result) {
  std::vector<Callback<Result<Hit>>> waiters;
  {
    std::lock_guard lock(flight_shards_[flight->shard].mu);
    waiters = std::move(flight->waiters);
    flight_shards_[flight->shard].flights.erase(flight->key);
  }
  for (auto& waiter : waiters) waiter(result);
}

std::pair<std::shared_ptr<const std::string>, ContentType> TieredCache::Promote(
    const Flight& flight, size_t found_in, TierEntry&& entry) {
  auto value = std::make_shared<const std::string>(std::move(entry.value));
  ContentType content_type = MakeContentType(std::move(entry.content_type));
  // Something wrote or invalidated the key while it was being read: what was read may be
  // older than that, so it is served once but not copied upwards.
  if (!MayPromote(flight)) return {std::move(value), std::move(content_type)};
  const double source_factor = tiers_[found_in]->options.ttl_factor;
  const auto scaled = [&](double factor) {
    const auto ttl = std::chrono::duration_cast<Duration>(entry.ttl_left * (factor / source_factor));
    return std::min(ttl, entry.ttl_left);
  };
  l1_.Set(flight.key, value, entry.tags,
          CappedL1(Lifetime{Lifetime::Kind::kExact, scaled(l1_ttl_factor_)}), SetMode::kIfAbsent,
          content_type);
  for (size_t i = 0; i < found_in; ++i) {
    Slot& upper = *tiers_[i];
    const Slot::Reach reach(upper);
    if (!upper.usable()) continue;
    TierWrite write{flight.key, value, entry.tags, scaled(upper.options.ttl_factor),
                    content_type};
    if (write.ttl <= Duration::zero()) continue;
    if (upper.queue) {
      upper.queue->Push(std::move(write));
    } else {
      upper.tier->Set(std::move(write), [this, &upper](Status s) {
        if (!s.ok() && upper.Failed(s)) SetState(upper, TierState::kDown);
      });
    }
  }
  tiers_[found_in]->promotions.fetch_add(1, std::memory_order_relaxed);
  return {std::move(value), std::move(content_type)};
}

// --- Write ---------------------------------------------------------------------------------

Status TieredCache::WriteL1(const TieredWrite& write) {
  EpochOf(write.key).fetch_add(1, std::memory_order_acq_rel);
  if ((write.tiers & 1) == 0) {
    l1_.Delete(write.key);
    return Status::Ok();
  }
  return l1_.Set(write.key, write.value, write.tags, CappedL1(write.lifetime), SetMode::kReplace,
                 write.content_type);
}

Status TieredCache::SetInL1(TieredWrite&& write) {
  // No lower tier, so no read in flight whose promotion an epoch would have to stop; and
  // the value and tags move into L1 rather than being copied.
  if ((write.tiers & 1) == 0) {
    l1_.Delete(write.key);
    return Status::Ok();
  }
  return l1_.Set(write.key, std::move(write.value), std::move(write.tags),
                 CappedL1(write.lifetime), SetMode::kReplace, std::move(write.content_type));
}

void TieredCache::Set(TieredWrite write, Callback<Status> done) {
  if (Status s = WriteL1(write); !s.ok()) return done(std::move(s));
  if (tiers_.empty()) return done(Status::Ok());

  struct Pending {
    std::atomic<size_t> left{1};  // one extra, released below, so none finishes early
    Callback<Status> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  const auto release = [](const std::shared_ptr<Pending>& p) {
    if (p->left.fetch_sub(1, std::memory_order_acq_rel) == 1) p->done(Status::Ok());
  };

  for (size_t i = 0; i < tiers_.size(); ++i) {
    if (i + 1 < 32 && (write.tiers & (uint32_t{1} << (i + 1))) == 0) continue;
    Slot& slot = *tiers_[i];
    TierWrite tier_write{write.key, write.value, write.tags,
                         std::chrono::duration_cast<Duration>(write.lifetime.timeout *
                                                              slot.options.ttl_factor),
                         write.content_type};
    const Slot::Reach reach(slot);
    if (reach.stopped()) continue;
    if (slot.queue) {
      // Queued even while the tier is down: the flusher waits for it to come back.
      slot.queue->Push(std::move(tier_write));
      continue;
    }
    if (!slot.usable()) {
      // What the tier holds for this key is now older than L1's: forget it on return.
      slot.skipped.fetch_add(1, std::memory_order_relaxed);
      slot.Remember([&](MissedRemovals& m) { m.AddKey(write.key); });
      continue;
    }
    pending->left.fetch_add(1, std::memory_order_relaxed);
    const auto sent = std::chrono::steady_clock::now();
    slot.tier->Set(std::move(tier_write),
                   [this, &slot, pending, release, key = write.key, sent](Status s) {
                     slot.set_latency.Observe(std::chrono::steady_clock::now() - sent);
                     if (s.ok()) {
                       slot.Succeeded();
                     } else {
                       slot.Remember([&](MissedRemovals& m) { m.AddKey(key); });
                       if (slot.Failed(s)) SetState(slot, TierState::kDown);
                     }
                     release(pending);
                   });
  }
  release(pending);
}

// --- Counters ------------------------------------------------------------------------------

bool TieredCache::counts_in_lower_tier() const {
  // Not behind a write-behind queue: a queued write of the key would land after the
  // increment and overwrite the count.
  return !tiers_.empty() && tiers_[0]->counts && !tiers_[0]->queue;
}

std::optional<std::string> TieredCache::CounterTier() const {
  for (const auto& slot : tiers_) {
    if (slot->counters) return slot->name;
  }
  return std::nullopt;
}

void TieredCache::AddToCounter(std::string name, int64_t delta,
                               Callback<Result<int64_t>> done) {
  for (auto& slot_ptr : tiers_) {
    Slot& slot = *slot_ptr;
    if (!slot.counters) continue;
    const Slot::Reach reach(slot);
    if (!slot.usable()) {
      slot.skipped.fetch_add(1, std::memory_order_relaxed);
      return done(Status::Unavailable("tier " + slot.name + " is down: counters are kept there"));
    }
    return slot.tier->AddToCounter(
        std::move(name), delta, [this, &slot, done = std::move(done)](Result<int64_t> value) {
          if (value.ok()) {
            slot.Succeeded();
          } else if (slot.Failed(value.status())) {
            SetState(slot, TierState::kDown);
          }
          done(std::move(value));
        });
  }
  done(Status::Unavailable("no lower tier keeps counters"));
}

void TieredCache::Increment(std::string key, int64_t delta, Duration ttl_if_new,
                            Callback<Result<int64_t>> done) {
  Slot& first = *tiers_[0];
  const Slot::Reach reach(first);
  if (!first.usable()) {
    first.skipped.fetch_add(1, std::memory_order_relaxed);
    return done(Status::Unavailable("tier " + first.name +
                                    " is down: counters are kept there"));
  }
  // Back from an outage with removals still to replay: the count there may be one that was
  // deleted meanwhile. Refused until the tier has caught up (a moment after it is back).
  if (first.has_missed.load(std::memory_order_acquire)) {
    return done(Status::Unavailable("tier " + first.name +
                                    " is catching up on removals it missed: try again"));
  }
  // L1 never holds a counter's value from a reply: replies of concurrent increments (from
  // this instance and others) may land in any order, so L1 would keep an older count. A
  // read after the increment fetches the current one from the tier.
  EpochOf(key).fetch_add(1, std::memory_order_acq_rel);
  l1_.Delete(key);
  const auto sent = std::chrono::steady_clock::now();
  const auto ttl = std::chrono::duration_cast<Duration>(ttl_if_new * first.options.ttl_factor);
  first.tier->Increment(
      key, delta, ttl,
      [this, &first, key, sent, done = std::move(done)](Result<TierCounter> counter) mutable {
        first.set_latency.Observe(std::chrono::steady_clock::now() - sent);
        if (!counter.ok()) {
          // A value that is not a number is the request's fault, not the tier's.
          if (counter.status().code() == StatusCode::kInvalidArgument) {
            first.Succeeded();
          } else if (first.Failed(counter.status())) {
            SetState(first, TierState::kDown);
          }
          return done(counter.status());
        }
        first.Succeeded();
        // The other lower tiers get the new count; L1 is skipped, which drops its copy again
        // (a read may have promoted an older count meanwhile).
        TieredWrite write;
        write.key = std::move(key);
        write.value = std::make_shared<const std::string>(std::to_string(counter->value));
        // The tags the first tier keeps with the counter go with it to the other tiers.
        write.tags = std::move(counter->tags);
        write.lifetime = Lifetime{Lifetime::Kind::kExact,
                                  std::chrono::duration_cast<Duration>(
                                      counter->ttl_left / first.options.ttl_factor)};
        write.tiers = TieredWrite::kAllTiers & ~uint32_t{0b11};
        Set(std::move(write),
            [value = counter->value, done = std::move(done)](Status) { done(value); });
      });
}

// --- Delete, invalidate, clear -------------------------------------------------------------

void TieredCache::RemoveEverywhere(TierRemoval l1_removal, TierOp issue, SlotOp cancel,
                                   SlotOp remember, Callback<std::vector<TierRemoval>> done) {
  struct Gather {
    std::mutex mu;
    std::vector<TierRemoval> results;
    size_t left = 0;
    Callback<std::vector<TierRemoval>> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->results.resize(tiers_.size() + 1);
  gather->results[0] = std::move(l1_removal);
  gather->left = tiers_.size() + 1;
  gather->done = std::move(done);
  const auto finish = [gather](size_t slot_index, uint64_t removed, std::string error) {
    bool last = false;
    {
      std::lock_guard lock(gather->mu);
      gather->results[slot_index].removed = removed;
      gather->results[slot_index].error = std::move(error);
      last = --gather->left == 0;
    }
    if (last) gather->done(std::move(gather->results));
  };

  for (size_t i = 0; i < tiers_.size(); ++i) {
    Slot& slot = *tiers_[i];
    gather->results[i + 1].tier = slot.name;
    const Slot::Reach reach(slot);
    if (reach.stopped()) {
      finish(i + 1, 0, "shutting down");
      continue;
    }
    if (slot.queue) cancel(slot);
    // Decided only once a batch on its way has landed: a batch sent before the tier was
    // marked down may still land, and the removal must then come after it, whether sent
    // now or replayed when the tier is back.
    auto apply = [this, &slot, i, issue, remember, finish] {
      const Slot::Reach reach(slot);
      if (!slot.usable()) {
        slot.skipped.fetch_add(1, std::memory_order_relaxed);
        remember(slot);
        return finish(i + 1, 0, "tier is down; applied when it is back");
      }
      issue(*slot.tier, [this, &slot, i, remember, finish](Result<uint64_t> removed) {
        if (removed.ok()) {
          slot.Succeeded();
          return finish(i + 1, *removed, "");
        }
        remember(slot);
        if (slot.Failed(removed.status())) SetState(slot, TierState::kDown);
        finish(i + 1, 0, removed.status().message());
      });
    };
    if (slot.queue) {
      slot.queue->RunAfterInFlight(std::move(apply));
    } else {
      apply();
    }
  }
  finish(0, gather->results[0].removed, "");
}

void TieredCache::SetBatch(std::vector<TieredWrite> writes, uint32_t tiers,
                           Callback<BatchResult> done) {
  auto result = std::make_shared<BatchResult>();
  std::vector<TieredWrite> stored;
  stored.reserve(writes.size());
  for (TieredWrite& w : writes) {
    EpochOf(w.key).fetch_add(1, std::memory_order_acq_rel);
    if ((tiers & 1) == 0) {
      l1_.Delete(w.key);
    } else if (Status s = l1_.Set(w.key, w.value, w.tags, CappedL1(w.lifetime),
                                  SetMode::kReplace, w.content_type);
               !s.ok()) {
      ++result->failed;
      if (result->error.empty()) result->error = w.key + ": " + s.message();
      continue;
    }
    stored.push_back(std::move(w));
  }
  struct Pending {
    std::atomic<size_t> left{1};
    std::shared_ptr<BatchResult> result;
    size_t stored = 0;
    Callback<BatchResult> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->result = result;
  pending->stored = stored.size();
  pending->done = std::move(done);
  const auto release = [](const std::shared_ptr<Pending>& p) {
    if (p->left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    p->result->stored = p->stored;
    p->done(std::move(*p->result));
  };
  for (size_t i = 0; i < tiers_.size() && !stored.empty(); ++i) {
    if (i + 1 < 32 && (tiers & (uint32_t{1} << (i + 1))) == 0) continue;
    Slot& slot = *tiers_[i];
    std::vector<TierWrite> batch;
    batch.reserve(stored.size());
    for (const TieredWrite& w : stored) {
      batch.push_back(TierWrite{w.key, w.value, w.tags,
                                std::chrono::duration_cast<Duration>(w.lifetime.timeout *
                                                                     slot.options.ttl_factor),
                                w.content_type});
    }
    const Slot::Reach reach(slot);
    if (reach.stopped()) continue;
    if (slot.queue) {
      for (TierWrite& w : batch) slot.queue->Push(std::move(w));
      continue;
    }
    if (!slot.usable()) {
      slot.skipped.fetch_add(batch.size(), std::memory_order_relaxed);
      slot.Remember([&](MissedRemovals& m) {
        for (const TierWrite& w : batch) m.AddKey(w.key);
      });
      continue;
    }
    std::vector<std::string> keys;
    keys.reserve(batch.size());
    for (const TierWrite& w : batch) keys.push_back(w.key);
    pending->left.fetch_add(1, std::memory_order_relaxed);
    const auto sent = std::chrono::steady_clock::now();
    slot.tier->SetBatch(std::move(batch), [this, &slot, pending, release, sent,
                                           keys = std::move(keys)](Status s) {
      slot.set_latency.Observe(std::chrono::steady_clock::now() - sent);
      if (s.ok()) {
        slot.Succeeded();
      } else {
        // A lower tier's failure fails no request: what it may hold is older, so it is
        // forgotten on its return, as for a single Set.
        slot.Remember([&](MissedRemovals& m) {
          for (const auto& key : keys) m.AddKey(key);
        });
        if (slot.Failed(s)) SetState(slot, TierState::kDown);
      }
      release(pending);
    });
  }
  release(pending);
}

void TieredCache::Delete(std::string_view key, Callback<bool> done) {
  InvalidateKeys({std::string(key)}, [done = std::move(done)](std::vector<TierRemoval> removed) {
    done(std::any_of(removed.begin(), removed.end(),
                     [](const TierRemoval& r) { return r.removed > 0; }));
  });
}

void TieredCache::InvalidateKeys(std::vector<std::string> keys,
                                 Callback<std::vector<TierRemoval>> done) {
  TierRemoval l1{"L1", 0, ""};
  for (const auto& key : keys) {
    key_removals_running_[EpochBucket(key)].fetch_add(1, std::memory_order_acq_rel);
    EpochOf(key).fetch_add(1, std::memory_order_acq_rel);
    l1.removed += l1_.Delete(key) ? 1 : 0;
  }
  auto shared_keys = std::make_shared<const std::vector<std::string>>(std::move(keys));
  // Once every tier has answered, reads may promote the keys again: the epochs move
  // first, so that a read begun meanwhile still does not.
  done = [this, shared_keys, done = std::move(done)](std::vector<TierRemoval> removed) {
    for (const auto& key : *shared_keys) {
      EpochOf(key).fetch_add(1, std::memory_order_acq_rel);
      key_removals_running_[EpochBucket(key)].fetch_sub(1, std::memory_order_acq_rel);
    }
    done(std::move(removed));
  };
  RemoveEverywhere(
      std::move(l1),
      [shared_keys](Tier& tier, Callback<Result<uint64_t>> answer) {
        struct Count {
          std::atomic<size_t> left;
          std::atomic<uint64_t> removed{0};
          std::mutex mu;
          std::optional<Status> error;
          Callback<Result<uint64_t>> answer;
        };
        auto count = std::make_shared<Count>();
        count->left = shared_keys->size();
        count->answer = std::move(answer);
        if (shared_keys->empty()) return count->answer(uint64_t{0});
        for (const auto& key : *shared_keys) {
          tier.Delete(key, [count](Result<bool> deleted) {
            if (deleted.ok()) {
              count->removed.fetch_add(*deleted ? 1 : 0, std::memory_order_relaxed);
            } else {
              std::lock_guard lock(count->mu);
              if (!count->error) count->error = deleted.status();
            }
            if (count->left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
            if (count->error) return count->answer(*count->error);
            count->answer(count->removed.load(std::memory_order_relaxed));
          });
        }
      },
      [shared_keys](Slot& slot) {
        for (const auto& key : *shared_keys) slot.queue->CancelKey(key);
      },
      [shared_keys](Slot& slot) {
        slot.Remember([&](MissedRemovals& m) {
          for (const auto& key : *shared_keys) m.AddKey(key);
        });
      },
      std::move(done));
}

Callback<std::vector<TierRemoval>> TieredCache::WhileRemoving(
    Callback<std::vector<TierRemoval>> done) {
  removals_running_.fetch_add(1, std::memory_order_acq_rel);
  BumpAllEpochs();
  return [this, done = std::move(done)](std::vector<TierRemoval> removed) {
    BumpAllEpochs();
    removals_running_.fetch_sub(1, std::memory_order_acq_rel);
    done(std::move(removed));
  };
}

void TieredCache::InvalidateTags(std::vector<std::string> tags,
                                 Callback<std::vector<TierRemoval>> done) {
  done = WhileRemoving(std::move(done));
  TierRemoval l1{"L1", l1_.InvalidateTags(tags), ""};
  auto shared_tags = std::make_shared<const std::vector<std::string>>(std::move(tags));
  RemoveEverywhere(
      std::move(l1),
      [shared_tags](Tier& tier, Callback<Result<uint64_t>> answer) {
        tier.InvalidateTags(*shared_tags, std::move(answer));
      },
      [shared_tags](Slot& slot) { slot.queue->CancelTags(*shared_tags); },
      [shared_tags](Slot& slot) {
        slot.Remember([&](MissedRemovals& m) { m.AddTags(*shared_tags); });
      },
      std::move(done));
}

void TieredCache::InvalidateMatching(std::shared_ptr<const KeyPattern> pattern,
                                     Callback<std::vector<TierRemoval>> done) {
  done = WhileRemoving(std::move(done));
  TierRemoval l1{"L1", l1_.InvalidateMatching(*pattern), ""};
  RemoveEverywhere(
      std::move(l1),
      [pattern](Tier& tier, Callback<Result<uint64_t>> answer) {
        tier.InvalidateMatching(pattern, std::move(answer));
      },
      [pattern](Slot& slot) { slot.queue->CancelMatching(pattern); },
      [pattern](Slot& slot) {
        slot.Remember([&](MissedRemovals& m) { m.AddPattern(pattern); });
      },
      std::move(done));
}

void TieredCache::Clear(Callback<std::vector<TierRemoval>> done) {
  done = WhileRemoving(std::move(done));
  TierRemoval l1{"L1", l1_.Clear(), ""};
  RemoveEverywhere(
      std::move(l1),
      [](Tier& tier, Callback<Result<uint64_t>> answer) { tier.Clear(std::move(answer)); },
      [](Slot& slot) { slot.queue->CancelAll(); },
      [](Slot& slot) { slot.Remember([](MissedRemovals& m) { m.MarkClear(); }); },
      std::move(done));
}

// --- Health --------------------------------------------------------------------------------

void TieredCache::SetState(Slot& slot, TierState state) {
  const TierState before = slot.state.exchange(state, std::memory_order_acq_rel);
  if (before == state || !on_state_change_) return;
  std::string error;
  {
    std::lock_guard lock(slot.mu);
    error = slot.last_error;
  }
  on_state_change_(slot.name, state, error);
}

void TieredCache::ProbeLoop() {
  std::unique_lock lock(probe_mu_);
  while (!stop_) {
    lock.unlock();
    for (auto& slot : tiers_) Probe(*slot);
    lock.lock();
    probe_wake_.WaitUntil(lock, clock_.Now() + health_.interval, [&] { return stop_; });
  }
}

void TieredCache::Probe(Slot& slot) {
  const TimePoint started = SteadyNow();
  std::optional<Status> pinged =
      Await<Status>([&](Callback<Status> answer) { slot.tier->Ping(std::move(answer)); });
  const Duration rtt = SteadyNow() - started;
  if (!pinged || !pinged->ok()) {
    slot.errors.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(slot.mu);
      slot.last_error = pinged ? pinged->message() : "health probe got no answer";
    }
    slot.down.store(true, std::memory_order_release);
    slot.errors_at_last_probe = slot.errors.load(std::memory_order_relaxed);
    return SetState(slot, TierState::kDown);
  }
  {
    std::lock_guard lock(slot.mu);
    slot.round_trip = rtt;
  }

  // Catch up on what the tier missed before it is trusted again.
  MissedRemovals missed;
  {
    std::lock_guard lock(slot.mu);
    missed = std::move(slot.missed);
    slot.missed = MissedRemovals{};
  }
  if (!missed.empty()) {
    auto apply = [&](auto start) {
      std::optional<Result<uint64_t>> r = Await<Result<uint64_t>>(start);
      return r && r->ok();
    };
    bool ok = true;
    if (missed.clear) {
      ok = apply([&](Callback<Result<uint64_t>> a) { slot.tier->Clear(std::move(a)); });
    } else {
      ok = DeleteAll(*slot.tier, missed.keys);
      if (ok && !missed.tags.empty()) {
        ok = apply([&](Callback<Result<uint64_t>> a) {
          slot.tier->InvalidateTags(missed.tags, std::move(a));
        });
      }
      for (const auto& pattern : missed.patterns) {
        if (!ok) break;
        ok = apply([&](Callback<Result<uint64_t>> a) {
          slot.tier->InvalidateMatching(pattern, std::move(a));
        });
      }
    }
    if (!ok) {
      // Keep all of it (applying a removal twice is harmless) and stay down.
      slot.Remember([&](MissedRemovals& m) { m.Merge(std::move(missed)); });
      slot.down.store(true, std::memory_order_release);
      return SetState(slot, TierState::kDown);
    }
    std::lock_guard lock(slot.mu);
    if (slot.missed.empty()) slot.has_missed.store(false, std::memory_order_release);
  }

  slot.consecutive_failures.store(0, std::memory_order_relaxed);
  slot.down.store(false, std::memory_order_release);
  const uint64_t errors = slot.errors.load(std::memory_order_relaxed);
  const bool erred = errors != slot.errors_at_last_probe;
  slot.errors_at_last_probe = errors;
  SetState(slot, erred ? TierState::kDegraded : TierState::kUp);
}

// --- Coherence -----------------------------------------------------------------------------

void TieredCache::ApplyRemoteChange(const CoherenceMessage& change) {
  switch (change.kind) {
    case CoherenceMessage::Kind::kKeys:
      for (const auto& key : change.items) {
        EpochOf(key).fetch_add(1, std::memory_order_acq_rel);
        l1_.Delete(key);
      }
      return;
    case CoherenceMessage::Kind::kTags:
      BumpAllEpochs();
      l1_.InvalidateTags(change.items);
      return;
    case CoherenceMessage::Kind::kPattern: {
      BumpAllEpochs();
      if (change.items.empty() || change.items.size() > 2) return;
      auto pattern = KeyPattern::Compile(change.items[0],
                                         change.items.size() == 2 ? change.items[1] : "");
      // A pattern this instance cannot compile (a newer peer?) must not leave stale
      // entries behind: everything goes.
      if (pattern.ok()) {
        l1_.InvalidateMatching(**pattern);
      } else {
        l1_.Clear();
      }
      return;
    }
    case CoherenceMessage::Kind::kClear:
      BumpAllEpochs();
      l1_.Clear();
      return;
    case CoherenceMessage::Kind::kNamespace:
      return;  // versions are the service's (InstanceCoherence::SetRemoteListener)
  }
}

void TieredCache::CapL1Lifetimes(std::optional<Duration> cap) {
  const int64_t ns =
      cap ? std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::nanoseconds>(*cap).count())
          : 0;
  l1_cap_ns_.store(ns, std::memory_order_release);
}

Lifetime TieredCache::CappedL1(Lifetime lifetime) const {
  const int64_t cap_ns = l1_cap_ns_.load(std::memory_order_acquire);
  if (cap_ns == 0) return lifetime;
  const Duration cap = std::chrono::nanoseconds(cap_ns);
  const Duration in_l1 =
      lifetime.kind == Lifetime::Kind::kExact
          ? lifetime.timeout
          : std::chrono::duration_cast<Duration>(lifetime.timeout * l1_ttl_factor_);
  return Lifetime{Lifetime::Kind::kExact, std::min(in_l1, cap)};
}

std::vector<std::string> TieredCache::LowerTierNames() const {
  std::vector<std::string> names;
  for (const auto& slot : tiers_) names.emplace_back(slot->name);
  return names;
}

std::vector<LowerTierStatus> TieredCache::LowerTiers() const {
  std::vector<LowerTierStatus> out;
  for (const auto& slot_ptr : tiers_) {
    const Slot& slot = *slot_ptr;
    LowerTierStatus s;
    s.name = slot.name;
    s.kind = slot.kind;
    s.state = slot.usable() ? slot.state.load(std::memory_order_acquire) : TierState::kDown;
    {
      std::lock_guard lock(slot.mu);
      s.last_error = slot.last_error;
      s.round_trip = slot.round_trip;
    }
    s.required = slot.options.required;
    s.write_mode = slot.options.write_mode;
    s.ttl_factor = slot.options.ttl_factor;
    s.hits = slot.hits.load(std::memory_order_relaxed);
    s.misses = slot.misses.load(std::memory_order_relaxed);
    s.errors = slot.errors.load(std::memory_order_relaxed);
    s.skipped = slot.skipped.load(std::memory_order_relaxed);
    s.promotions = slot.promotions.load(std::memory_order_relaxed);
    s.get_latency = slot.get_latency.Read();
    s.set_latency = slot.set_latency.Read();
    if (const Slot::Reach reach(slot); !reach.stopped()) {
      if (slot.queue) s.write_behind = slot.queue->stats();
      s.tag_index = slot.tier->tag_index();
      if (const Compressor& c = slot.compressing->compressor(); c.enabled()) {
        s.compression = c.Stats();
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool TieredCache::RequiredTiersUp() const {
  return std::all_of(tiers_.begin(), tiers_.end(), [](const auto& slot) {
    return !slot->options.required || slot->usable();
  });
}

uint64_t TieredCache::FlushWriteBehind(Duration timeout) {
  const TimePoint deadline = SteadyNow() + timeout;
  uint64_t left = 0;
  for (auto& slot : tiers_) {
    const Slot::Reach reach(*slot);
    if (reach.stopped() || !slot->queue) continue;
    left += slot->queue->Drain(std::max(deadline - SteadyNow(), Duration::zero()));
  }
  return left;
}

}  // namespace tiercache
