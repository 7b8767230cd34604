#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/coherence_bus.h"
#include "core/hot_keys.h"
#include "core/l1_store.h"
#include "core/metrics.h"
#include "core/status.h"
#include "core/strategy_options.h"
#include "core/tier.h"
#include "core/tier_options.h"
#include "core/write_behind_queue.h"

namespace tiercache {

// A value found in some tier. The value is shared with the tier it came from (for L1,
// with the stored entry), so a hit costs the same for 10 bytes and 8 MiB.
struct Hit {
  SharedBytes value;
  std::string_view tier;  // "L1", or the name of the lower tier that served it
  Duration ttl_left;
  ContentType content_type{};
  // The lifetime factor of the tier that served it: ttl_left / ttl_factor is the time left
  // at the scale of the timeout it was written with, whichever tier answered.
  double ttl_factor = 1.0;
  Duration RequestTtlLeft() const {
    return std::chrono::duration_cast<Duration>(ttl_left / ttl_factor);
  }
};

// What one tier removed for one invalidation or clear; `error` is set if the tier could
// not be reached (it is then marked down and `removed` counts nothing).
struct TierRemoval {
  std::string tier;
  uint64_t removed = 0;
  std::string error;
};

// One entry to store in every tier.
struct TieredWrite {
  std::string key;
  std::shared_ptr<const std::string> value;
  std::vector<std::string> tags;
  Lifetime lifetime;  // in L1; lower tiers take lifetime.timeout × their ttl_factor
  ContentType content_type{};
  // The tiers to write: bit 0 is L1, bit i the i-th lower tier. A write that skips L1
  // removes the key from L1 instead, so L1 never keeps an older value; lower tiers left
  // out are not touched.
  uint32_t tiers = kAllTiers;
  static constexpr uint32_t kAllTiers = ~uint32_t{0};
};

enum class TierState : uint8_t { kUp, kDegraded, kDown };
std::string_view TierStateName(TierState state);

// What a lower tier looks like from core: health, traffic and its write-behind queue.
struct LowerTierStatus {
  std::string name;
  std::string kind;
  TierState state = TierState::kUp;
  std::string last_error;
  Duration round_trip{0};  // of the last successful health probe
  bool required = false;
  WriteMode write_mode = WriteMode::kSync;
  double ttl_factor = 1.0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t errors = 0;   // failed operations of any kind
  uint64_t skipped = 0;  // operations not sent because the tier was down
  uint64_t promotions = 0;  // entries this tier's hits copied into the tiers above
  LatencyHistogram::Counts get_latency;  // reads sent to it, reply included
  LatencyHistogram::Counts set_latency;  // sync writes and write batches sent to it
  std::optional<WriteBehindStats> write_behind;  // async tiers only
  TagIndexStats tag_index;
  std::optional<CompressionStats> compression;  // when the tier compresses
};

// The multi-tier data path: L1 in memory, then the lower tiers in order (L2, L3, ...).
//
// Read: L1, then each lower tier in turn; a hit is copied into every tier above it with
// its remaining lifetime scaled by the tiers' ttl_factors (never longer than it has
// left). Concurrent misses of one key share one read of the lower tiers.
// Write: L1, then every lower tier: sync tiers before the write is answered, async tiers
// through their write-behind queue. A lower tier failing never fails the request: the
// error is counted, and after `failure_threshold` failures in a row the tier is marked
// down and skipped at no cost until a health probe finds it back.
// Invalidate and clear: L1 and every lower tier.
//
// Callbacks run on the caller's thread when everything is answered from L1, otherwise on
// a tier's thread. Thread-safe. Lower tiers are pinged every `health.interval` of the clock
// (a probe's own answer is awaited in real time, bounded).
class TieredCache {
 public:
  struct LowerTier {
    std::unique_ptr<Tier> tier;
    LowerTierOptions options;
  };

  // Told when a lower tier changes state (for the log): tier name, new state, last error.
  using StateListener = std::function<void(std::string_view, TierState, std::string_view)>;

  // The prober waits `health.interval` on `clock` between rounds; `clock` must outlive the
  // cache.
  TieredCache(L1Store& l1, double l1_ttl_factor, std::vector<LowerTier> tiers,
              TierHealthOptions health, const Clock& clock, StateListener on_state_change = {});
  ~TieredCache();
  TieredCache(const TieredCache&) = delete;
  TieredCache& operator=(const TieredCache&) = delete;

