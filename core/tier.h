#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/content_type.h"
#include "core/key_pattern.h"
#include "core/status.h"

namespace tiercache {

// What a lower tier holds for one key.
struct TierEntry {
  std::string value;
  std::vector<std::string> tags;
  Duration ttl_left;  // lifetime remaining in this tier (> 0)
  std::string content_type{};  // the entry's media type; empty: none given
};

// One write into a lower tier. The value is shared: the same bytes go to L1 and to every
// tier (and may sit in a write-behind queue) without being copied.
struct TierWrite {
  std::string key;
  std::shared_ptr<const std::string> value;
  std::vector<std::string> tags;
  Duration ttl;  // lifetime in this tier (> 0), already scaled by the tier's ttl_factor
  ContentType content_type{};
};

// The size of a tier's tag bookkeeping, as last measured by the tier (cheap to read).
struct TagIndexStats {
  bool measured = false;    // false until the tier has measured it once
  uint64_t tags = 0;        // distinct tags with bookkeeping (Redis sets, PostgreSQL tags)
  uint64_t memberships = 0; // (entry, tag) pairs recorded
  uint64_t bytes = 0;       // bytes the bookkeeping takes in the backend, where known
};

template <class T>
using Callback = std::function<void(T)>;

// A counter after an increment made in a lower tier.
struct TierCounter {
  int64_t value = 0;
  Duration ttl_left{0};            // the entry's remaining lifetime in this tier
  std::vector<std::string> tags;  // the entry's tags in this tier
};

// A lower cache tier behind L1 (Redis, PostgreSQL, and later compositions of them).
// Implementations live in tiers/; core composes an ordered list of them without knowing
// which backend is which.
//
// Every operation is asynchronous: it returns at once and calls `done` exactly once, either
// before returning (an immediate failure, such as a full queue or a tier shutting down) or
// later on one of the tier's own threads. `done` must be quick and must not block: callers
// hand real work on to their own threads. No method blocks the calling thread on network
// I/O, so front-end I/O threads may call them.
//
// Errors: a backend failure is kUnavailable (kDeadlineExceeded for a command that timed
// out) with the backend's message; kNotFound only for a Get miss. A tier never throws.
// Thread-safety: every method may be called from many threads at once.
// Destruction fails every pending operation with kUnavailable and waits for the tier's
// threads; no callback runs after the destructor returns.
class Tier {
 public:
  virtual ~Tier() = default;

  // The tier's name as shown in status and the X-Cache-Tier header ("L2", "L3").
  virtual std::string_view name() const = 0;
  // The backend kind, for status: "redis", "postgres".
  virtual std::string_view kind() const = 0;

  // kNotFound on a miss (absent or expired). REQUIRES: key is non-empty.
  virtual void Get(std::string key, Callback<Result<TierEntry>> done) = 0;
  // Stores or replaces the entry; its old tags no longer refer to it.
  virtual void Set(TierWrite write, Callback<Status> done) = 0;
  // Stores many entries in as few round trips as the backend allows (write-behind).
  // Either every write was applied or the status says why not (some may have been).
  virtual void SetBatch(std::vector<TierWrite> writes, Callback<Status> done) = 0;
  // Removes `key`; whether it was present.
  virtual void Delete(std::string key, Callback<Result<bool>> done) = 0;
  // Removes every entry carrying any of `tags`, whoever wrote it; how many were removed.
  virtual void InvalidateTags(std::vector<std::string> tags, Callback<Result<uint64_t>> done) = 0;
  // Removes every entry whose key matches `pattern` (RE2 semantics, PartialMatch as in
  // KeyPattern::Matches); how many were removed.
  virtual void InvalidateMatching(std::shared_ptr<const KeyPattern> pattern,
                                  Callback<Result<uint64_t>> done) = 0;
  // Removes everything this tier holds for this server's namespace, and nothing else.
  virtual void Clear(Callback<Result<uint64_t>> done) = 0;
  // One cheap round trip to the backend (health probe). While the backend is unreachable
  // it fails at once: tiers reconnect in the background, never on the caller's request.
  virtual void Ping(Callback<Status> done) = 0;
  // The tag bookkeeping as last measured; never does I/O.
  virtual TagIndexStats tag_index() const = 0;

  // Whether Increment works: the backend adds to a counter itself, so that instances
  // sharing the tier count together.
  virtual bool supports_increment() const { return false; }
  // Adds `delta` to the integer `key` holds, atomically in the backend whoever else
  // writes, keeping the entry's tags and lifetime; an absent key starts from 0 with
  // lifetime `ttl_if_new` and no tags. kInvalidArgument "value is not an integer or out of
  // range" (the value is not a 64-bit integer) or "increment or decrement would overflow".
  virtual void Increment(std::string key, int64_t delta, Duration ttl_if_new,
                         Callback<Result<TierCounter>> done) {
    (void)key, (void)delta, (void)ttl_if_new;
    done(Status::Internal(std::string(kind()) + " tiers do not count"));
  }

  // Whether AddToCounter works: the backend keeps named counters of the server itself,
  // beside the entries and untouched by clear and invalidations (namespace versions).
  virtual bool supports_counters() const { return false; }
  // Adds `delta` to counter `name` (an absent counter is 0) atomically in the backend, and
  // answers its new value.
  virtual void AddToCounter(std::string name, int64_t delta, Callback<Result<int64_t>> done) {
    (void)name, (void)delta;
    done(Status::Internal(std::string(kind()) + " tiers keep no counters"));
  }
};

}  // namespace tiercache
