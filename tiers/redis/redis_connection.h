#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/thread_annotations.h"
#include "tiers/common/event_fd.h"
#include "tiers/redis/redis_command.h"
#include "tiers/redis/redis_url.h"

struct redisContext;  // hiredis

namespace tiercache::redis {

// Redis's clock as seen from here, measured with TIME at each login: entries store their
// expiry in Redis's clock, so that every server computes the same remaining lifetime
// whatever its own clock says. Thread-safe.
class ServerClock {
 public:
  // Milliseconds since the Unix epoch on Redis's clock, now.
  int64_t NowMs() const;
  // Redis said `redis_ms` between `sent_ms` and `received_ms` (system clock).
  void Observe(int64_t redis_ms, int64_t sent_ms, int64_t received_ms);

 private:
  std::atomic<int64_t> offset_ms_{0};
};

struct ConnectionOptions {
  Endpoint endpoint;
  Duration connect_timeout{};
  Duration command_timeout{};
};

// For each thread that writes to a Redis socket: a write to a socket Redis closed then
// fails with EPIPE instead of raising SIGPIPE.
void BlockSigpipeOnThisThread();

// One connection to Redis with its own thread, pipelining the commands of many callers.
//
// The thread takes everything queued (up to kMaxBatch commands or kMaxBatchBytes), writes
// it in one go, then reads the replies in order and runs each command's callback, on this
// thread. Commands of a batch without their reply within the command timeout fail with
// kDeadlineExceeded: the connection is then dropped, what is queued fails with
// kUnavailable, and the thread reconnects in the background with backoff (50 ms doubling
// to 1 s). After connecting it logs in (AUTH, SELECT, SCRIPT LOAD, TIME) before serving
// anything.
//
// Submissions wait in the queue while the connection is up and during its very first
// connection attempt (so a new tier is usable at once); while down they fail at once with
// the last error, without a connection attempt of their own.
class Connection {
 public:
  // A batch ends at this many commands, or once its arguments reach kMaxBatchBytes, so that
  // one batch is written and answered well within the command timeout.
  static constexpr size_t kMaxBatch = 1024;
  static constexpr size_t kMaxBatchBytes = 1 << 20;

  Connection(ConnectionOptions options, ServerClock& clock);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Queues `commands` in order, or fails them at once (down, stopped) on this thread.
  void Submit(std::vector<Command>&& commands);
  void Submit(Command&& command);

  // Commands queued or in flight here.
  size_t load() const { return load_.load(std::memory_order_relaxed); }
  // False while down after a failed connection, or stopped: submissions fail at once.
  bool accepting() const;
  const std::string& label() const { return label_; }

  // Stops the thread: every pending command fails with kUnavailable, later submissions
  // fail at once. Returns when the thread has ended. Idempotent.
  void Stop();

 private:
  enum class State { kConnecting, kUp, kDown, kStopped };
  struct ContextDeleter {
    void operator()(redisContext* c) const;
  };

  void Run();
  Status Connect();
  Status WaitConnected();
  Status Login();
  Status Serve();
  Status NextBatch(std::deque<Command>& batch);
  Status Exchange(std::deque<Command>& batch);
  Status Flush();
  Status ReadReplies(std::deque<Command>& batch);
  void Append(const Command& command);
  void Disconnect();

  void SetState(State state);
  // Down after `why`: queued commands fail with `queued_status`.
  void GoDown(const Status& why, const Status& queued_status);
  void Shutdown();

  void Finish(Command& command, ReplyResult result);
  void FailAll(std::deque<Command>& commands, const Status& status);
  Status Unavailable(const std::string& what) const;

  const ConnectionOptions options_;
  const std::string label_;  // "redis host:port"
  ServerClock& clock_;
  // Work queued, or stopping. Whoever clears it checks stopping_ before waiting again, or a
  // stop could go unnoticed until a timeout.
  backend::EventFd wake_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> load_{0};
  std::atomic<State> state_{State::kConnecting};

  Mutex mu_;
  std::deque<Command> queue_ TC_GUARDED_BY(mu_);
  std::string last_error_ TC_GUARDED_BY(mu_);

  // Used by the connection thread only.
  std::unique_ptr<redisContext, ContextDeleter> context_;
  bool output_pending_ = false;
  std::vector<std::string> shas_;  // by ScriptId, from SCRIPT LOAD at login
  std::vector<const char*> argv_;  // scratch for formatting
  std::vector<size_t> argv_len_;

  std::thread thread_;
};

}  // namespace tiercache::redis
