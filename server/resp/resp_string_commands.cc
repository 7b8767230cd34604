// The string commands: GET, SET and the read-modify-write family.

#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "server/resp/resp_command.h"

namespace tiercache::resp {

namespace {

using Action = EntryChange::Action;

Duration Millis(int64_t ms) { return std::chrono::milliseconds(ms); }

// The reply a read gives: the value, nil on a miss, an error otherwise.
void ReplyValue(const ReplySlot& reply, const Result<Hit>& hit) {
  if (hit.ok()) return reply.Send([&](ReplyWriter& w) { w.Bulk(*hit->value); });
  if (hit.status().code() == StatusCode::kNotFound) {
    return reply.Send([](ReplyWriter& w) { w.Null(); });
  }
  reply.Error(ErrorText(hit.status()));
}

void Get(Call& c) {
  // An L1 answer is written at once; only a read through the lower tiers takes the slot.
  std::optional<Result<Hit>> now = c.service.GetOrDefer(c.options.frontend, c.args[1], [&c] {
    return Callback<Result<Hit>>(
        [reply = std::move(c.reply)](Result<Hit> hit) { ReplyValue(reply, hit); });
  });
  if (now) ReplyValue(c.reply, *now);
}

// Runs `decide` as an update of `key`, then answers with what `answer` writes; the
// state both share is `State`, made fresh per request.
template <class State, class Decide, class Answer>
void UpdateThen(Call& c, std::string_view key, std::shared_ptr<State> state, Decide decide,
                Answer answer) {
  c.service.Update(
      c.options.frontend, std::string(key),
      [state, decide = std::move(decide)](const StoredEntry* current) {
        return decide(*state, current);
      },
      [state, reply = c.reply, answer = std::move(answer)](Status s) {
        if (!s.ok()) return reply.Error(ErrorText(s));
        reply.Send([&](ReplyWriter& w) { answer(*state, w); });
      });
}

EntryChange Write(std::string value, std::optional<Duration> ttl = std::nullopt,
                  std::optional<std::vector<std::string>> tags = std::nullopt) {
  EntryChange change;
  change.action = Action::kWrite;
  change.value = std::move(value);
  change.ttl = ttl;
  change.tags = std::move(tags);
  return change;
}

EntryChange Keep() { return EntryChange{}; }

EntryChange Remove() {
  EntryChange change;
  change.action = Action::kDelete;
  return change;
}

// An expiry option of SET and GETEX: EX / PX / EXAT / PXAT and their number, as a time
// left in milliseconds (0 or less: already expired).
struct Expiry {
  std::optional<int64_t> ms_left;
  bool keep_ttl = false;
  bool persist = false;
};

// Reads expiry option `args[i]` (and its number); false if `args[i]` is none. `error` is
// set on a bad number.
bool ParseExpiry(const Args& args, size_t& i, Expiry& expiry, std::string& error,
                 std::string_view command) {
  const std::string_view opt = args[i];
  int unit = 0;  // 1 relative seconds, 2 relative ms, 3 absolute s, 4 absolute ms
  if (EqualsIgnoreCase(opt, "EX")) unit = 1;
  else if (EqualsIgnoreCase(opt, "PX")) unit = 2;
  else if (EqualsIgnoreCase(opt, "EXAT")) unit = 3;
  else if (EqualsIgnoreCase(opt, "PXAT")) unit = 4;
  else return false;
  if (expiry.ms_left || expiry.keep_ttl || expiry.persist || i + 1 >= args.size()) {
    error = std::string(kSyntaxError);
    return true;
  }
  int64_t n = 0;
  if (!ParseInteger(args[++i], n)) {
    error = std::string(kNotInteger);
    return true;
  }
  // Redis refuses a non-positive time, and one too large for milliseconds.
  const int64_t per_unit = unit == 1 || unit == 3 ? 1000 : 1;
  if (n <= 0 || n > kMaxExpireMillis / per_unit) {
    error = "ERR invalid expire time in '" + std::string(command) + "' command";
    return true;
  }
  switch (unit) {
    case 1: expiry.ms_left = n * 1000; break;
    case 2: expiry.ms_left = n; break;
    case 3: expiry.ms_left = n * 1000 - UnixMillis(); break;
    default: expiry.ms_left = n - UnixMillis(); break;
  }
  return true;
}

void AnswerSet(const ReplySlot& reply, const Status& s) {
  if (!s.ok()) return reply.Error(ErrorText(s));
  reply.Ok();
}

// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT t | PXAT t | KEEPTTL] [TAGS tag ...]
void Set(Call& c) {
  bool nx = false, xx = false, get = false;
  Expiry expiry;
  std::optional<std::vector<std::string>> tags;
  for (size_t i = 3; i < c.args.size(); ++i) {
    std::string error;
    const std::string_view opt = c.args[i];
    if (ParseExpiry(c.args, i, expiry, error, "set")) {
      if (!error.empty()) return c.reply.Error(error);
    } else if (EqualsIgnoreCase(opt, "NX") && !xx) {
      nx = true;
    } else if (EqualsIgnoreCase(opt, "XX") && !nx) {
      xx = true;
    } else if (EqualsIgnoreCase(opt, "GET")) {
      get = true;
    } else if (EqualsIgnoreCase(opt, "KEEPTTL") && !expiry.ms_left) {
      expiry.keep_ttl = true;
    } else if (EqualsIgnoreCase(opt, "TAGS") && !tags) {
      // tiercache's own: every argument after TAGS is a tag.
      tags.emplace(c.args.begin() + static_cast<std::ptrdiff_t>(i) + 1, c.args.end());
      break;
    } else {
      return c.reply.Error(kSyntaxError);
    }
  }
  const bool expired = expiry.ms_left && *expiry.ms_left <= 0;
  if (!nx && !xx && !get && !expiry.keep_ttl && !expired) {
    // The plain write: no read first.
    SetRequest request;
    request.key.assign(c.args[1]);
    request.value.assign(c.args[2]);
    if (expiry.ms_left) request.ttl = Millis(*expiry.ms_left);
    if (tags) request.tags = std::move(*tags);
    std::optional<Status> now =
        c.service.SetOrDefer(c.options.frontend, std::move(request), [&c] {
          return Callback<Status>(
              [reply = std::move(c.reply)](Status s) { AnswerSet(reply, s); });
        });
    if (now) AnswerSet(c.reply, *now);
    return;
  }
  struct State {
    std::optional<std::string> old;
    bool written = false;
  };
  const Duration default_ttl = c.options.default_timeout;
  UpdateThen(
      c, c.args[1], std::make_shared<State>(),
      [nx, xx, get, expiry, expired, default_ttl, value = std::string(c.args[2]),
       tags = tags.value_or(std::vector<std::string>{})](
          State& st, const StoredEntry* current) -> Result<EntryChange> {
        if (get && current != nullptr) st.old = *current->value;
        if ((nx && current != nullptr) || (xx && current == nullptr)) return Keep();
        st.written = true;
        // A time already past stores nothing and removes what was there, as Redis does.
        if (expired) return Remove();
        std::optional<Duration> ttl = default_ttl;
        if (expiry.ms_left) ttl = Millis(*expiry.ms_left);
        if (expiry.keep_ttl) ttl = std::nullopt;
        return Write(value, ttl, tags);
      },
      [get](const State& st, ReplyWriter& w) {
        if (get) return st.old ? w.Bulk(*st.old) : w.Null();
        if (!st.written) return w.Null();
        w.Ok();
      });
}

// SETEX key seconds value / PSETEX key milliseconds value
void SetWithExpiry(Call& c, int64_t unit_ms, std::string_view command) {
  int64_t n = 0;
  if (!ParseInteger(c.args[2], n)) return c.reply.Error(kNotInteger);
  if (n <= 0 || n > kMaxExpireMillis / unit_ms) {
    return c.reply.Error("ERR invalid expire time in '" + std::string(command) + "' command");
  }
  SetRequest request;
  request.key.assign(c.args[1]);
  request.value.assign(c.args[3]);
  request.ttl = Millis(n * unit_ms);
  c.service.Set(c.options.frontend, std::move(request), [reply = c.reply](Status s) {
    if (!s.ok()) return reply.Error(ErrorText(s));
    reply.Ok();
  });
}
void SetEx(Call& c) { SetWithExpiry(c, 1000, "setex"); }
void PSetEx(Call& c) { SetWithExpiry(c, 1, "psetex"); }

struct Flag {
  bool done = false;
};

void SetNx(Call& c) {
  const Duration ttl = c.options.default_timeout;
  UpdateThen(
      c, c.args[1], std::make_shared<Flag>(),
      [ttl, value = std::string(c.args[2])](Flag& f, const StoredEntry* current)
          -> Result<EntryChange> {
        if (current != nullptr) return Keep();
        f.done = true;
        return Write(value, ttl, std::vector<std::string>{});
      },
      [](const Flag& f, ReplyWriter& w) { w.Integer(f.done ? 1 : 0); });
}

struct OldValue {
  std::optional<std::string> old;
};

void AnswerOld(const OldValue& st, ReplyWriter& w) { st.old ? w.Bulk(*st.old) : w.Null(); }

void GetSet(Call& c) {
  const Duration ttl = c.options.default_timeout;
  UpdateThen(
      c, c.args[1], std::make_shared<OldValue>(),
      [ttl, value = std::string(c.args[2])](OldValue& st, const StoredEntry* current)
          -> Result<EntryChange> {
        if (current != nullptr) st.old = *current->value;
        return Write(value, ttl, std::vector<std::string>{});
      },
      AnswerOld);
}

void GetDel(Call& c) {
  UpdateThen(
      c, c.args[1], std::make_shared<OldValue>(),
      [](OldValue& st, const StoredEntry* current) -> Result<EntryChange> {
        if (current == nullptr) return Keep();
        st.old = *current->value;
        return Remove();
      },
      AnswerOld);
}

// GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST]
void GetEx(Call& c) {
  Expiry expiry;
  for (size_t i = 2; i < c.args.size(); ++i) {
    std::string error;
    if (ParseExpiry(c.args, i, expiry, error, "getex")) {
      if (!error.empty()) return c.reply.Error(error);
    } else if (EqualsIgnoreCase(c.args[i], "PERSIST") && !expiry.ms_left && !expiry.persist) {
      expiry.persist = true;
    } else {
      return c.reply.Error(kSyntaxError);
    }
  }
  if (!expiry.ms_left && !expiry.persist) return Get(c);
  const Duration max_ttl = c.options.max_timeout;
  UpdateThen(
      c, c.args[1], std::make_shared<OldValue>(),
      [expiry, max_ttl](OldValue& st, const StoredEntry* current) -> Result<EntryChange> {
        if (current == nullptr) return Keep();
        st.old = *current->value;
        if (expiry.ms_left && *expiry.ms_left <= 0) return Remove();
        return Write(std::string(*current->value), expiry.persist ? max_ttl : Millis(*expiry.ms_left));
      },
      AnswerOld);
}

// Reads several keys and answers when all have: MGET, EXISTS, TOUCH.
struct Gather {
  explicit Gather(size_t n) : hits(n), left(n) {}
  std::mutex mu;
  std::vector<SharedBytes> hits;  // null: missing
  size_t left;
  std::string error;
};

template <class Answer>
void ReadAll(Call& c, size_t first, Answer answer) {
  const size_t n = c.args.size() - first;
  auto gather = std::make_shared<Gather>(n);
  for (size_t i = 0; i < n; ++i) {
    c.service.Get(c.options.frontend, c.args[first + i],
                  [gather, i, reply = c.reply, answer](Result<Hit> hit) {
                    bool last = false;
                    {
                      std::lock_guard lock(gather->mu);
                      if (hit.ok()) {
                        gather->hits[i] = hit->value;
                      } else if (hit.status().code() != StatusCode::kNotFound &&
                                 gather->error.empty()) {
                        gather->error = ErrorText(hit.status());
                      }
                      last = --gather->left == 0;
                    }
                    if (!last) return;
                    if (!gather->error.empty()) return reply.Error(gather->error);
                    reply.Send([&](ReplyWriter& w) { answer(*gather, w); });
                  });
  }
}

void MGet(Call& c) {
  ReadAll(c, 1, [](const Gather& g, ReplyWriter& w) {
    w.Array(g.hits.size());
    for (const auto& v : g.hits) v ? w.Bulk(*v) : w.Null();
  });
}

void StrLen(Call& c) {
  c.service.Get(c.options.frontend, c.args[1], [reply = c.reply](Result<Hit> hit) {
    if (!hit.ok() && hit.status().code() != StatusCode::kNotFound) {
      return reply.Error(ErrorText(hit.status()));
    }
    const int64_t n = hit.ok() ? static_cast<int64_t>(hit->value->size()) : 0;
    reply.Send([n](ReplyWriter& w) { w.Integer(n); });
  });
}

std::vector<SetRequest> PairsToRequests(const Args& args, Duration ttl) {
  std::vector<SetRequest> entries;
  entries.reserve((args.size() - 1) / 2);
  for (size_t i = 1; i + 1 < args.size(); i += 2) {
    SetRequest r;
    r.key.assign(args[i]);
    r.value.assign(args[i + 1]);
    r.ttl = ttl;
    entries.push_back(std::move(r));
  }
  return entries;
}

// MSET key value [key value ...]: every pair is checked before any is written.
void MSet(Call& c) {
  if (c.args.size() % 2 == 0) return c.reply.Error(WrongArity("mset"));
  c.service.BulkLoad(c.options.frontend, PairsToRequests(c.args, c.options.default_timeout),
                     [reply = c.reply](Result<uint64_t> stored) {
                       if (!stored.ok()) return reply.Error(ErrorText(stored.status()));
                       reply.Ok();
                     });
}

// MSETNX: writes every pair if no key exists. The check and the writes are two steps: a
// key written by someone else between them is overwritten (documented).
void MSetNx(Call& c) {
  if (c.args.size() % 2 == 0) return c.reply.Error(WrongArity("msetnx"));
  auto entries = std::make_shared<std::vector<SetRequest>>(
      PairsToRequests(c.args, c.options.default_timeout));
  const size_t n = entries->size();
  auto gather = std::make_shared<Gather>(n);
  Service& service = c.service;
  const Frontend from = c.options.frontend;
  // Keys from the request's arguments, not from `entries`: the last answer moves those
  // away, possibly on a tier's thread while this loop still runs.
  for (size_t i = 0; i < n; ++i) {
    service.Get(from, c.args[1 + 2 * i],
                [gather, i, entries, &service, from, reply = c.reply](Result<Hit> hit) {
                  bool last = false;
                  {
                    std::lock_guard lock(gather->mu);
                    if (hit.ok()) gather->hits[i] = hit->value;
                    else if (hit.status().code() != StatusCode::kNotFound && gather->error.empty())
                      gather->error = ErrorText(hit.status());
                    last = --gather->left == 0;
                  }
                  if (!last) return;
                  if (!gather->error.empty()) return reply.Error(gather->error);
                  for (const auto& h : gather->hits) {
                    if (h) return reply.Send([](ReplyWriter& w) { w.Integer(0); });
                  }
                  service.BulkLoad(from, std::move(*entries), [reply](Result<uint64_t> stored) {
                    if (!stored.ok()) return reply.Error(ErrorText(stored.status()));
                    reply.Send([](ReplyWriter& w) { w.Integer(1); });
                  });
                });
  }
}

struct Length {
  int64_t n = 0;
};

void AnswerLength(const Length& st, ReplyWriter& w) { w.Integer(st.n); }

void Append(Call& c) {
  const Duration ttl = c.options.default_timeout;
  UpdateThen(
      c, c.args[1], std::make_shared<Length>(),
      [ttl, tail = std::string(c.args[2])](Length& st, const StoredEntry* current)
          -> Result<EntryChange> {
        std::string value = current != nullptr ? std::string(*current->value) + tail : tail;
        st.n = static_cast<int64_t>(value.size());
        if (current == nullptr) return Write(std::move(value), ttl, std::vector<std::string>{});
        return Write(std::move(value));
      },
      AnswerLength);
}

void IncrementBy(Call& c, int64_t delta) {
  c.service.Increment(c.options.frontend, std::string(c.args[1]), delta,
                      [reply = c.reply](Result<int64_t> value) {
                        if (!value.ok()) return reply.Error(ErrorText(value.status()));
                        reply.Send([n = *value](ReplyWriter& w) { w.Integer(n); });
                      });
}

void Incr(Call& c) { IncrementBy(c, 1); }
void Decr(Call& c) { IncrementBy(c, -1); }
void IncrBy(Call& c) {
  int64_t delta = 0;
  if (!ParseInteger(c.args[2], delta)) return c.reply.Error(kNotInteger);
  IncrementBy(c, delta);
}
void DecrBy(Call& c) {
  int64_t delta = 0;
  if (!ParseInteger(c.args[2], delta)) return c.reply.Error(kNotInteger);
  if (delta == INT64_MIN) return c.reply.Error("ERR decrement would overflow");
  IncrementBy(c, -delta);
}

// A float as Redis reads one for INCRBYFLOAT: the whole text, finite.
bool ParseFloat(std::string_view text, long double& value) {
  if (text.empty() || text.size() > 5000 || std::isspace(static_cast<unsigned char>(text[0]))) {
    return false;
  }
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  value = std::strtold(s.c_str(), &end);
  return end == s.c_str() + s.size() && errno != ERANGE && !std::isnan(value) &&
         !std::isinf(value);
}

void IncrByFloat(Call& c) {
  long double delta = 0;
  if (!ParseFloat(c.args[2], delta)) return c.reply.Error("ERR value is not a valid float");
  struct State {
    std::string text;
  };
  const Duration ttl = c.options.default_timeout;
  UpdateThen(
      c, c.args[1], std::make_shared<State>(),
      [delta, ttl](State& st, const StoredEntry* current) -> Result<EntryChange> {
        long double value = 0;
        if (current != nullptr && !ParseFloat(*current->value, value)) {
          return Status::InvalidArgument("value is not a valid float");
        }
        value += delta;
        if (std::isnan(value) || std::isinf(value)) {
          return Status::InvalidArgument("increment would produce NaN or Infinity");
        }
        st.text = FormatDouble(value);
        if (current == nullptr) return Write(st.text, ttl, std::vector<std::string>{});
        return Write(st.text);
      },
      [](const State& st, ReplyWriter& w) { w.Bulk(st.text); });
}

// GETRANGE key start end, with Redis's negative indexes from the end.
void GetRange(Call& c) {
  int64_t start = 0, end = 0;
  if (!ParseInteger(c.args[2], start) || !ParseInteger(c.args[3], end)) {
    return c.reply.Error(kNotInteger);
  }
  c.service.Get(c.options.frontend, c.args[1], [start, end, reply = c.reply](Result<Hit> hit) {
    if (!hit.ok() && hit.status().code() != StatusCode::kNotFound) {
      return reply.Error(ErrorText(hit.status()));
    }
    const std::string_view value = hit.ok() ? std::string_view(*hit->value) : std::string_view();
    const auto len = static_cast<int64_t>(value.size());
    int64_t from = start < 0 ? len + start : start;
    int64_t to = end < 0 ? len + end : end;
    if (from < 0) from = 0;
    if (to < 0) to = 0;
    if (to >= len) to = len - 1;
    std::string_view part;
    if (len > 0 && from <= to && !(start < 0 && end < 0 && start > end)) {
      part = value.substr(static_cast<size_t>(from), static_cast<size_t>(to - from + 1));
    }
    reply.Send([part](ReplyWriter& w) { w.Bulk(part); });
  });
}

// SETRANGE key offset value: pads with zero bytes; the result is bounded by the value limit.
void SetRange(Call& c) {
  int64_t offset = 0;
  if (!ParseInteger(c.args[2], offset)) return c.reply.Error(kNotInteger);
  if (offset < 0) return c.reply.Error("ERR offset is out of range");
  const std::string_view part = c.args[3];
  if (static_cast<uint64_t>(offset) + part.size() > c.options.limits.max_value_bytes) {
    return c.reply.Error("ERR string exceeds maximum allowed size (limits.max_value_bytes)");
  }
  const Duration ttl = c.options.default_timeout;
  UpdateThen(
      c, c.args[1], std::make_shared<Length>(),
      [ttl, offset, part = std::string(part)](Length& st, const StoredEntry* current)
          -> Result<EntryChange> {
        std::string value = current != nullptr ? std::string(*current->value) : std::string();
        if (part.empty()) {
          st.n = static_cast<int64_t>(value.size());
          return Keep();
        }
        const auto at = static_cast<size_t>(offset);
        if (value.size() < at + part.size()) value.resize(at + part.size(), '\0');
        value.replace(at, part.size(), part);
        st.n = static_cast<int64_t>(value.size());
        if (current == nullptr) return Write(std::move(value), ttl, std::vector<std::string>{});
        return Write(std::move(value));
      },
      AnswerLength);
}

}  // namespace

void AddStringCommands(std::vector<CommandSpec>& table) {
  table.push_back({"get", 2, Get});
  table.push_back({"set", -3, Set});
  table.push_back({"setex", 4, SetEx});
  table.push_back({"psetex", 4, PSetEx});
  table.push_back({"setnx", 3, SetNx});
  table.push_back({"getset", 3, GetSet});
  table.push_back({"getdel", 2, GetDel});
  table.push_back({"getex", -2, GetEx});
  table.push_back({"mget", -2, MGet});
  table.push_back({"mset", -3, MSet});
  table.push_back({"msetnx", -3, MSetNx});
  table.push_back({"append", 3, Append});
  table.push_back({"strlen", 2, StrLen});
  table.push_back({"incr", 2, Incr});
  table.push_back({"decr", 2, Decr});
  table.push_back({"incrby", 3, IncrBy});
  table.push_back({"decrby", 3, DecrBy});
  table.push_back({"incrbyfloat", 3, IncrByFloat});
  table.push_back({"getrange", 4, GetRange});
  table.push_back({"substr", 4, GetRange});
  table.push_back({"setrange", 4, SetRange});
}

}  // namespace tiercache::resp
