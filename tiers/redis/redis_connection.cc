#include "tiers/redis/redis_connection.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "tiers/common/reconnect_backoff.h"
#include "tiers/common/stop_wait.h"
#include "tiers/redis/redis_layout.h"
#include "tiers/redis/redis_scripts.h"

namespace tiercache::redis {

namespace {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

int64_t SystemNowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t WholeMs(Duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

// hiredis and strerror say "Connection refused"; our messages continue a sentence.
std::string LowerFirst(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

// What a wait on the socket and the wake fd saw.
struct Readiness {
  bool timed_out = false;
  bool woken = false;
  bool readable = false;  // or closed, or failed: a read will tell
  bool writable = false;
};

// Waits until `socket_fd` has any of `events`, the wake fd is signalled, or `deadline`
// (nullopt: no deadline). EINTR counts as a spurious wake-up.
Readiness Wait(int socket_fd, short events, int wake_fd, const SteadyTime* deadline) {
  pollfd fds[2] = {{socket_fd, events, 0}, {wake_fd, POLLIN, 0}};
  int timeout_ms = -1;
  if (deadline != nullptr) {
    const auto left = *deadline - std::chrono::steady_clock::now();
    if (left <= Duration::zero()) return {.timed_out = true};
    // Rounded up: waking a little early would only mean waiting again.
    timeout_ms = static_cast<int>(std::chrono::ceil<milliseconds>(left).count());
  }
  const int n = ::poll(fds, 2, timeout_ms);
  Readiness r;
  if (n == 0) {
    r.timed_out = true;
    return r;
  }
  if (n < 0) return r;
  r.woken = (fds[1].revents & POLLIN) != 0;
  r.readable = (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
  r.writable = (fds[0].revents & POLLOUT) != 0;
  return r;
}

bool IsNoScript(const redisReply* reply) {
  return reply->type == REDIS_REPLY_ERROR && reply->len >= 8 &&
         std::memcmp(reply->str, "NOSCRIPT", 8) == 0;
}

}  // namespace

// ServerClock -------------------------------------------------------------------------------

int64_t ServerClock::NowMs() const {
  return SystemNowMs() + offset_ms_.load(std::memory_order_relaxed);
}

void ServerClock::Observe(int64_t redis_ms, int64_t sent_ms, int64_t received_ms) {
  offset_ms_.store(redis_ms - (sent_ms + received_ms) / 2, std::memory_order_relaxed);
}

// Connection: submission side ---------------------------------------------------------------

void Connection::ContextDeleter::operator()(redisContext* c) const { redisFree(c); }

Connection::Connection(ConnectionOptions options, ServerClock& clock)
    : options_(std::move(options)),
      label_("redis " + options_.endpoint.Label()),
      clock_(clock) {
  thread_ = std::thread([this] { Run(); });
}

Connection::~Connection() { Stop(); }

void Connection::Stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  wake_.Signal();
  thread_.join();
}

bool Connection::accepting() const {
  const State s = state_.load(std::memory_order_acquire);
  return s == State::kConnecting || s == State::kUp;
}

void Connection::Submit(Command&& command) {
  std::vector<Command> one;
  one.push_back(std::move(command));
  Submit(std::move(one));
}

void Connection::Submit(std::vector<Command>&& commands) {
  Status refused;
  bool was_idle = false;
  {
    MutexLock lock(mu_);
    const State s = state_.load();
    if (s == State::kStopped) {
      refused = Unavailable("the tier is shutting down");
    } else if (s == State::kDown) {
      refused = Status::Unavailable(last_error_);
    } else {
      was_idle = queue_.empty();
      load_.fetch_add(commands.size(), std::memory_order_relaxed);
      for (Command& c : commands) queue_.push_back(std::move(c));
    }
  }
  if (!refused.ok()) {
    for (Command& c : commands) c.done(refused);
    return;
  }
  // Only the first command of a batch needs to wake the thread: it takes the whole queue.
  if (was_idle) wake_.Signal();
}

// Connection: the thread --------------------------------------------------------------------

void BlockSigpipeOnThisThread() {
  // hiredis writes with write(): on a socket Redis has closed that raises SIGPIPE, which
  // kills a process that does not ignore it. Blocked on this thread, the write fails with
  // EPIPE instead (and the signal stays pending here, harmlessly).
  sigset_t sigpipe;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);
}

void Connection::Run() {
  BlockSigpipeOnThisThread();

  backend::ReconnectBackoff backoff;
  while (!stopping_.load()) {
    const bool first_attempt = state_.load() == State::kConnecting;
    Status status = Connect();
    if (status.ok()) {
      backoff.Reset();
      SetState(State::kUp);
      status = Serve();
      Disconnect();
      if (stopping_.load()) break;
      GoDown(status, Status::Unavailable(status.message()));
    } else {
      Disconnect();
      if (stopping_.load()) break;
      // What waited for the first attempt shares its outcome (a hung Redis: a timeout).
      GoDown(status, first_attempt ? status : Status::Unavailable(status.message()));
    }
    backend::SleepUnlessStopping(backoff.Next(), wake_, stopping_);
  }
  Shutdown();
}

Status Connection::Connect() {
  const Endpoint& e = options_.endpoint;
  // Non-blocking from the start: connect, login and every exchange are bounded by poll().
  context_.reset(redisConnectNonBlock(e.host.c_str(), e.port));
  if (!context_) return Unavailable("cannot allocate a connection");
  if (context_->err) return Unavailable(LowerFirst(context_->errstr));
  if (Status s = WaitConnected(); !s.ok()) return s;
  redisEnableKeepAlive(context_.get());
  return Login();
}

Status Connection::WaitConnected() {
  const SteadyTime deadline = std::chrono::steady_clock::now() + options_.connect_timeout;
  while (true) {
    const Readiness r = Wait(context_->fd, POLLOUT, wake_.fd(), &deadline);
    if (r.woken) wake_.Clear();  // commands queued meanwhile wait for the login
    if (stopping_.load()) return Unavailable("the tier is shutting down");
    if (r.timed_out) {
      return Unavailable("connect timed out after " +
                         std::to_string(WholeMs(options_.connect_timeout)) + " ms");
    }
    if (r.writable || r.readable) break;
  }
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(context_->fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) return Unavailable(LowerFirst(std::strerror(error)));
  return Status::Ok();
}

Status Connection::Login() {
  std::deque<Command> login;
  Status failed;
  // Queues a login command; `on_reply` sees its reply, the first failure is remembered.
  const auto add = [&](Args args, const char* what,
                       std::function<void(const redisReply&)> on_reply = nullptr) {
    login.emplace_back(std::move(args), -1, [&failed, what, on_reply](ReplyResult r) {
      if (r.ok()) {
        if (on_reply) on_reply(**r);
      } else if (failed.ok()) {
        failed = r.status().code() == StatusCode::kDeadlineExceeded
                     ? r.status()
                     : Status::Unavailable(r.status().message() + " (" + what + ")");
      }
    });
  };
  const Endpoint& e = options_.endpoint;
  if (!e.password.empty()) {
    Args auth{"AUTH"};
    if (!e.user.empty()) auth.Add(e.user);
    add(std::move(auth.Add(e.password)), "AUTH");
  }
  if (e.database != 0) add(Args{"SELECT", std::to_string(e.database)}, "SELECT");
  shas_.assign(kScriptCount, std::string());
  for (int id = 0; id < kScriptCount; ++id) {
    add(Args{"SCRIPT", "LOAD", ScriptSources()[id]}, "SCRIPT LOAD",
        [this, id](const redisReply& r) { shas_[id].assign(r.str, r.len); });
  }
  const int64_t sent_ms = SystemNowMs();
  add(Args{"TIME"}, "TIME", [this, sent_ms](const redisReply& r) {
    if (r.type != REDIS_REPLY_ARRAY || r.elements != 2) return;
    const auto seconds = ParseInt64(r.element[0]->str);
    const auto micros = ParseInt64(r.element[1]->str);
    if (seconds && micros) {
      clock_.Observe(*seconds * 1000 + *micros / 1000, sent_ms, SystemNowMs());
    }
  });
  load_.fetch_add(login.size(), std::memory_order_relaxed);
  if (Status s = Exchange(login); !s.ok()) return s;
  return failed;
}

Status Connection::Serve() {
  std::deque<Command> batch;
  while (true) {
    if (Status s = NextBatch(batch); !s.ok()) return s;
    if (Status s = Exchange(batch); !s.ok()) return s;
  }
}

Status Connection::NextBatch(std::deque<Command>& batch) {
  while (true) {
    wake_.Clear();
    {
      MutexLock lock(mu_);
      size_t bytes = 0;
      while (!queue_.empty() && batch.size() < kMaxBatch && bytes < kMaxBatchBytes) {
        bytes += queue_.front().args.bytes();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!batch.empty()) return Status::Ok();
    if (stopping_.load()) return Unavailable("the tier is shutting down");
    // Idle: watch the socket too, so a Redis that goes away is noticed now rather than by
    // the next command.
    const Readiness r = Wait(context_->fd, POLLIN, wake_.fd(), nullptr);
    if (r.readable) {
      if (redisBufferRead(context_.get()) != REDIS_OK) {
        return Unavailable(LowerFirst(context_->errstr));
      }
      return Unavailable("unexpected data from the server while idle");
    }
  }
}

Status Connection::Exchange(std::deque<Command>& batch) {
  for (const Command& c : batch) Append(c);
  const SteadyTime deadline = std::chrono::steady_clock::now() + options_.command_timeout;
  Status status;
  while (!batch.empty()) {
    // Checked before every wait: NextBatch may have consumed the stop signal.
    if (stopping_.load()) {
      status = Unavailable("the tier is shutting down");
      break;
    }
    if (output_pending_) status = Flush();
    if (!status.ok()) break;
    const Readiness r =
        Wait(context_->fd, output_pending_ ? POLLIN | POLLOUT : POLLIN, wake_.fd(), &deadline);
    if (r.woken) wake_.Clear();  // new work: taken after this batch
    if (stopping_.load()) {
      status = Unavailable("the tier is shutting down");
      break;
    }
    if (r.timed_out) {
      status = Status::DeadlineExceeded(label_ + ": command timed out after " +
                                        std::to_string(WholeMs(options_.command_timeout)) + " ms");
      break;
    }
    if (r.readable) status = ReadReplies(batch);
    if (!status.ok()) break;
  }
  if (!status.ok()) FailAll(batch, status);
  return status;
}

Status Connection::Flush() {
  int done = 0;
  if (redisBufferWrite(context_.get(), &done) != REDIS_OK) {
    return Unavailable(LowerFirst(context_->errstr));
  }
  output_pending_ = done == 0;
  return Status::Ok();
}

Status Connection::ReadReplies(std::deque<Command>& batch) {
  if (redisBufferRead(context_.get()) != REDIS_OK) {
    return Unavailable(LowerFirst(context_->errstr));
  }
  while (!batch.empty()) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(context_.get(), &raw) != REDIS_OK) {
      return Unavailable("protocol error: " + std::string(context_->errstr));
    }
    if (raw == nullptr) break;  // the next reply is not complete yet
    const auto* reply = static_cast<const redisReply*>(raw);
    Command command = std::move(batch.front());
    batch.pop_front();
    if (IsNoScript(reply) && command.script >= 0 && !command.resent) {
      // Redis lost its script cache (SCRIPT FLUSH, a restart behind a proxy): EVAL loads the
      // script again, and the command goes to the back of what this batch waits for.
      command.resent = true;
      Append(command);
      batch.push_back(std::move(command));
    } else if (reply->type == REDIS_REPLY_ERROR) {
      Finish(command, Status::Unavailable(label_ + ": " + std::string(reply->str, reply->len)));
    } else {
      Finish(command, reply);
    }
    freeReplyObject(raw);
  }
  return Status::Ok();
}

void Connection::Append(const Command& command) {
  argv_.clear();
  argv_len_.clear();
  const auto push = [this](std::string_view arg) {
    argv_.push_back(arg.data());
    argv_len_.push_back(arg.size());
  };
  if (command.script >= 0) {
    if (command.resent) {
      push("EVAL");
      push(ScriptSources()[command.script]);
    } else {
      push("EVALSHA");
      push(shas_[command.script]);
    }
  }
  for (size_t i = 0; i < command.args.size(); ++i) push(command.args[i]);
  redisAppendCommandArgv(context_.get(), static_cast<int>(argv_.size()), argv_.data(),
                         argv_len_.data());
  output_pending_ = true;
}

void Connection::Disconnect() {
  context_.reset();
  output_pending_ = false;
}

// Connection: state -------------------------------------------------------------------------

void Connection::SetState(State state) {
  MutexLock lock(mu_);
  state_.store(state, std::memory_order_release);
}

void Connection::GoDown(const Status& why, const Status& queued_status) {
  std::deque<Command> queued;
  {
    MutexLock lock(mu_);
    state_.store(State::kDown, std::memory_order_release);
    last_error_ = why.message();
    queued.swap(queue_);
  }
  FailAll(queued, queued_status);
}

void Connection::Shutdown() {
  std::deque<Command> queued;
  {
    MutexLock lock(mu_);
    state_.store(State::kStopped, std::memory_order_release);
    queued.swap(queue_);
  }
  FailAll(queued, Unavailable("the tier is shutting down"));
}

void Connection::Finish(Command& command, ReplyResult result) {
  command.done(std::move(result));
  load_.fetch_sub(1, std::memory_order_relaxed);
}

void Connection::FailAll(std::deque<Command>& commands, const Status& status) {
  for (Command& c : commands) Finish(c, status);
  commands.clear();
}

Status Connection::Unavailable(const std::string& what) const {
  return Status::Unavailable(label_ + ": " + what);
}

}  // namespace tiercache::redis