  bool has_lower_tiers() const { return !tiers_.empty(); }
  // Negative caching (StrategyOptions::negative): set before the cache serves.
  void SetNegativeCaching(std::vector<StrategyOptions::NegativeRule> rules);
  // The keys most read from the lower tiers lately, most read first (the hot warming
  // source promotes them into L1).
  std::vector<std::string> HotLowerTierKeys(size_t n) const { return hot_keys_.Top(n); }
  // Lower tiers' names in order (L2, L3, ...), for tier masks.
  std::vector<std::string> LowerTierNames() const;
  L1Store& l1() { return l1_; }
  double l1_ttl_factor() const { return l1_ttl_factor_; }
  const L1Store& l1() const { return l1_; }

  // kNotFound when no tier holds the key.
  void Get(std::string_view key, Callback<Result<Hit>> done);
  // Get in two halves, so that the common answer costs no callback: L1's answer (a hit,
  // or a miss when there are no lower tiers), or nullopt when the lower tiers must be
  // read, which GetFromLowerTiers then does (L1 already asked).
  std::optional<Result<Hit>> GetNow(std::string_view key);
  void GetFromLowerTiers(std::string_view key, Callback<Result<Hit>> done);
  // kTooLarge if L1 refuses the entry (then no tier stores it).
  void Set(TieredWrite write, Callback<Status> done);
  // Set when there are no lower tiers (has_lower_tiers() false), answered at once.
  Status SetInL1(TieredWrite&& write);
  // What a batch write stored: writes L1 refused (too large) go nowhere and count as failed.
  struct BatchResult {
    size_t stored = 0;
    size_t failed = 0;
    std::string error;  // the first failure
  };
  // Many writes at once, each as Set would make it, but one round trip per lower tier (its
  // SetBatch) instead of one per key: for bulk loads such as warming. `tiers` is the mask
  // for every write of the batch (TieredWrite::tiers is ignored).
  void SetBatch(std::vector<TieredWrite> writes, uint32_t tiers, Callback<BatchResult> done);
  // Whether the first lower tier keeps counters itself (Tier::supports_increment), so that
  // Increment counts across every instance sharing it.
  bool counts_in_lower_tier() const;
  // Adds `delta` to the integer counter `key` in the first lower tier, atomically there;
  // absent, it starts from 0 with lifetime `ttl_if_new` (× the tier's ttl_factor). L1 drops
  // its copy and the other lower tiers get the new value. kUnavailable while the first
  // tier is down; kInvalidArgument for a value that is no 64-bit integer or an overflow.
  // Only when counts_in_lower_tier().
  void Increment(std::string key, int64_t delta, Duration ttl_if_new,
                 Callback<Result<int64_t>> done);
  // The first lower tier that keeps the server's counters (Tier::supports_counters), if any:
  // where namespace versions live, shared by every instance and kept across restarts.
  std::optional<std::string> CounterTier() const;
  // Tier::AddToCounter on that tier; kUnavailable while it is down or without one.
  void AddToCounter(std::string name, int64_t delta, Callback<Result<int64_t>> done);
  // Whether any tier held the key.
  void Delete(std::string_view key, Callback<bool> done);
  // Removals per tier, L1 first.
  void InvalidateKeys(std::vector<std::string> keys, Callback<std::vector<TierRemoval>> done);
  void InvalidateTags(std::vector<std::string> tags, Callback<std::vector<TierRemoval>> done);
  void InvalidateMatching(std::shared_ptr<const KeyPattern> pattern,
                          Callback<std::vector<TierRemoval>> done);
  void Clear(Callback<std::vector<TierRemoval>> done);

  // A change another instance made to the tiers this one shares (core/coherence_bus.h):
  // removed from L1 only, and reads in flight for what it covers do not promote what they
  // found, which may be older than the change.
  void ApplyRemoteChange(const CoherenceMessage& change);
  // While set, L1 keeps nothing longer than `cap`: changes made by other instances may go
  // unheard (their channel is down). nullopt lifts it.
  void CapL1Lifetimes(std::optional<Duration> cap);

  std::vector<LowerTierStatus> LowerTiers() const;
  // False while a tier marked `required` is down.
  bool RequiredTiersUp() const;
  // Flushes every write-behind queue, for at most `timeout` in all; the writes left.
  uint64_t FlushWriteBehind(Duration timeout);
  // Stops the health probes and destroys the lower tiers, whose operations still pending
  // answer meanwhile (their callbacks run now, while whatever they report to still
  // exists). At shutdown, once nothing sends new requests; the destructor does it too.
  // Only L1 may be used afterwards.
  void StopLowerTiers();

