// The coherence bus over Redis pub/sub: PUBLISH on a pipelining Connection of the tier's
// kind, SUBSCRIBE on a connection of its own. A subscribed connection speaks a different
// protocol mode (only subscription commands and PING are allowed; messages arrive unasked), so
// it cannot share the pipelining connection, whose replies must match its commands in order.
//
// The subscriber's thread connects without blocking, logs in, subscribes, then waits on the
// socket and an eventfd (the stop signal) with poll(). A PING every second, answered within
// command_timeout, tells a hung Redis (SIGSTOP, a dead host behind a live route) from a
// quiet channel: with nothing to publish, a broken subscription is otherwise silent.

#include "tiers/redis/redis_coherence_bus.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "tiers/common/event_fd.h"
#include "tiers/common/reconnect_backoff.h"
#include "tiers/common/stop_wait.h"
#include "tiers/redis/redis_command.h"
#include "tiers/redis/redis_connection.h"
#include "tiers/redis/redis_pool.h"
#include "tiers/redis/redis_url.h"

namespace tiercache {

namespace {

using redis::Args;
using redis::Command;
using redis::ReplyResult;
using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

// How often an idle subscription proves it is alive: detection of a hung Redis takes at
// most this plus command_timeout.
constexpr Duration kPingInterval = milliseconds(1000);
// Publications waiting for the publishing connection; more fail at once rather than grow
// memory without bound while Redis is slow.
constexpr size_t kMaxQueuedPublications = 100000;

int64_t WholeMs(Duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

// hiredis and strerror say "Connection refused"; our messages continue a sentence.
std::string LowerFirst(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

std::string_view TextOf(const redisReply& r) { return std::string_view(r.str, r.len); }

// Whether `r` is a push of the given kind: an array whose first element names it.
bool IsPush(const redisReply& r, std::string_view kind) {
  return r.type == REDIS_REPLY_ARRAY && r.elements >= 1 &&
         r.element[0]->type == REDIS_REPLY_STRING && TextOf(*r.element[0]) == kind;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};

Status Validate(const RedisCoherenceOptions& o) {
  if (o.channel.empty()) return Status::InvalidArgument("channel must not be empty");
  if (o.database < 0) return Status::InvalidArgument("database must be >= 0");
  for (const auto& [field, value] : {std::pair{"connect_timeout", o.connect_timeout},
                                     std::pair{"command_timeout", o.command_timeout}}) {
    if (value < milliseconds(1)) {
      return Status::InvalidArgument(std::string(field) + " must be at least 1 ms");
    }
  }
  return Status::Ok();
}

class RedisCoherenceBus final : public CoherenceBus {
 public:
  RedisCoherenceBus(RedisCoherenceOptions options, redis::Endpoint endpoint)
      : options_(std::move(options)),
        endpoint_(std::move(endpoint)),
        label_("redis " + endpoint_.Label()),
        publisher_({endpoint_, options_.connect_timeout, options_.command_timeout}, 1,
                   kMaxQueuedPublications, clock_) {}

  ~RedisCoherenceBus() override {
    stopping_.store(true);
    stop_.Signal();
    publisher_.Stop();
    if (thread_.joinable()) thread_.join();
  }

  void Start(std::function<void(CoherenceMessage)> on_message,
             std::function<void(bool subscribed)> on_state) override {
    if (thread_.joinable()) return;
    on_message_ = std::move(on_message);
    on_state_ = std::move(on_state);
    thread_ = std::thread([this] { Run(); });
  }

  void Publish(const CoherenceMessage& message, std::function<void(Status)> done) override {
    Args args{"PUBLISH", options_.channel};
    Command publish{std::move(args.Add(EncodeCoherenceMessage(message)))};
    publish.done = [done = std::move(done)](ReplyResult r) {
      if (done) done(r.ok() ? Status::Ok() : r.status());
    };
    publisher_.Submit(std::move(publish));
  }

 private:
  // The subscriber's thread and what it alone uses.
  void Run();
  Status Connect();
  Status Subscribe();
  Status Listen();
  // Writes what it can of the pending output, then waits for a reply (or room to write the
  // rest) until `deadline`: kDeadlineExceeded when it passes, kUnavailable when stopping.
  Status WaitForSocket(SteadyTime deadline);
  // Waits until the socket has any of `events`, with the same outcomes.
  Status Await(short events, SteadyTime deadline);
  Status Flush();
  Status ReadSocket();
  // The next complete reply in what was read, or null.
  Result<ReplyPtr> NextReply();
  void Append(std::initializer_list<std::string_view> args);
  void Report(bool subscribed);
  Status Unavailable(const std::string& what) const {
    return Status::Unavailable(label_ + ": " + what);
  }
  Status Stopping() const { return Unavailable("the coherence bus is shutting down"); }

  const RedisCoherenceOptions options_;
  const redis::Endpoint endpoint_;
  const std::string label_;   // "redis host:port"
  redis::ServerClock clock_;  // measured by the publisher's login; the bus has no use for it
  redis::Pool publisher_;
  backend::EventFd stop_;
  std::atomic<bool> stopping_{false};

  // Set by Start() before the thread exists, then used by the thread only.
  std::function<void(CoherenceMessage)> on_message_;
  std::function<void(bool)> on_state_;
  std::optional<bool> reported_;  // the last state told to on_state_
  std::unique_ptr<redisContext, ContextDeleter> context_;
  bool output_pending_ = false;
  std::thread thread_;
};

void RedisCoherenceBus::Run() {
  redis::BlockSigpipeOnThisThread();

  backend::ReconnectBackoff backoff;
  while (!stopping_.load()) {
    Status status = Connect();
    if (status.ok()) status = Subscribe();
    if (status.ok()) {
      backoff.Reset();
      Report(true);
      status = Listen();
    }
    context_.reset();
    output_pending_ = false;
    if (stopping_.load()) break;
    // Once per break, however many attempts fail after it.
    Report(false);
    backend::SleepUnlessStopping(backoff.Next(), stop_, stopping_);
  }
}

Status RedisCoherenceBus::Connect() {
  context_.reset(redisConnectNonBlock(endpoint_.host.c_str(), endpoint_.port));
  if (!context_) return Unavailable("cannot allocate a connection");
  if (context_->err) return Unavailable(LowerFirst(context_->errstr));
  const SteadyTime deadline = std::chrono::steady_clock::now() + options_.connect_timeout;
  // A non-blocking connect has completed, or failed, once the socket is writable.
  if (Status s = Await(POLLOUT, deadline); !s.ok()) {
    if (s.code() != StatusCode::kDeadlineExceeded) return s;
    return Unavailable("connect timed out after " +
                       std::to_string(WholeMs(options_.connect_timeout)) + " ms");
  }
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(context_->fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) return Unavailable(LowerFirst(std::strerror(error)));
  redisEnableKeepAlive(context_.get());
  return Status::Ok();
}

Status RedisCoherenceBus::Subscribe() {
  // No SELECT: channels are shared by all databases of a Redis.
  const bool auth = !endpoint_.password.empty();
  if (auth && endpoint_.user.empty()) Append({"AUTH", endpoint_.password});
  if (auth && !endpoint_.user.empty()) Append({"AUTH", endpoint_.user, endpoint_.password});
  Append({"SUBSCRIBE", options_.channel});
  const SteadyTime deadline = std::chrono::steady_clock::now() + options_.command_timeout;
  bool auth_answered = !auth;
  while (true) {
    Result<ReplyPtr> reply = NextReply();
    if (!reply.ok()) return reply.status();
    if (*reply == nullptr) {
      if (Status s = WaitForSocket(deadline); !s.ok()) {
        if (s.code() != StatusCode::kDeadlineExceeded) return s;
        return Status::DeadlineExceeded(label_ + ": SUBSCRIBE timed out after " +
                                        std::to_string(WholeMs(options_.command_timeout)) + " ms");
      }
      if (Status s = ReadSocket(); !s.ok()) return s;
      continue;
    }
    const redisReply& r = **reply;
    const char* what = auth_answered ? "SUBSCRIBE" : "AUTH";
    if (r.type == REDIS_REPLY_ERROR) {
      return Unavailable(std::string(TextOf(r)) + " (" + what + ")");
    }
    if (!auth_answered) {
      auth_answered = true;
      continue;
    }
    // Messages may follow in what was read: Listen takes them from the reader.
    if (IsPush(r, "subscribe")) return Status::Ok();
    return Unavailable("unexpected reply to SUBSCRIBE");
  }
}

Status RedisCoherenceBus::Listen() {
  SteadyTime next_ping = std::chrono::steady_clock::now() + kPingInterval;
  std::optional<SteadyTime> pong_due;  // set while a PING is unanswered
  while (true) {
    bool received = false;
    while (true) {
      Result<ReplyPtr> reply = NextReply();
      if (!reply.ok()) return reply.status();
      if (*reply == nullptr) break;
      received = true;
      const redisReply& r = **reply;
      if (r.type == REDIS_REPLY_ERROR) return Unavailable(std::string(TextOf(r)));
      if (IsPush(r, "message") && r.elements == 3 && r.element[2]->type == REDIS_REPLY_STRING) {
        // Not ours to judge further: an instance of another version, or a stray PUBLISH.
        Result<CoherenceMessage> message = DecodeCoherenceMessage(TextOf(*r.element[2]));
        if (message.ok()) on_message_(std::move(*message));
      } else if (IsPush(r, "pong")) {
        pong_due.reset();
        next_ping = std::chrono::steady_clock::now() + kPingInterval;
      }
    }
    if (stopping_.load()) return Stopping();
    const SteadyTime now = std::chrono::steady_clock::now();
    // Anything arriving proves Redis alive, even when a flood of messages (or a slow
    // on_message) holds the PONG back.
    if (received && pong_due) pong_due = std::max(*pong_due, now + options_.command_timeout);
    if (pong_due && now >= *pong_due) {
      return Status::DeadlineExceeded(label_ + ": no answer to PING within " +
                                      std::to_string(WholeMs(options_.command_timeout)) + " ms");
    }
    if (!pong_due && now >= next_ping) {
      Append({"PING"});
      pong_due = now + options_.command_timeout;
    }
    Status s = WaitForSocket(pong_due ? *pong_due : next_ping);
    if (s.ok()) s = ReadSocket();
    if (!s.ok() && s.code() != StatusCode::kDeadlineExceeded) return s;
  }
}

Status RedisCoherenceBus::WaitForSocket(SteadyTime deadline) {
  if (output_pending_) {
    if (Status s = Flush(); !s.ok()) return s;
  }
  return Await(output_pending_ ? POLLIN | POLLOUT : POLLIN, deadline);
}

Status RedisCoherenceBus::Await(short events, SteadyTime deadline) {
  while (true) {
    // Checked before every wait: the stop signal is not cleared, but a stop that came
    // before the wait must not depend on it.
    if (stopping_.load()) return Stopping();
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= Duration::zero()) return Status::DeadlineExceeded(label_ + ": timed out");
    pollfd fds[2] = {{context_->fd, events, 0}, {stop_.fd(), POLLIN, 0}};
    // Rounded up: waking a little early would only mean waiting again.
    const int n = ::poll(fds, 2, static_cast<int>(std::chrono::ceil<milliseconds>(left).count()));
    if (n > 0 && (fds[0].revents & (events | POLLHUP | POLLERR)) != 0) return Status::Ok();
  }
}

Status RedisCoherenceBus::Flush() {
  int done = 0;
  if (redisBufferWrite(context_.get(), &done) != REDIS_OK) {
    return Unavailable(LowerFirst(context_->errstr));
  }
  output_pending_ = done == 0;
  return Status::Ok();
}

Status RedisCoherenceBus::ReadSocket() {
  if (redisBufferRead(context_.get()) != REDIS_OK) {
    return Unavailable(LowerFirst(context_->errstr));
  }
  return Status::Ok();
}

Result<ReplyPtr> RedisCoherenceBus::NextReply() {
  void* raw = nullptr;
  if (redisGetReplyFromReader(context_.get(), &raw) != REDIS_OK) {
    return Unavailable("protocol error: " + std::string(context_->errstr));
  }
  return ReplyPtr(static_cast<redisReply*>(raw));
}

void RedisCoherenceBus::Append(std::initializer_list<std::string_view> args) {
  std::vector<const char*> argv;
  std::vector<size_t> argv_len;
  for (std::string_view a : args) {
    argv.push_back(a.data());
    argv_len.push_back(a.size());
  }
  redisAppendCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(),
                         argv_len.data());
  output_pending_ = true;
}

void RedisCoherenceBus::Report(bool subscribed) {
  if (reported_ == subscribed) return;
  reported_ = subscribed;
  if (on_state_) on_state_(subscribed);
}

}  // namespace

Result<std::unique_ptr<CoherenceBus>> MakeRedisCoherenceBus(RedisCoherenceOptions options) {
  const auto invalid = [](const Status& s) {
    return Status::InvalidArgument("redis coherence bus: " + s.message());
  };
  if (Status s = Validate(options); !s.ok()) return invalid(s);
  Result<redis::Endpoint> endpoint = redis::ParseRedisUrl(options.url, options.database);
  if (!endpoint.ok()) return invalid(endpoint.status());
  return std::unique_ptr<CoherenceBus>(
      new RedisCoherenceBus(std::move(options), std::move(*endpoint)));
}

}  // namespace tiercache
