// Connection and server commands: PING, HELLO, CLIENT, INFO, CONFIG, COMMAND and the
// refusals (scripting, AUTH without tokens).

#include <unistd.h>

#include <chrono>

#include "core/histogram_quantile.h"
#include "server/resp/resp_command.h"

namespace tiercache::resp {

namespace {

// The Redis version tiercache answers as: the command set and replies follow Redis 7.0.
constexpr std::string_view kRedisVersion = "7.0.0";

void Ping(Call& c) {
  if (c.args.size() > 2) return c.reply.Error(WrongArity("ping"));
  if (c.args.size() == 2) {
    return c.reply.Send([msg = c.args[1]](ReplyWriter& w) { w.Bulk(msg); });
  }
  c.reply.Send([](ReplyWriter& w) { w.Simple("PONG"); });
}

void Echo(Call& c) {
  c.reply.Send([msg = c.args[1]](ReplyWriter& w) { w.Bulk(msg); });
}

void Quit(Call& c) {
  c.session.quit = true;
  c.reply.Ok();
}

void Reset(Call& c) {
  Session& s = c.session;
  s.protocol = Protocol::kResp2;
  s.name.clear();
  s.in_multi = false;
  s.multi_refused = false;
  s.queued.clear();
  s.watched = std::make_shared<Session::WatchList>();
  // Encoded here: the slot was made for the protocol in force before the reset.
  c.reply.Send([](ReplyWriter& w) { w.Raw("+RESET\r\n"); });
}

void Select(Call& c) {
  int64_t db = 0;
  if (!ParseInteger(c.args[1], db)) return c.reply.Error(kNotInteger);
  if (db != 0) return c.reply.Error("ERR DB index is out of range");
  c.reply.Ok();
}

void Auth(Call& c) {
  c.reply.Error(
      "ERR AUTH <password> called without any password configured for the default user. Are "
      "you sure your configuration is correct?");
}

bool ValidClientName(std::string_view name) {
  for (char ch : name) {
    if (ch < '!' || ch > '~') return false;
  }
  return true;
}

void WriteHello(const Call& c, Protocol protocol, ReplyWriter& w) {
  w.Map(7);
  w.Bulk("server");
  w.Bulk("redis");
  w.Bulk("version");
  w.Bulk(kRedisVersion);
  w.Bulk("proto");
  w.Integer(static_cast<int>(protocol));
  w.Bulk("id");
  w.Integer(static_cast<int64_t>(c.session.id));
  w.Bulk("mode");
  w.Bulk("standalone");
  w.Bulk("role");
  w.Bulk("master");
  w.Bulk("modules");
  w.Array(0);
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
void Hello(Call& c) {
  Protocol protocol = c.session.protocol;
  size_t i = 1;
  if (c.args.size() > 1) {
    int64_t version = 0;
    if (!ParseInteger(c.args[1], version)) {
      return c.reply.Error("ERR Protocol version is not an integer or out of range");
    }
    if (version != 2 && version != 3) return c.reply.Error("NOPROTO unsupported protocol version");
    protocol = static_cast<Protocol>(version);
    i = 2;
  }
  std::optional<std::string> name;
  for (; i < c.args.size(); ++i) {
    if (EqualsIgnoreCase(c.args[i], "AUTH") && i + 2 < c.args.size()) {
      return Auth(c);
    } else if (EqualsIgnoreCase(c.args[i], "SETNAME") && i + 1 < c.args.size()) {
      name.emplace(c.args[++i]);
      if (!ValidClientName(*name)) {
        return c.reply.Error(
            "ERR Client names cannot contain spaces, newlines or special characters.");
      }
    } else {
      return c.reply.Error("ERR Syntax error in HELLO option '" + std::string(c.args[i]) + "'");
    }
  }
  c.session.protocol = protocol;
  if (name) c.session.name = *name;
  // The reply is in the protocol just chosen, whatever the slot was made for.
  std::string bytes;
  ReplyWriter writer(bytes, protocol);
  WriteHello(c, protocol, writer);
  c.reply.Send([&](ReplyWriter& w) { w.Raw(bytes); });
}

std::string ClientLine(const Call& c) {
  return "id=" + std::to_string(c.session.id) + " name=" + c.session.name +
         " db=0 resp=" + std::to_string(static_cast<int>(c.session.protocol)) +
         " lib-name=" + c.session.lib_name + " lib-ver=" + c.session.lib_version +
         " multi=" + (c.session.in_multi ? std::to_string(c.session.queued.size()) : "-1") + "\n";
}

void Client(Call& c) {
  const std::string_view sub = c.args[1];
  if (EqualsIgnoreCase(sub, "SETNAME") && c.args.size() == 3) {
    if (!ValidClientName(c.args[2])) {
      return c.reply.Error("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    c.session.name.assign(c.args[2]);
    return c.reply.Ok();
  }
  if (EqualsIgnoreCase(sub, "GETNAME") && c.args.size() == 2) {
    return c.reply.Send([&](ReplyWriter& w) {
      c.session.name.empty() ? w.Null() : w.Bulk(c.session.name);
    });
  }
  if (EqualsIgnoreCase(sub, "ID") && c.args.size() == 2) {
    return c.reply.Send([&](ReplyWriter& w) { w.Integer(static_cast<int64_t>(c.session.id)); });
  }
  if (EqualsIgnoreCase(sub, "SETINFO") && c.args.size() == 4) {
    if (EqualsIgnoreCase(c.args[2], "LIB-NAME")) {
      c.session.lib_name.assign(c.args[3]);
    } else if (EqualsIgnoreCase(c.args[2], "LIB-VER")) {
      c.session.lib_version.assign(c.args[3]);
    } else {
      return c.reply.Error("ERR Unrecognized option '" + std::string(c.args[2]) + "'");
    }
    return c.reply.Ok();
  }
  if ((EqualsIgnoreCase(sub, "INFO") && c.args.size() == 2) ||
      (EqualsIgnoreCase(sub, "LIST") && c.args.size() == 2)) {
    return c.reply.Send([line = ClientLine(c)](ReplyWriter& w) { w.Bulk(line); });
  }
  c.reply.Error("ERR unknown subcommand or wrong number of arguments for '" +
                std::string(sub) + "'. Try CLIENT HELP.");
}

// INFO [section ...]: Redis's sections and field names, with tiercache's figures.
void Info(Call& c) {
  std::vector<std::string> wanted;
  for (size_t i = 1; i < c.args.size(); ++i) wanted.push_back(Lower(c.args[i]));
  const auto want = [&](std::string_view section) {
    if (wanted.empty()) return true;
    for (const auto& w : wanted) {
      if (w == section || w == "all" || w == "everything" || w == "default") return true;
    }
    return false;
  };
  const MetricsSnapshot m = c.service.Metrics();
  std::string text;
  const auto field = [&](std::string_view name, const std::string& value) {
    text.append(name).append(":").append(value).append("\r\n");
  };
  const auto section = [&](std::string_view title) {
    if (!text.empty()) text.append("\r\n");
    text.append("# ").append(title).append("\r\n");
  };
  const auto uptime = static_cast<int64_t>(ToSeconds(m.uptime));
  if (want("server")) {
    section("Server");
    field("redis_version", std::string(kRedisVersion));
    field("redis_mode", "standalone");
    field("tiercache_version", c.options.version);
    field("os", "Linux");
    field("multiplexing_api", "epoll");
    field("process_id", std::to_string(::getpid()));
    field("tcp_port", std::to_string(c.options.port));
    field("uptime_in_seconds", std::to_string(uptime));
    field("uptime_in_days", std::to_string(uptime / 86400));
    field("io_threads_active", std::to_string(c.options.io_threads));
  }
  uint64_t open = 0, rejected = 0, accepted = 0;
  for (const auto& conn : m.connections) {
    if (conn.frontend == c.options.frontend) {
      open = static_cast<uint64_t>(std::max<int64_t>(0, conn.open));
      rejected = conn.rejected;
      accepted = conn.accepted;
    }
  }
  if (want("clients")) {
    section("Clients");
    field("connected_clients", std::to_string(open));
    field("maxclients", std::to_string(c.options.max_connections));
    field("blocked_clients", "0");
  }
  if (want("memory")) {
    section("Memory");
    field("used_memory", std::to_string(m.l1.bytes));
    field("maxmemory", std::to_string(m.l1.max_bytes));
    field("maxmemory_policy", "allkeys-lru");
  }
  uint64_t commands = 0;
  for (const auto& r : m.requests) {
    if (r.frontend == c.options.frontend) {
      for (uint64_t n : r.outcomes) commands += n;
    }
  }
  if (want("stats")) {
    section("Stats");
    field("total_connections_received", std::to_string(accepted));
    field("total_commands_processed", std::to_string(commands));
    field("rejected_connections", std::to_string(rejected));
    field("expired_keys", std::to_string(m.l1.expirations));
    field("evicted_keys", std::to_string(m.l1.evictions));
    field("keyspace_hits", std::to_string(m.l1.hits));
    field("keyspace_misses", std::to_string(m.l1.misses));
  }
  if (want("keyspace")) {
    section("Keyspace");
    if (m.l1.entries > 0) field("db0", "keys=" + std::to_string(m.l1.entries) + ",expires=" +
                                           std::to_string(m.l1.entries) + ",avg_ttl=0");
  }
  if (want("tiercache")) {
    section("Tiercache");
    field("l1_entries", std::to_string(m.l1.entries));
    field("l1_bytes", std::to_string(m.l1.bytes));
    field("l1_max_entries", std::to_string(m.l1.max_entries));
    field("l1_max_bytes", std::to_string(m.l1.max_bytes));
    field("l1_hits", std::to_string(m.l1.hits));
    field("l1_misses", std::to_string(m.l1.misses));
    field("lower_tiers", std::to_string(m.lower_tiers.size()));
    for (const auto& t : m.lower_tiers) {
      field("tier_" + t.name, "kind=" + t.kind + ",state=" + std::string(TierStateName(t.state)) +
                                  ",hits=" + std::to_string(t.hits) +
                                  ",misses=" + std::to_string(t.misses) +
                                  ",errors=" + std::to_string(t.errors));
    }
  }
  c.reply.Send([&](ReplyWriter& w) { w.Bulk(text); });
}

// CONFIG GET pattern [pattern ...]: the settings clients and benchmarks read, as Redis
// names them. Settings come from tiercache's YAML: CONFIG SET is refused.
void Config(Call& c) {
  const std::string_view sub = c.args[1];
  if (EqualsIgnoreCase(sub, "GET") && c.args.size() >= 3) {
    const MetricsSnapshot m = c.service.Metrics();
    const std::vector<std::pair<std::string, std::string>> settings = {
        {"save", ""},
        {"appendonly", "no"},
        {"databases", "1"},
        {"maxmemory", std::to_string(m.l1.max_bytes)},
        {"maxmemory-policy", "allkeys-lru"},
        {"maxclients", std::to_string(c.options.max_connections)},
        {"timeout", std::to_string(static_cast<int64_t>(ToSeconds(c.options.idle_timeout)))},
        {"proto-max-bulk-len", std::to_string(c.options.limits.max_value_bytes)},
        {"port", std::to_string(c.options.port)},
        {"io-threads", std::to_string(c.options.io_threads)},
    };
    std::vector<const std::pair<std::string, std::string>*> found;
    for (const auto& s : settings) {
      for (size_t i = 2; i < c.args.size(); ++i) {
        if (GlobMatch(c.args[i], s.first, true)) {
          found.push_back(&s);
          break;
        }
      }
    }
    return c.reply.Send([&](ReplyWriter& w) {
      w.Map(found.size());
      for (const auto* s : found) {
        w.Bulk(s->first);
        w.Bulk(s->second);
      }
    });
  }
  if (EqualsIgnoreCase(sub, "SET")) {
    return c.reply.Error(
        "ERR CONFIG SET is not supported: tiercache is configured by its YAML file");
  }
  if (EqualsIgnoreCase(sub, "RESETSTAT") && c.args.size() == 2) return c.reply.Ok();
  c.reply.Error("ERR unknown subcommand or wrong number of arguments for '" +
                std::string(sub) + "'. Try CONFIG HELP.");
}

void WriteCommandInfo(const CommandSpec& spec, ReplyWriter& w) {
  w.Array(6);
  w.Bulk(spec.name);
  w.Integer(spec.arity);
  w.Array(0);  // flags
  const bool keyed = spec.arity < -1 || spec.arity > 1;
  w.Integer(keyed ? 1 : 0);
  w.Integer(keyed ? 1 : 0);
  w.Integer(keyed ? 1 : 0);
}

// COMMAND, COMMAND COUNT, COMMAND INFO name..., COMMAND DOCS [name...]: enough for clients
// that ask what the server knows (redis-cli's hints, cluster-aware clients).
void Command(Call& c) {
  const std::vector<CommandSpec> all = AllCommands();
  if (c.args.size() == 1) {
    return c.reply.Send([&](ReplyWriter& w) {
      w.Array(all.size());
      for (const auto& spec : all) WriteCommandInfo(spec, w);
    });
  }
  const std::string_view sub = c.args[1];
  if (EqualsIgnoreCase(sub, "COUNT") && c.args.size() == 2) {
    return c.reply.Send([&](ReplyWriter& w) { w.Integer(static_cast<int64_t>(all.size())); });
  }
  const auto find = [&](std::string_view name) -> const CommandSpec* {
    for (const auto& spec : all) {
      if (EqualsIgnoreCase(spec.name, name)) return &spec;
    }
    return nullptr;
  };
  if (EqualsIgnoreCase(sub, "INFO")) {
    return c.reply.Send([&](ReplyWriter& w) {
      if (c.args.size() == 2) {
        w.Array(all.size());
        for (const auto& spec : all) WriteCommandInfo(spec, w);
        return;
      }
      w.Array(c.args.size() - 2);
      for (size_t i = 2; i < c.args.size(); ++i) {
        const CommandSpec* spec = find(c.args[i]);
        spec != nullptr ? WriteCommandInfo(*spec, w) : w.NullArray();
      }
    });
  }
  if (EqualsIgnoreCase(sub, "DOCS")) {
    std::vector<const CommandSpec*> docs;
    if (c.args.size() == 2) {
      for (const auto& spec : all) docs.push_back(&spec);
    } else {
      for (size_t i = 2; i < c.args.size(); ++i) {
        if (const CommandSpec* spec = find(c.args[i])) docs.push_back(spec);
      }
    }
    return c.reply.Send([&](ReplyWriter& w) {
      w.Map(docs.size());
      for (const auto* spec : docs) {
        w.Bulk(spec->name);
        w.Map(2);
        w.Bulk("summary");
        w.Bulk("");
        w.Bulk("group");
        w.Bulk("tiercache");
      }
    });
  }
  c.reply.Error("ERR unknown subcommand or wrong number of arguments for '" +
                std::string(sub) + "'. Try COMMAND HELP.");
}

void Time(Call& c) {
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  c.reply.Send([now](ReplyWriter& w) {
    w.Array(2);
    w.Bulk(std::to_string(now / 1000000));
    w.Bulk(std::to_string(now % 1000000));
  });
}

// A script with its whitespace collapsed, for comparison with the known ones.
std::string CollapseSpaces(std::string_view script) {
  std::string out;
  bool space = false;
  for (char ch : script) {
    if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(ch);
  }
  return out;
}

// The increment scripts django-redis's incr and decr send (EVAL script 1 key delta), which
// stand for one command each.
constexpr std::string_view kIncrementIfExists =
    "local exists = redis.call('EXISTS', KEYS[1]) if (exists == 1) then return "
    "redis.call('INCRBY', KEYS[1], ARGV[1]) else return false end";
constexpr std::string_view kIncrement = "return redis.call('INCRBY', KEYS[1], ARGV[1])";

void IncrementAnswer(Service& service, const CommandOptions& options, ReplySlot reply,
                     std::string key, int64_t delta) {
  service.Increment(options.frontend, std::move(key), delta,
                      [reply = std::move(reply)](Result<int64_t> value) {
                        if (!value.ok()) return reply.Error(ErrorText(value.status()));
                        reply.Send([n = *value](ReplyWriter& w) { w.Integer(n); });
                      });
}

// Scripts would run against tiercache's tiers with Redis's atomicity promise, which it
// cannot keep: refused clearly. The exception is django-redis's increment scripts, answered
// as the commands they stand for, so that Django's incr keeps its contract (ValueError for
// an absent key) where its fallback for a refused script would break it.
void Scripting(Call& c) {
  if (EqualsIgnoreCase(c.args[0], "EVAL") && c.args.size() == 5 && c.args[2] == "1") {
    const std::string script = CollapseSpaces(c.args[1]);
    if (script == kIncrementIfExists || script == kIncrement) {
      int64_t delta = 0;
      if (!ParseInteger(c.args[4], delta)) return c.reply.Error(kNotInteger);
      std::string key(c.args[3]);
      if (script == kIncrement) {
        return IncrementAnswer(c.service, c.options, c.reply, std::move(key), delta);
      }
      // EXISTS, then INCRBY: two steps here, where the script is one (an expiry between
      // them starts the counter from 0).
      Service& service = c.service;
      const CommandOptions& options = c.options;
      return service.Get(options.frontend, key,
                         [&service, &options, key, delta, reply = c.reply](Result<Hit> hit) {
                           if (!hit.ok()) {
                             if (hit.status().code() != StatusCode::kNotFound) {
                               return reply.Error(ErrorText(hit.status()));
                             }
                             return reply.Send([](ReplyWriter& w) { w.Null(); });
                           }
                           IncrementAnswer(service, options, reply, key, delta);
                         });
    }
  }
  c.reply.Error("ERR unsupported command '" + Lower(c.args[0]) +
                "': tiercache does not run scripts");
}

}  // namespace

void AddServerCommands(std::vector<CommandSpec>& table) {
  table.push_back({"ping", -1, Ping});
  table.push_back({"echo", 2, Echo});
  table.push_back({"quit", -1, Quit, true});
  table.push_back({"reset", 1, Reset, true});
  table.push_back({"select", 2, Select});
  table.push_back({"auth", -2, Auth});
  table.push_back({"hello", -1, Hello});
  table.push_back({"client", -2, Client});
  table.push_back({"info", -1, Info});
  table.push_back({"config", -2, Config});
  table.push_back({"command", -1, Command});
  table.push_back({"time", 1, Time});
  for (std::string_view name : {"eval", "evalsha", "eval_ro", "evalsha_ro", "script",
                                "function", "fcall", "fcall_ro"}) {
    table.push_back({name, -2, Scripting});
  }
}

}  // namespace tiercache::resp
