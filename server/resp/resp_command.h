#pragma once

// What the command files of server/resp share: the shape of a command and the argument
// rules of Redis. Private to server/resp.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/service.h"
#include "core/status.h"
#include "server/resp/resp_commands.h"

namespace tiercache::resp {

using Args = std::vector<std::string_view>;

// One request being answered.
struct Call {
  Service& service;
  const CommandOptions& options;
  Session& session;
  const Args& args;  // args[0] is the command name as sent
  ReplySlot reply;
};

using Handler = void (*)(Call& call);

struct CommandSpec {
  std::string_view name;  // lower case, as Redis names commands in errors
  // Redis's arity: N > 0 exactly N arguments (the name included), -N at least N.
  int arity;
  Handler handler;
  // Runs at once even inside MULTI (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
  bool transaction_control = false;
};

void AddStringCommands(std::vector<CommandSpec>& table);
void AddKeyCommands(std::vector<CommandSpec>& table);
void AddServerCommands(std::vector<CommandSpec>& table);
void AddTiercacheCommands(std::vector<CommandSpec>& table);
void AddTransactionCommands(std::vector<CommandSpec>& table);
// Every command, for COMMAND COUNT / INFO / DOCS.
size_t CommandCount();
std::vector<CommandSpec> AllCommands();

// --- Redis's argument rules -----------------------------------------------------------

inline constexpr std::string_view kSyntaxError = "ERR syntax error";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string Lower(std::string_view text);
// A 64-bit integer as Redis reads one (string2ll): no spaces, no '+', no leading zeros.
bool ParseInteger(std::string_view text, int64_t& value);
// "ERR wrong number of arguments for 'get' command".
std::string WrongArity(std::string_view command);
// The error reply for a failed service call.
std::string ErrorText(const Status& status);
// Glob matching as Redis's KEYS, SCAN MATCH and CONFIG GET do it (*, ?, [a-z], [^a], \x).
bool GlobMatch(std::string_view pattern, std::string_view text, bool nocase = false);
// The largest expiry time a request may name, in milliseconds (relative, or since the
// epoch): about 278 years, so that it fits a Duration of nanoseconds. Larger is Redis's
// "invalid expire time" error.
inline constexpr int64_t kMaxExpireMillis = int64_t{1} << 43;

// Wall-clock now, in milliseconds and in nanoseconds since the epoch.
int64_t UnixMillis();
int64_t UnixNanos();

}  // namespace tiercache::resp
