#include "server/resp/resp_commands.h"

#include <charconv>
#include <chrono>
#include <mutex>
#include <unordered_map>

#include "server/resp/resp_command.h"

namespace tiercache::resp {

// --- Shared rules ---------------------------------------------------------------------

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string Lower(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

bool ParseInteger(std::string_view text, int64_t& value) {
  if (text.empty() || text.size() > 20) return false;
  const std::string_view digits = text[0] == '-' ? text.substr(1) : text;
  if (digits.empty() || (digits[0] == '0' && text.size() > 1)) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string WrongArity(std::string_view command) {
  return "ERR wrong number of arguments for '" + Lower(command) + "' command";
}

std::string ErrorText(const Status& status) {
  switch (status.code()) {
    case StatusCode::kUnavailable:
      return "TRYAGAIN " + status.message();
    default:
      return "ERR " + status.message();
  }
}

int64_t UnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

bool GlobMatchAt(std::string_view p, std::string_view s, bool nocase, int depth) {
  const auto fold = [nocase](char c) {
    return nocase && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  if (depth > 1000) return false;  // a pathological pattern ends, as Redis bounds it
  size_t pi = 0, si = 0;
  while (pi < p.size()) {
    switch (p[pi]) {
      case '*': {
        while (pi + 1 < p.size() && p[pi + 1] == '*') ++pi;
        if (pi + 1 == p.size()) return true;
        for (size_t k = si; k <= s.size(); ++k) {
          if (GlobMatchAt(p.substr(pi + 1), s.substr(k), nocase, depth + 1)) return true;
        }
        return false;
      }
      case '?':
        if (si >= s.size()) return false;
        ++si;
        break;
      case '[': {
        if (si >= s.size()) return false;
        ++pi;
        const bool negate = pi < p.size() && p[pi] == '^';
        if (negate) ++pi;
        bool matched = false;
        while (pi < p.size() && p[pi] != ']') {
          if (p[pi] == '\\' && pi + 1 < p.size()) {
            ++pi;
            if (fold(p[pi]) == fold(s[si])) matched = true;
          } else if (pi + 2 < p.size() && p[pi + 1] == '-' && p[pi + 2] != ']') {
            char lo = fold(p[pi]), hi = fold(p[pi + 2]);
            if (lo > hi) std::swap(lo, hi);
            const char c = fold(s[si]);
            if (c >= lo && c <= hi) matched = true;
            pi += 2;
          } else if (fold(p[pi]) == fold(s[si])) {
            matched = true;
          }
          ++pi;
        }
        if (negate) matched = !matched;
        if (!matched) return false;
        ++si;
        break;
      }
      case '\\':
        if (pi + 1 < p.size()) ++pi;
        [[fallthrough]];
      default:
        if (si >= s.size() || fold(p[pi]) != fold(s[si])) return false;
        ++si;
        break;
    }
    ++pi;
  }
  return si == s.size();
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text, bool nocase) {
  return GlobMatchAt(pattern, text, nocase, 0);
}

// --- The table ------------------------------------------------------------------------

class Commands {
 public:
  Commands() {
    std::vector<CommandSpec> table;
    AddStringCommands(table);
    AddKeyCommands(table);
    AddServerCommands(table);
    AddTiercacheCommands(table);
    AddTransactionCommands(table);
    // Names are literals: views of them stay valid.
    for (const auto& spec : table) by_name_.emplace(spec.name, spec);
  }

  const CommandSpec* Find(std::string_view name) const {
    // Names are short: fold into a stack buffer rather than allocate.
    char folded[32];
    if (name.size() > sizeof folded) return nullptr;
    for (size_t i = 0; i < name.size(); ++i) {
      const char c = name[i];
      folded[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    auto it = by_name_.find(std::string_view(folded, name.size()));
    return it == by_name_.end() ? nullptr : &it->second;
  }

  size_t size() const { return by_name_.size(); }
  const std::unordered_map<std::string_view, CommandSpec>& all() const {
    return by_name_;
  }

 private:
  std::unordered_map<std::string_view, CommandSpec> by_name_;
};

namespace {

const Commands& Table() {
  static const Commands commands;
  return commands;
}

std::string UnknownCommand(const Args& args) {
  std::string text = "ERR unknown command '" + std::string(args[0]) +
                     "', with args beginning with: ";
  for (size_t i = 1; i < args.size() && text.size() < 256; ++i) {
    text += "'" + std::string(args[i].substr(0, 64)) + "' ";
  }
  return text;
}

// Whether `spec` accepts `n` arguments.
bool ArityFits(const CommandSpec& spec, size_t n) {
  return spec.arity > 0 ? n == static_cast<size_t>(spec.arity)
                        : n >= static_cast<size_t>(-spec.arity);
}

}  // namespace

Dispatcher::Dispatcher(Service& service, CommandOptions options)
    : options_(std::move(options)), service_(service) {}

Dispatcher::~Dispatcher() = default;

void Dispatcher::Execute(Session& session, const std::vector<std::string_view>& args,
                         ReplySlot reply) {
  const CommandSpec* spec = Table().Find(args[0]);
  if (spec == nullptr) {
    if (session.in_multi) session.multi_refused = true;
    return reply.Error(UnknownCommand(args));
  }
  if (!ArityFits(*spec, args.size())) {
    if (session.in_multi) session.multi_refused = true;
    return reply.Error(WrongArity(spec->name));
  }
  if (session.in_multi && !spec->transaction_control) {
    session.queued.emplace_back(args.begin(), args.end());
    return reply.Send([](ReplyWriter& w) { w.Simple("QUEUED"); });
  }
  Call call{service_, options_, session, args, std::move(reply)};
  spec->handler(call);
}

// --- Transactions -----------------------------------------------------------------------

namespace {

// Gathers the replies of an EXEC's requests, in order, into one array.
class ExecReplies final : public ReplySink {
 public:
  ExecReplies(size_t count, ReplySlot outer)
      : replies_(count), left_(count), outer_(std::move(outer)) {}

  void Deliver(uint64_t seq, std::string reply) override {
    bool last = false;
    {
      std::lock_guard lock(mu_);
      replies_[seq] = std::move(reply);
      last = --left_ == 0;
    }
    if (!last) return;
    outer_.Send([&](ReplyWriter& w) {
      w.Array(replies_.size());
      for (const auto& r : replies_) w.Raw(r);
    });
  }

 private:
  std::mutex mu_;
  std::vector<std::string> replies_;
  size_t left_;
  ReplySlot outer_;
};

// Runs the queued requests of one EXEC.
void RunQueued(Service& service, const CommandOptions& options, Session scratch,
               std::vector<std::vector<std::string>> queued, ReplySlot reply) {
  if (queued.empty()) return reply.Send([](ReplyWriter& w) { w.Array(0); });
  auto sink = std::make_shared<ExecReplies>(queued.size(), reply);
  for (size_t i = 0; i < queued.size(); ++i) {
    const Args args(queued[i].begin(), queued[i].end());
    const CommandSpec* spec = Table().Find(args[0]);
    Call call{service, options, scratch, args, ReplySlot(sink, i, reply.protocol())};
    spec->handler(call);
  }
}

void Multi(Call& c) {
  if (c.session.in_multi) return c.reply.Error("ERR MULTI calls can not be nested");
  c.session.in_multi = true;
  c.session.multi_refused = false;
  c.session.queued.clear();
  c.reply.Ok();
}

void Discard(Call& c) {
  if (!c.session.in_multi) return c.reply.Error("ERR DISCARD without MULTI");
  c.session.in_multi = false;
  c.session.queued.clear();
  c.session.watched = std::make_shared<Session::WatchList>();
  c.reply.Ok();
}

void Exec(Call& c) {
  Session& s = c.session;
  if (!s.in_multi) return c.reply.Error("ERR EXEC without MULTI");
  s.in_multi = false;
  auto queued = std::move(s.queued);
  s.queued.clear();
  std::vector<std::pair<std::string, std::optional<std::string>>> watched;
  bool unsettled = false;
  {
    std::lock_guard lock(s.watched->mu);
    watched = std::move(s.watched->keys);
    unsettled = s.watched->reading > 0;
  }
  s.watched = std::make_shared<Session::WatchList>();
  if (s.multi_refused) {
    return c.reply.Error("EXECABORT Transaction discarded because of previous errors.");
  }
  // A WATCH whose reads have not answered yet saw nothing to compare with: abort, as for
  // a change (the client retries).
  if (unsettled) return c.reply.Send([](ReplyWriter& w) { w.NullArray(); });
  // The requests run against a copy of the session: with lower tiers, the watch check may
  // end on a tier's thread, which must not touch the connection's own state.
  Session scratch;
  scratch.id = s.id;
  scratch.protocol = s.protocol;
  if (watched.empty()) {
    return RunQueued(c.service, c.options, std::move(scratch), std::move(queued),
                     std::move(c.reply));
  }
  // WATCH: every watched key must still hold what it held then.
  struct Check {
    std::mutex mu;
    size_t left;
    bool changed = false;
    std::vector<std::vector<std::string>> queued;
    Session scratch;
  };
  auto check = std::make_shared<Check>();
  check->left = watched.size();
  check->queued = std::move(queued);
  check->scratch = std::move(scratch);
  Service& service = c.service;
  const CommandOptions& options = c.options;
  ReplySlot reply = c.reply;
  for (auto& [key, seen] : watched) {
    service.Get(options.frontend, key,
                [&service, &options, check, reply, seen = std::move(seen)](Result<Hit> hit) {
                  const bool same =
                      hit.ok() ? seen && *seen == *hit->value
                               : !seen && hit.status().code() == StatusCode::kNotFound;
                  bool last = false;
                  {
                    std::lock_guard lock(check->mu);
                    if (!same) check->changed = true;
                    last = --check->left == 0;
                  }
                  if (!last) return;
                  if (check->changed) return reply.Send([](ReplyWriter& w) { w.NullArray(); });
                  RunQueued(service, options, std::move(check->scratch), std::move(check->queued),
                            reply);
                });
  }
}

void Watch(Call& c) {
  if (c.session.in_multi) return c.reply.Error("ERR WATCH inside MULTI is not allowed");
  auto list = c.session.watched;
  size_t first = 0;
  {
    std::lock_guard lock(list->mu);
    first = list->keys.size();
    for (size_t i = 1; i < c.args.size(); ++i) list->keys.emplace_back(std::string(c.args[i]), std::nullopt);
    list->reading += c.args.size() - 1;
  }
  struct Pending {
    std::atomic<size_t> left;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = c.args.size() - 1;
  ReplySlot reply = c.reply;
  for (size_t i = 1; i < c.args.size(); ++i) {
    c.service.Get(c.options.frontend, c.args[i],
                  [list, index = first + i - 1, pending, reply](Result<Hit> hit) {
                    {
                      std::lock_guard lock(list->mu);
                      if (hit.ok() && index < list->keys.size()) {
                        list->keys[index].second = *hit->value;
                      }
                      --list->reading;
                    }
                    if (pending->left.fetch_sub(1, std::memory_order_acq_rel) == 1) reply.Ok();
                  });
  }
}

void Unwatch(Call& c) {
  c.session.watched = std::make_shared<Session::WatchList>();
  c.reply.Ok();
}

}  // namespace

void AddTransactionCommands(std::vector<CommandSpec>& table) {
  table.push_back({"multi", 1, Multi, true});
  table.push_back({"exec", 1, Exec, true});
  table.push_back({"discard", 1, Discard, true});
  table.push_back({"watch", -2, Watch, true});
  table.push_back({"unwatch", 1, Unwatch, false});
}

size_t CommandCount() { return Table().size(); }

std::vector<CommandSpec> AllCommands() {
  std::vector<CommandSpec> specs;
  for (const auto& [name, spec] : Table().all()) specs.push_back(spec);
  return specs;
}

}  // namespace tiercache::resp
