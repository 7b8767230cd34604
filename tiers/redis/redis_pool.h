#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tiers/redis/redis_command.h"
#include "tiers/redis/redis_connection.h"

namespace tiercache::redis {

// A reply copied out of hiredis, for code that keeps it after the callback returns.
struct Reply {
  enum class Type { kString, kStatus, kInteger, kNil, kArray };
  Type type = Type::kNil;
  std::string str;              // kString, kStatus
  int64_t integer = 0;          // kInteger
  std::vector<Reply> elements;  // kArray

  static Reply Of(const redisReply& reply);
};

// The tier's connections. A key's operations go to the connection its hash picks, so that
// they reach Redis in the order they were issued (one connection is one FIFO), and fail at
// once while it is down; other operations go to the least loaded live one. Refuses at once
// when more than `max_queued` commands are pending.
class Pool {
 public:
  // Any connection will do: the least loaded.
  static constexpr size_t kAnyConnection = static_cast<size_t>(-1);

  Pool(const ConnectionOptions& options, unsigned size, size_t max_queued, ServerClock& clock);

  // The connection for operations on `key`.
  size_t RouteOf(std::string_view key) const;
  size_t size() const { return connections_.size(); }

  // Sends `command` on connection `route` (or the least loaded live one), or fails it at once.
  void Submit(Command&& command, size_t route = kAnyConnection);
  // Sends `commands` in order on one connection (one pipeline), or fails them all at once.
  void Submit(std::vector<Command>&& commands, size_t route = kAnyConnection);

  // Sends `commands` (their callbacks are ignored) and waits for every reply. Only for a
  // thread of the tier's own that may block, never for a connection thread (it would wait
  // for itself); bounded because every command is answered or fails within the command
  // timeout.
  std::vector<Result<Reply>> RoundTrip(std::vector<Command> commands);

  // Stops every connection: pending commands fail with kUnavailable. Idempotent.
  void Stop();

 private:
  // Connection `route` (kAnyConnection: the live one with the least pending), which refuses
  // what it cannot take; or null with why when `adding` more would exceed max_queued.
  Connection* Pick(size_t route, size_t adding, Status& refused);

  const size_t max_queued_;
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace tiercache::redis