 private:
  struct Slot;
  struct Flight;

  // Reads `key` from lower tier `index` on, for the flight `flight`.
  void ReadFrom(size_t index, std::shared_ptr<Flight> flight);
  // Sends the flight's read to `slot` (tier `index`), inside a Reach that found it usable.
  void SendRead(Slot& slot, size_t index, std::shared_ptr<Flight> flight);
  // Set's L1 part: bumps the key's epoch, then writes L1 (or drops the key from it).
  Status WriteL1(const TieredWrite& write);
  void Land(const std::shared_ptr<Flight>& flight, Result<Hit> result);
  // Every tier answered "not found": remembers so in L1 if a negative rule matches.
  void RememberAbsent(const Flight& flight);
  // Copies what a lower tier returned into L1 and the tiers above it; returns its value and
  // content type, shared, for the readers.
  std::pair<std::shared_ptr<const std::string>, ContentType> Promote(const Flight& flight,
                                                                      size_t found_in,
                                                                      TierEntry&& entry);
  // Applies one removal to every lower tier and gathers the counts after L1's. `cancel`
  // drops what an async tier's queue holds of it; `remember` records it for a tier that
  // is down, to be applied when the tier is back.
  using TierOp = std::function<void(Tier&, Callback<Result<uint64_t>>)>;
  using SlotOp = std::function<void(Slot&)>;
  void RemoveEverywhere(TierRemoval l1_removal, TierOp issue, SlotOp cancel, SlotOp remember,
                        Callback<std::vector<TierRemoval>> done);
  void Probe(Slot& slot);
  void SetState(Slot& slot, TierState state);
  static size_t EpochBucket(std::string_view key);
  std::atomic<uint64_t>& EpochOf(std::string_view key) { return key_epochs_[EpochBucket(key)]; }
  // Whether what `flight` found may be copied into L1 and the tiers above: nothing that
  // could change its key happened since it began, and no removal is still under way.
  bool MayPromote(const Flight& flight) const;
  // Marks a tag, pattern or clear removal under way (no promotions meanwhile) and returns
  // `done` wrapped to end it.
  Callback<std::vector<TierRemoval>> WhileRemoving(Callback<std::vector<TierRemoval>> done);
  void BumpAllEpochs() { global_epoch_.fetch_add(1, std::memory_order_acq_rel); }
  void ProbeLoop();

  L1Store& l1_;
  const double l1_ttl_factor_;
  std::vector<std::unique_ptr<Slot>> tiers_;
  const TierHealthOptions health_;
  const Clock& clock_;
  const StateListener on_state_change_;

  // Single flight: misses being read from the lower tiers, by key.
  static constexpr size_t kFlightShards = 64;
  struct FlightShard {
    std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<Flight>> flights;
  };
  std::array<FlightShard, kFlightShards> flight_shards_;

  // Writes and invalidations move these; a read promotes what it found only if nothing
  // that could have changed the key happened since it started, so a slow read never
  // puts back a value that was overwritten or invalidated meanwhile.
  static constexpr size_t kEpochBuckets = 4096;
  std::array<std::atomic<uint64_t>, kEpochBuckets> key_epochs_{};
  std::atomic<uint64_t> global_epoch_{0};
  // Removals sent to the lower tiers and not yet answered by all of them: while any is, a
  // read may find in a lower tier what is being removed, so nothing is promoted (keys by
  // epoch bucket; tags, patterns and clears all at once).
  std::array<std::atomic<int32_t>, kEpochBuckets> key_removals_running_{};
  std::atomic<int32_t> removals_running_{0};
  std::atomic<bool> closing_{false};  // the destructor runs: reads go no further down

  HotKeys hot_keys_;
  std::vector<StrategyOptions::NegativeRule> negative_;

  // L1's lifetime cap in nanoseconds; 0 for none.
  std::atomic<int64_t> l1_cap_ns_{0};
  Lifetime CappedL1(Lifetime lifetime) const;

  std::mutex probe_mu_;
  ClockCondition probe_wake_;  // stop
  bool stop_ = false;          // guarded by probe_mu_
  std::thread prober_;
};

}  // namespace tiercache
