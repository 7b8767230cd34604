// The Redis tier: core's Tier over hiredis, pipelined on a few connections.
//
// Layout (every key starts with the tier's key_prefix, written {prefix}):
//   {prefix}k:{key}  hash  v = value, t = tags ("<len>:<bytes>" each), x = expiry in ms since
//                          the Unix epoch on Redis's clock, c = content type ("" if none);
//                          the key expires at x (PEXPIREAT),
//                          so PTTL shows the entry's ttl and Redis drops it by itself.
//   {prefix}t:{tag}  zset  member = key, score = that entry's x; expires with its
//                          longest-lived member, so a tag whose entries all expired vanishes.
// Get is one HMGET (no Lua: it is the hot path). Set, Delete and tag invalidation are Lua
// scripts (redis_scripts.cc), so an entry and its memberships change atomically whichever
// server writes; the remaining lifetime is x minus Redis's clock, as estimated from TIME.
// Details and the bounds on leftover memberships: README.md.

#include "tiers/redis/redis_tier.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <atomic>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/thread_annotations.h"
#include "tiers/redis/redis_connection.h"
#include "tiers/redis/redis_keyspace_walks.h"
#include "tiers/redis/redis_layout.h"
#include "tiers/redis/redis_maintenance.h"
#include "tiers/redis/redis_pool.h"
#include "tiers/redis/redis_scripts.h"

namespace tiercache {

namespace {

using redis::Args;
using redis::Command;
using redis::Layout;
using redis::ReplyResult;

// Memberships popped per tag invalidation script call: about a millisecond of Redis's time.
constexpr const char* kInvalidateBatch = "1000";
// Bounds of one batch set script call: a few hundred microseconds of Redis's time.
constexpr size_t kSetBatchWrites = 256;
constexpr size_t kSetBatchBytes = 1 << 20;

int64_t TtlMs(Duration ttl) {
  return std::max<int64_t>(1, std::chrono::ceil<std::chrono::milliseconds>(ttl).count());
}

// `status` with `message` instead, keeping its code (Status has no such setter).
Status Restate(const Status& status, std::string message) {
  return status.code() == StatusCode::kDeadlineExceeded
             ? Status::DeadlineExceeded(std::move(message))
             : Status::Unavailable(std::move(message));
}

class RedisTier final : public Tier {
 public:
  RedisTier(RedisTierOptions options, redis::Endpoint endpoint)
      : options_(std::move(options)),
        label_("redis " + endpoint.Label()),
        layout_(options_.key_prefix),
        pool_({std::move(endpoint), options_.connect_timeout, options_.command_timeout},
              options_.pool_size, options_.max_queued, clock_),
        maintenance_(options_.sweep_interval,
                     [this](const std::atomic<bool>& stopping) { return Sweep(stopping); }) {}

  ~RedisTier() override {
    // Connections first: a walk waiting for a reply then gets kUnavailable at once.
    maintenance_.Stop();
    pool_.Stop();
    maintenance_.Join();
  }

  std::string_view name() const override { return options_.name; }
  std::string_view kind() const override { return "redis"; }

  void Get(std::string key, Callback<Result<TierEntry>> done) override {
    Command get{Args{"HMGET", layout_.EntryKey(key), "v", "t", "x", "c"}};
    get.done = [this, done = std::move(done)](ReplyResult r) {
      done(r.ok() ? EntryOf(**r) : Result<TierEntry>(r.status()));
    };
    pool_.Submit(std::move(get), pool_.RouteOf(key));
  }

  void Set(TierWrite write, Callback<Status> done) override {
    const size_t route = pool_.RouteOf(write.key);
    pool_.Submit(SetCommand(std::move(write),
                            [done = std::move(done)](ReplyResult r) {
                              done(r.ok() ? Status::Ok() : r.status());
                            }),
                 route);
  }

  void SetBatch(std::vector<TierWrite> writes, Callback<Status> done) override;

