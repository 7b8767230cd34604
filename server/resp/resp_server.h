#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "core/service.h"
#include "core/status.h"

namespace tiercache {

struct RespServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 6380;
  unsigned io_threads = 1;
  uint64_t max_connections = 10000;  // further connections get an error and are closed
  Duration idle_timeout = std::chrono::seconds(60);  // a connection with no request
  Limits limits;  // a request's arguments are bounded by max_request_body_bytes
  Duration default_timeout = std::chrono::seconds(300);
  Duration max_timeout = std::chrono::hours(24 * 365);
  std::string version;
  // Replies not yet written that make the connection stop reading requests until the
  // client takes them (pipelining is bounded, as is the memory it holds).
  size_t max_pending_replies = 1024;
  size_t max_pending_reply_bytes = size_t{4} << 20;
};

// The Redis protocol front end: RESP2 and RESP3 over TCP, so that Redis clients (redis-py,
// django-redis, redis-cli, redis-benchmark) use tiercache unchanged. Connections parse,
// dispatch to server/resp's commands and write; all cache logic is behind the service.
// Asio stays inside resp_server.cc.
class RespServer {
 public:
  RespServer(RespServerOptions options, Service& service);
  ~RespServer();
  RespServer(const RespServer&) = delete;
  RespServer& operator=(const RespServer&) = delete;

  // Binds, listens and starts the I/O threads. kUnavailable if the address can't be bound.
  Status Start();
  // Closes the listener; connections finish the requests they have read and close; waits
  // up to `timeout` for them, then stops the I/O threads.
  void Shutdown(Duration timeout);
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tiercache
