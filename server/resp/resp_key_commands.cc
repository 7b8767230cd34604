// The key commands: DEL, EXISTS, the expiry family, TYPE, KEYS, SCAN, RENAME, DBSIZE.

#include <memory>
#include <mutex>
#include <random>

#include "server/resp/resp_command.h"

namespace tiercache::resp {

namespace {

using Action = EntryChange::Action;

// Counts the keys for which one call per key answers true: DEL, UNLINK, EXISTS, TOUCH.
struct Count {
  explicit Count(size_t n) : left(n) {}
  std::atomic<int64_t> n{0};
  std::atomic<size_t> left;
  std::mutex mu;
  std::string error;

  // True when this was the last answer.
  bool Add(bool yes) {
    if (yes) n.fetch_add(1, std::memory_order_relaxed);
    return left.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }
  void Fail(const Status& s) {
    std::lock_guard lock(mu);
    if (error.empty()) error = ErrorText(s);
  }
  void Answer(const ReplySlot& reply) {
    std::lock_guard lock(mu);
    if (!error.empty()) return reply.Error(error);
    reply.Send([v = n.load()](ReplyWriter& w) { w.Integer(v); });
  }
};

void Del(Call& c) {
  auto count = std::make_shared<Count>(c.args.size() - 1);
  for (size_t i = 1; i < c.args.size(); ++i) {
    c.service.Delete(c.options.frontend, c.args[i], [count, reply = c.reply](Status s) {
      const bool found = s.ok();
      if (!s.ok() && s.code() != StatusCode::kNotFound) count->Fail(s);
      if (count->Add(found)) count->Answer(reply);
    });
  }
}

void Exists(Call& c) {
  auto count = std::make_shared<Count>(c.args.size() - 1);
  for (size_t i = 1; i < c.args.size(); ++i) {
    c.service.Get(c.options.frontend, c.args[i], [count, reply = c.reply](Result<Hit> hit) {
      if (!hit.ok() && hit.status().code() != StatusCode::kNotFound) count->Fail(hit.status());
      if (count->Add(hit.ok())) count->Answer(reply);
    });
  }
}

// Reads `key` and answers with what `answer(hit_or_null, writer)` writes.
template <class Answer>
void ReadThen(Call& c, std::string_view key, Answer answer) {
  c.service.Get(c.options.frontend, key, [reply = c.reply, answer](Result<Hit> hit) {
    if (!hit.ok() && hit.status().code() != StatusCode::kNotFound) {
      return reply.Error(ErrorText(hit.status()));
    }
    reply.Send([&](ReplyWriter& w) { answer(hit.ok() ? &*hit : nullptr, w); });
  });
}

// At the scale of the timeout the key was written with (SET k v EX 100: 100 s), whichever
// tier answered and whatever its ttl_factor.
int64_t MillisLeft(const Hit& hit) {
  return std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(hit.RequestTtlLeft()).count());
}

// Every entry has a lifetime (an entry without one would outlive every invalidation that
// missed it): TTL is never -1.
void Ttl(Call& c) {
  ReadThen(c, c.args[1], [](const Hit* hit, ReplyWriter& w) {
    w.Integer(hit == nullptr ? -2 : (MillisLeft(*hit) + 500) / 1000);
  });
}
void PTtl(Call& c) {
  ReadThen(c, c.args[1],
           [](const Hit* hit, ReplyWriter& w) { w.Integer(hit == nullptr ? -2 : MillisLeft(*hit)); });
}
// The instant an entry expires, from the time it has left (tiercache keeps no instant):
// in nanoseconds until rounded, so that it reads back what PEXPIREAT set within 1 ms.
int64_t ExpiresAtMillis(const Hit& hit) {
  const int64_t at = UnixNanos() + std::chrono::nanoseconds(hit.RequestTtlLeft()).count();
  return (at + 500'000) / 1'000'000;
}
void ExpireTime(Call& c) {
  ReadThen(c, c.args[1], [](const Hit* hit, ReplyWriter& w) {
    w.Integer(hit == nullptr ? -2 : ExpiresAtMillis(*hit) / 1000);
  });
}
void PExpireTime(Call& c) {
  ReadThen(c, c.args[1], [](const Hit* hit, ReplyWriter& w) {
    w.Integer(hit == nullptr ? -2 : ExpiresAtMillis(*hit));
  });
}

void Type(Call& c) {
  ReadThen(c, c.args[1],
           [](const Hit* hit, ReplyWriter& w) { w.Simple(hit == nullptr ? "none" : "string"); });
}

struct Changed {
  bool yes = false;
};

// Runs an update of args[1] answering 1 if `decide` changed it, 0 otherwise.
template <class Decide>
void UpdateCounting(Call& c, Decide decide) {
  auto changed = std::make_shared<Changed>();
  c.service.Update(
      c.options.frontend, std::string(c.args[1]),
      [changed, decide = std::move(decide)](const StoredEntry* current) -> Result<EntryChange> {
        Result<EntryChange> change = decide(current);
        if (change.ok() && change->action != Action::kKeep) changed->yes = true;
        return change;
      },
      [changed, reply = c.reply](Status s) {
        if (!s.ok()) return reply.Error(ErrorText(s));
        reply.Send([&](ReplyWriter& w) { w.Integer(changed->yes ? 1 : 0); });
      });
}

// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX | XX | GT | LT]
void ExpireCommand(Call& c, bool millis, bool absolute, std::string_view name) {
  int64_t n = 0;
  if (!ParseInteger(c.args[2], n)) return c.reply.Error(kNotInteger);
  bool nx = false, xx = false, gt = false, lt = false;
  for (size_t i = 3; i < c.args.size(); ++i) {
    if (EqualsIgnoreCase(c.args[i], "NX")) nx = true;
    else if (EqualsIgnoreCase(c.args[i], "XX")) xx = true;
    else if (EqualsIgnoreCase(c.args[i], "GT")) gt = true;
    else if (EqualsIgnoreCase(c.args[i], "LT")) lt = true;
    else return c.reply.Error("ERR Unsupported option " + std::string(c.args[i]));
  }
  if ((nx && (xx || gt || lt)) || (gt && lt)) {
    return c.reply.Error("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  const int64_t per_unit = millis ? 1 : 1000;
  if (n > kMaxExpireMillis / per_unit || n < -kMaxExpireMillis / per_unit) {
    return c.reply.Error("ERR invalid expire time in '" + std::string(name) + "' command");
  }
  // The time left in nanoseconds, so that an absolute time reads back exactly from
  // PEXPIRETIME; the subtraction is done in milliseconds first, where nothing overflows.
  const int64_t at_ms = n * per_unit;
  int64_t ns = at_ms * 1'000'000;
  if (absolute) {
    const int64_t now = UnixNanos();
    ns = (at_ms - now / 1'000'000) * 1'000'000 - now % 1'000'000;
  }
  const int64_t ms = ns / 1'000'000;
  UpdateCounting(c, [ns, ms, nx, gt, lt](const StoredEntry* current) -> Result<EntryChange> {
    // Every entry has an expiry, so NX ("only without one") never applies.
    if (current == nullptr || nx) return EntryChange{};
    const int64_t left =
        std::chrono::duration_cast<std::chrono::milliseconds>(current->ttl_left).count();
    if ((gt && ms <= left) || (lt && ms >= left)) return EntryChange{};
    EntryChange change;
    if (ns <= 0) {
      change.action = Action::kDelete;
      return change;
    }
    change.action = Action::kWrite;
    change.value = *current->value;
    change.ttl = std::chrono::nanoseconds(ns);
    return change;
  });
}
void Expire(Call& c) { ExpireCommand(c, false, false, "expire"); }
void PExpire(Call& c) { ExpireCommand(c, true, false, "pexpire"); }
void ExpireAt(Call& c) { ExpireCommand(c, false, true, "expireat"); }
void PExpireAt(Call& c) { ExpireCommand(c, true, true, "pexpireat"); }

// PERSIST: the longest lifetime the server allows (strategies.max_timeout), since no
// entry lives forever.
void Persist(Call& c) {
  const Duration longest = c.options.max_timeout;
  UpdateCounting(c, [longest](const StoredEntry* current) -> Result<EntryChange> {
    if (current == nullptr) return EntryChange{};
    EntryChange change;
    change.action = Action::kWrite;
    change.value = *current->value;
    change.ttl = longest;
    return change;
  });
}

void Touch(Call& c) { Exists(c); }

std::function<bool(std::string_view)> Matcher(std::string pattern) {
  if (pattern == "*") return [](std::string_view) { return true; };
  return [pattern = std::move(pattern)](std::string_view key) { return GlobMatch(pattern, key); };
}

// KEYS pattern: L1's keys, one shard at a time.
void Keys(Call& c) {
  const auto match = Matcher(std::string(c.args[1]));
  std::vector<std::string> keys;
  size_t shard = 0;
  do {
    Service::KeyPage page = c.service.ScanKeys(shard, match);
    for (auto& k : page.keys) keys.push_back(std::move(k));
    shard = page.next_shard;
  } while (shard != 0);
  c.reply.Send([&](ReplyWriter& w) {
    w.Array(keys.size());
    for (const auto& k : keys) w.Bulk(k);
  });
}

// SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]: the cursor is the L1 shard to read
// next, so a full iteration returns every key that was there throughout, as Redis
// promises; COUNT is a hint, as in Redis (a shard is returned whole).
void Scan(Call& c) {
  int64_t cursor = 0;
  if (!ParseInteger(c.args[1], cursor) || cursor < 0) return c.reply.Error("ERR invalid cursor");
  std::string pattern = "*";
  bool strings = true;
  for (size_t i = 2; i < c.args.size(); ++i) {
    if (i + 1 >= c.args.size()) return c.reply.Error(kSyntaxError);
    if (EqualsIgnoreCase(c.args[i], "MATCH")) {
      pattern.assign(c.args[++i]);
    } else if (EqualsIgnoreCase(c.args[i], "COUNT")) {
      int64_t count = 0;
      if (!ParseInteger(c.args[++i], count)) return c.reply.Error(kNotInteger);
      if (count < 1) return c.reply.Error(kSyntaxError);
    } else if (EqualsIgnoreCase(c.args[i], "TYPE")) {
      strings = EqualsIgnoreCase(c.args[++i], "string");
    } else {
      return c.reply.Error(kSyntaxError);
    }
  }
  Service::KeyPage page = c.service.ScanKeys(static_cast<size_t>(cursor), Matcher(pattern));
  if (!strings) page.keys.clear();
  c.reply.Send([&](ReplyWriter& w) {
    w.Array(2);
    w.Bulk(std::to_string(page.next_shard));
    w.Array(page.keys.size());
    for (const auto& k : page.keys) w.Bulk(k);
  });
}

void RandomKey(Call& c) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const auto key = c.service.AnyKey(random());
  c.reply.Send([&](ReplyWriter& w) { key ? w.Bulk(*key) : w.Null(); });
}

// RENAME / RENAMENX: read the source (value, tags, time left), write the destination, then
// delete the source. Three steps, not one: a concurrent writer of either key may interleave.
void RenameCommand(Call& c, bool only_new) {
  auto seen = std::make_shared<std::optional<StoredEntry>>();
  Service& service = c.service;
  const Frontend from = c.options.frontend;
  std::string source(c.args[1]), target(c.args[2]);
  service.Update(
      from, source,
      [seen](const StoredEntry* current) -> Result<EntryChange> {
        if (current != nullptr) *seen = *current;
        return EntryChange{};
      },
      [&service, from, seen, source, target, only_new, reply = c.reply](Status s) {
        if (!s.ok()) return reply.Error(ErrorText(s));
        if (!*seen) return reply.Error("ERR no such key");
        if (source == target) {
          return reply.Send([only_new](ReplyWriter& w) { only_new ? w.Integer(0) : w.Ok(); });
        }
        auto written = std::make_shared<bool>(false);
        service.Update(
            from, target,
            [seen, written, only_new](const StoredEntry* current) -> Result<EntryChange> {
              if (only_new && current != nullptr) return EntryChange{};
              *written = true;
              EntryChange change;
              change.action = Action::kWrite;
              change.value = *(*seen)->value;
              change.ttl = (*seen)->ttl_left;
              change.tags = (*seen)->tags;
              return change;
            },
            [&service, from, source, written, only_new, reply](Status s) {
              if (!s.ok()) return reply.Error(ErrorText(s));
              if (!*written) return reply.Send([](ReplyWriter& w) { w.Integer(0); });
              service.Delete(from, source, [only_new, reply](Status) {
                reply.Send([only_new](ReplyWriter& w) { only_new ? w.Integer(1) : w.Ok(); });
              });
            });
      });
}
void Rename(Call& c) { RenameCommand(c, false); }
void RenameNx(Call& c) { RenameCommand(c, true); }

void DbSize(Call& c) {
  const auto n = static_cast<int64_t>(c.service.Metrics().l1.entries);
  c.reply.Send([n](ReplyWriter& w) { w.Integer(n); });
}

// FLUSHDB / FLUSHALL [ASYNC | SYNC]: clears this server's namespace in every tier.
void Flush(Call& c) {
  if (c.args.size() > 2 ||
      (c.args.size() == 2 && !EqualsIgnoreCase(c.args[1], "ASYNC") &&
       !EqualsIgnoreCase(c.args[1], "SYNC"))) {
    return c.reply.Error(kSyntaxError);
  }
  c.service.Clear(c.options.frontend, [reply = c.reply](Result<ClearResult> cleared) {
    if (!cleared.ok()) return reply.Error(ErrorText(cleared.status()));
    reply.Ok();
  });
}

// The commands of Redis's other data types: WRONGTYPE when the key holds a value (a
// string), as Redis answers; a clear refusal otherwise, since tiercache stores strings.
void OtherType(Call& c) {
  const std::string name = Lower(c.args[0]);
  c.service.Get(c.options.frontend, c.args[1], [name, reply = c.reply](Result<Hit> hit) {
    if (hit.ok()) return reply.Error(kWrongType);
    reply.Error("ERR unsupported command '" + name +
                "': tiercache stores strings only (lists, hashes, sets and sorted sets are not "
                "kept)");
  });
}

}  // namespace

void AddKeyCommands(std::vector<CommandSpec>& table) {
  table.push_back({"del", -2, Del});
  table.push_back({"unlink", -2, Del});
  table.push_back({"exists", -2, Exists});
  table.push_back({"expire", -3, Expire});
  table.push_back({"pexpire", -3, PExpire});
  table.push_back({"expireat", -3, ExpireAt});
  table.push_back({"pexpireat", -3, PExpireAt});
  table.push_back({"ttl", 2, Ttl});
  table.push_back({"pttl", 2, PTtl});
  table.push_back({"expiretime", 2, ExpireTime});
  table.push_back({"pexpiretime", 2, PExpireTime});
  table.push_back({"persist", 2, Persist});
  table.push_back({"type", 2, Type});
  table.push_back({"keys", 2, Keys});
  table.push_back({"scan", -2, Scan});
  table.push_back({"randomkey", 1, RandomKey});
  table.push_back({"rename", 3, Rename});
  table.push_back({"renamenx", 3, RenameNx});
  table.push_back({"dbsize", 1, DbSize});
  table.push_back({"touch", -2, Touch});
  table.push_back({"flushdb", -1, Flush});
  table.push_back({"flushall", -1, Flush});
  for (std::string_view name :
       {"lpush", "rpush", "lpop", "rpop", "llen", "lrange", "lindex", "lset", "lrem", "ltrim",
        "linsert", "lpos", "hset", "hget", "hmset", "hmget", "hgetall", "hdel", "hexists",
        "hincrby", "hkeys", "hvals", "hlen", "hsetnx", "sadd", "srem", "smembers", "sismember",
        "scard", "spop", "srandmember", "zadd", "zrem", "zrange", "zscore", "zcard", "zincrby",
        "zrangebyscore", "zrank", "xadd", "xrange", "xlen", "pfadd", "pfcount"}) {
    table.push_back({name, -2, OtherType});
  }
}

}  // namespace tiercache::resp