  void Delete(std::string key, Callback<Result<bool>> done) override {
    Command del{Args{"1", layout_.EntryKey(key), layout_.tag_prefix(),
                     std::to_string(layout_.entry_prefix().size())},
                redis::kDeleteScript};
    del.done = [this, done = std::move(done)](ReplyResult r) {
      if (!r.ok()) return done(r.status());
      if ((*r)->type != REDIS_REPLY_INTEGER) return done(Unexpected("the delete script"));
      done((*r)->integer > 0);
    };
    pool_.Submit(std::move(del), pool_.RouteOf(key));
  }

  void InvalidateTags(std::vector<std::string> tags, Callback<Result<uint64_t>> done) override;

  void InvalidateMatching(std::shared_ptr<const KeyPattern> pattern,
                          Callback<Result<uint64_t>> done) override {
    if (pattern == nullptr) return done(Status::InvalidArgument("no pattern"));
    auto shared_done = std::make_shared<Callback<Result<uint64_t>>>(std::move(done));
    maintenance_.Post(
        [this, pattern, shared_done](const std::atomic<bool>& stopping) {
          (*shared_done)(redis::RemoveMatching(pool_, layout_, *pattern, stopping));
        },
        [shared_done](Status s) { (*shared_done)(std::move(s)); });
  }

  void Clear(Callback<Result<uint64_t>> done) override {
    auto shared_done = std::make_shared<Callback<Result<uint64_t>>>(std::move(done));
    maintenance_.Post(
        [this, shared_done](const std::atomic<bool>& stopping) {
          (*shared_done)(redis::ClearNamespace(pool_, layout_, stopping));
        },
        [shared_done](Status s) { (*shared_done)(std::move(s)); });
  }

  void Ping(Callback<Status> done) override {
    Command ping{Args{"PING"}};
    ping.done = [done = std::move(done)](ReplyResult r) {
      done(r.ok() ? Status::Ok() : r.status());
    };
    pool_.Submit(std::move(ping));
  }

  TagIndexStats tag_index() const override {
    MutexLock lock(stats_mu_);
    return stats_;
  }

  bool supports_increment() const override { return true; }

  void Increment(std::string key, int64_t delta, Duration ttl_if_new,
                 Callback<Result<TierCounter>> done) override {
    Command incr{Args{"1", layout_.EntryKey(key), std::to_string(delta),
                      std::to_string(TtlMs(ttl_if_new))},
                 redis::kIncrementScript};
    incr.done = [this, done = std::move(done)](ReplyResult r) {
      if (!r.ok()) return done(r.status());
      const redisReply& reply = **r;
      if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 2 ||
          reply.element[0]->type != REDIS_REPLY_INTEGER) {
        return done(Unexpected("the increment script"));
      }
      const redisReply& second = *reply.element[1];
      const std::string_view text(second.str == nullptr ? "" : second.str, second.len);
      if (reply.element[0]->integer == 0) {
        return done(Status::InvalidArgument(text.find("overflow") != std::string_view::npos
                                                ? "increment or decrement would overflow"
                                                : "value is not an integer or out of range"));
      }
      TierCounter counter;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), counter.value);
      if (ec != std::errc() || end != text.data() + text.size() || reply.elements < 4 ||
          reply.element[2]->type != REDIS_REPLY_INTEGER) {
        return done(Unexpected("the increment script"));
      }
      counter.ttl_left = std::chrono::milliseconds(std::max<long long>(1, reply.element[2]->integer));
      const redisReply& tags = *reply.element[3];
      auto decoded = redis::DecodeTags(std::string_view(tags.str == nullptr ? "" : tags.str, tags.len));
      if (!decoded) return done(Unexpected("the increment script's tags"));
      counter.tags = std::move(*decoded);
      done(counter);
    };
    pool_.Submit(std::move(incr), pool_.RouteOf(key));
  }

  bool supports_counters() const override { return true; }

  void AddToCounter(std::string name, int64_t delta, Callback<Result<int64_t>> done) override {
    Command incr{Args{"INCRBY", layout_.CounterKey(name), std::to_string(delta)}};
    incr.done = [this, done = std::move(done)](ReplyResult r) {
      if (!r.ok()) return done(r.status());
      if ((*r)->type != REDIS_REPLY_INTEGER) return done(Unexpected("INCRBY"));
      done(static_cast<int64_t>((*r)->integer));
    };
    pool_.Submit(std::move(incr));
  }

 private:
  struct TagInvalidation {
    Args set_keys;  // numkeys, then the tag sets
    uint64_t removed = 0;
    Callback<Result<uint64_t>> done;
  };

  Command SetCommand(TierWrite&& write, redis::ReplyCallback done) const;
  // One kSetBatchScript call; takes the keys, values and tags out of `writes`.
  Command SetBatchCommand(const std::vector<TierWrite*>& writes) const;
  void InvalidateStep(std::shared_ptr<TagInvalidation> invalidation);
  Result<TierEntry> EntryOf(const redisReply& reply) const;
  bool Sweep(const std::atomic<bool>& stopping);
  Status Unexpected(const char* what) const {
    return Status::Internal(label_ + ": unexpected reply to " + what);
  }

  const RedisTierOptions options_;
  const std::string label_;
  const Layout layout_;
  redis::ServerClock clock_;
  redis::Pool pool_;
  mutable Mutex stats_mu_;
  TagIndexStats stats_ TC_GUARDED_BY(stats_mu_);
  redis::Maintenance maintenance_;  // last: its thread uses everything above
};

Command RedisTier::SetCommand(TierWrite&& write, redis::ReplyCallback done) const {
  Command set{Args{"1", layout_.EntryKey(write.key), write.key}, redis::kSetScript,
              std::move(done)};
  if (write.value) {
    set.args.AddShared(std::move(write.value));
  } else {
    set.args.Add("");
  }
  set.args.Add(std::to_string(TtlMs(write.ttl)))
      .Add(layout_.tag_prefix())
      .Add(std::string(ContentTypeText(write.content_type)));
  for (std::string& tag : write.tags) set.args.Add(std::move(tag));
  return set;
}

void RedisTier::SetBatch(std::vector<TierWrite> writes, Callback<Status> done) {
  if (writes.empty()) return done(Status::Ok());
  // Each key goes on its own connection, as a single Set would, so that a later operation on
  // the key cannot overtake its write; the writes of one connection go as a few batch script
  // calls, each bounded so that Redis is never busy with one for long.
  std::vector<std::vector<TierWrite*>> by_connection(pool_.size());
  for (TierWrite& write : writes) by_connection[pool_.RouteOf(write.key)].push_back(&write);
  std::vector<std::pair<size_t, std::vector<TierWrite*>>> calls;  // route, writes
  for (size_t route = 0; route < by_connection.size(); ++route) {
    size_t bytes = 0;
    std::unordered_set<std::string_view> keys;  // of the call being filled
    for (TierWrite* write : by_connection[route]) {
      // A key written twice goes in the next call, after its first write.
      if (calls.empty() || calls.back().first != route ||
          calls.back().second.size() >= kSetBatchWrites || bytes >= kSetBatchBytes ||
          keys.contains(write->key)) {
        calls.emplace_back(route, std::vector<TierWrite*>());
        bytes = 0;
        keys.clear();
      }
      keys.insert(write->key);
      calls.back().second.push_back(write);
      bytes += write->key.size() + (write->value ? write->value->size() : 0);
    }
  }
  // Replies come back on the connection threads (or refusals on this one), in any order.
  struct Batch {
    std::mutex mu;
    size_t calls_left;
    size_t failed = 0;  // writes
    Status first_error;
    Callback<Status> done;
  };
  auto batch = std::make_shared<Batch>();
  batch->calls_left = calls.size();
  batch->done = std::move(done);
  const size_t total = writes.size();
  for (auto& [route, call_writes] : calls) {
    Command call = SetBatchCommand(call_writes);
    const size_t count = call_writes.size();
    call.done = [this, batch, total, count](ReplyResult r) {
      Status error = r.ok() ? Status::Ok() : r.status();
      if (error.ok() && (*r)->type != REDIS_REPLY_INTEGER) {
        error = Unexpected("the batch set script");
      }
      Status outcome;
      {
        std::lock_guard lock(batch->mu);
        if (!error.ok() && (batch->failed += count) == count) batch->first_error = error;
        if (--batch->calls_left > 0) return;
        if (batch->failed > 0) {
          outcome = Restate(batch->first_error,
                            batch->first_error.message() + " (" + std::to_string(batch->failed) +
                                " of " + std::to_string(total) + " writes failed)");
        }
      }
      batch->done(std::move(outcome));
    };
    pool_.Submit(std::move(call), route);
  }
}

Command RedisTier::SetBatchCommand(const std::vector<TierWrite*>& writes) const {
  Command call{Args{std::to_string(writes.size())}, redis::kSetBatchScript};
  size_t tag_count = 0;
  for (const TierWrite* write : writes) tag_count += write->tags.size();
  // numkeys and the prefix; per write its key twice and 5 fields; each tag at most twice
  // (own, or an index in its group) plus a group's name and size.
  call.args.Reserve(2 + 7 * writes.size() + 4 * tag_count);
  for (const TierWrite* write : writes) call.args.Add(layout_.EntryKey(write->key));
  call.args.Add(layout_.tag_prefix());
  // Each tag's entries, by index in KEYS from 1, in the order the tags first appear. The
  // tags are views into the writes, whose tag lists stay as they are from here on.
  std::vector<std::pair<std::string_view, std::vector<size_t>>> groups;
  std::unordered_map<std::string_view, size_t> group_of;
  for (size_t i = 0; i < writes.size(); ++i) {
    std::vector<std::string>& tags = writes[i]->tags;
    if (tags.size() > 1) {  // without repeats, first uses kept
      std::vector<std::string> unique;
      for (std::string& tag : tags) {
        if (std::find(unique.begin(), unique.end(), tag) == unique.end()) {
          unique.push_back(std::move(tag));
        }
      }
      tags = std::move(unique);
    }
    for (const std::string& tag : tags) {
      if (tag == writes[i]->key) continue;  // the entry itself carries it (redis_scripts.cc)
      auto [it, added] = group_of.try_emplace(tag, groups.size());
      if (added) groups.emplace_back(tag, std::vector<size_t>());
      groups[it->second].second.push_back(i + 1);
    }
  }
  std::vector<std::string_view> own;  // of one write: the tags no other write has
  for (TierWrite* write : writes) {
    own.clear();
    for (const std::string& tag : write->tags) {
      if (tag != write->key && groups[group_of.at(tag)].second.size() == 1) own.push_back(tag);
    }
    call.args.Add(std::move(write->key));
    if (write->value) {
      call.args.AddShared(std::move(write->value));
    } else {
      call.args.Add("");
    }
    call.args.Add(std::to_string(TtlMs(write->ttl)))
        .Add(redis::EncodeTags(write->tags))
        .Add(std::string(ContentTypeText(write->content_type)));
    call.args.Add(std::to_string(own.size()));
    for (std::string_view tag : own) call.args.Add(std::string(tag));
  }
  for (const auto& [tag, entries] : groups) {
    if (entries.size() < 2) continue;
    call.args.Add(std::string(tag)).Add(std::to_string(entries.size()));
    for (size_t i : entries) call.args.Add(std::to_string(i));
  }
  return call;
}

void RedisTier::InvalidateTags(std::vector<std::string> tags, Callback<Result<uint64_t>> done) {
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  if (tags.empty()) return done(uint64_t{0});
  auto invalidation = std::make_shared<TagInvalidation>();
  invalidation->set_keys.Add(std::to_string(tags.size()));
  for (const std::string& tag : tags) invalidation->set_keys.Add(layout_.TagKey(tag));
  invalidation->done = std::move(done);
  InvalidateStep(std::move(invalidation));
}

// One batch of the tag invalidation; the reply's callback sends the next until the tag sets
// are empty, so no thread waits meanwhile.
void RedisTier::InvalidateStep(std::shared_ptr<TagInvalidation> invalidation) {
  Command step{invalidation->set_keys, redis::kInvalidateTagsScript};
  step.args.Add(layout_.entry_prefix()).Add(layout_.tag_prefix()).Add(kInvalidateBatch);
  step.done = [this, invalidation](ReplyResult r) {
    if (!r.ok()) return invalidation->done(r.status());
    const redisReply& reply = **r;
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2) {
      return invalidation->done(Unexpected("the tag invalidation script"));
    }
    invalidation->removed += static_cast<uint64_t>(reply.element[0]->integer);
    if (reply.element[1]->integer > 0) return InvalidateStep(invalidation);
    invalidation->done(invalidation->removed);
  };
  pool_.Submit(std::move(step));
}

Result<TierEntry> RedisTier::EntryOf(const redisReply& reply) const {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 4) return Unexpected("HMGET");
  const redisReply& value = *reply.element[0];
  const redisReply& tags = *reply.element[1];
  const redisReply& expiry = *reply.element[2];
  if (value.type == REDIS_REPLY_NIL) return Status::NotFound("");
  if (value.type != REDIS_REPLY_STRING || tags.type != REDIS_REPLY_STRING ||
      expiry.type != REDIS_REPLY_STRING) {
    return Status::Internal(label_ + ": malformed entry (a hash without v, t and x)");
  }
  const auto decoded_tags = redis::DecodeTags(std::string_view(tags.str, tags.len));
  const auto expiry_ms = redis::ParseInt64(std::string_view(expiry.str, expiry.len));
  if (!decoded_tags || !expiry_ms) return Status::Internal(label_ + ": malformed entry");
  const int64_t left_ms = *expiry_ms - clock_.NowMs();
  // Redis has not dropped it yet, or the clock estimate is a millisecond off: expired.
  if (left_ms <= 0) return Status::NotFound("");
  // An entry written before content types were kept has no c: it has none.
  const redisReply& content_type = *reply.element[3];
  return TierEntry{std::string(value.str, value.len), std::move(*decoded_tags),
                   std::chrono::milliseconds(left_ms),
                   content_type.type == REDIS_REPLY_STRING
                       ? std::string(content_type.str, content_type.len)
                       : std::string()};
}

bool RedisTier::Sweep(const std::atomic<bool>& stopping) {
  Result<TagIndexStats> stats = redis::SweepTagSets(pool_, layout_, clock_, stopping);
  if (!stats.ok()) return false;
  MutexLock lock(stats_mu_);
  stats_ = *stats;
  return true;
}

Status Validate(const RedisTierOptions& o) {
  if (o.name.empty()) return Status::InvalidArgument("name must not be empty");
  if (o.key_prefix.empty()) {
    return Status::InvalidArgument(
        "key_prefix must not be empty: it keeps clear and pattern invalidation to this "
        "tier's keys");
  }
  if (o.pool_size == 0 || o.pool_size > 64) {
    return Status::InvalidArgument("pool_size must be between 1 and 64, got " +
                                   std::to_string(o.pool_size));
  }
  if (o.database < 0) return Status::InvalidArgument("database must be >= 0");
  for (const auto& [field, value] : {std::pair{"connect_timeout", o.connect_timeout},
                                     std::pair{"command_timeout", o.command_timeout},
                                     std::pair{"sweep_interval", o.sweep_interval}}) {
    if (value < std::chrono::milliseconds(1)) {
      return Status::InvalidArgument(std::string(field) + " must be at least 1 ms");
    }
  }
  if (o.max_queued == 0) return Status::InvalidArgument("max_queued must be positive");
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Tier>> MakeRedisTier(RedisTierOptions options) {
  const auto invalid = [&](const Status& s) {
    return Status::InvalidArgument("redis tier " + options.name + ": " + s.message());
  };
  if (Status s = Validate(options); !s.ok()) return invalid(s);
  Result<redis::Endpoint> endpoint = redis::ParseRedisUrl(options.url, options.database);
  if (!endpoint.ok()) return invalid(endpoint.status());
  return std::unique_ptr<Tier>(new RedisTier(std::move(options), std::move(*endpoint)));
}

}  // namespace tiercache
