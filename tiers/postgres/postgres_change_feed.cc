#include "tiers/postgres/postgres_change_feed.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "tiers/postgres/event_fd.h"
#include "tiers/postgres/pg_connection.h"

namespace tiercache {

namespace {

using namespace std::chrono_literals;
using postgres::PgResult;
using std::chrono::steady_clock;

// Reconnection backoff, as the tier's: quick after a blip, at most a second apart while the
// database is away.
constexpr Duration kFirstBackoff = 50ms;
constexpr Duration kMaxBackoff = 1s;
// PostgreSQL's identifier limit (NAMEDATALEN - 1): LISTEN would truncate a longer name and
// listen on another channel than the triggers notify.
constexpr size_t kMaxChannelLength = 63;

struct NotifyDeleter {
  void operator()(PGnotify *n) const { PQfreemem(n); }
};
using Notification = std::unique_ptr<PGnotify, NotifyDeleter>;

bool ValidChannel(std::string_view channel) {
  if (channel.empty() || channel.size() > kMaxChannelLength) return false;
  if (channel[0] >= '0' && channel[0] <= '9') return false;
  return std::all_of(channel.begin(), channel.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Parsing the DSN up front turns a typo into a configuration error instead of an endless
// series of failed connection attempts.
Status ValidateDsn(const std::string &dsn) {
  if (dsn.empty()) return Status::InvalidArgument("dsn must not be empty");
  char *error = nullptr;
  PQconninfoOption *parsed = PQconninfoParse(dsn.c_str(), &error);
  if (parsed == nullptr) {
    std::string message = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return Status::InvalidArgument("dsn: " + message);
  }
  PQconninfoFree(parsed);
  return Status::Ok();
}

Status Validate(const PostgresChangeFeedOptions &o) {
  if (Status s = ValidateDsn(o.dsn); !s.ok()) return s;
  if (!ValidChannel(o.channel)) {
    return Status::InvalidArgument(
        "channel must be a lower-case SQL "
        "identifier ([a-z_][a-z0-9_]*, at most " +
        std::to_string(kMaxChannelLength) + " characters), got '" + o.channel + "'");
  }
  const std::pair<const char *, Duration> durations[] = {
      {"connect_timeout", o.connect_timeout},
      {"keepalive_interval", o.keepalive_interval},
      {"command_timeout", o.command_timeout}};
  for (const auto &[field, value] : durations) {
    if (value <= Duration::zero()) {
      return Status::InvalidArgument(std::string(field) + " must be positive");
    }
  }
  return Status::Ok();
}

// Milliseconds until `deadline`, rounded up so that poll() never wakes just before it.
int MillisUntil(TimePoint deadline) {
  const auto left = deadline - steady_clock::now();
  if (left <= Duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > 60'000 ? 60'000 : static_cast<int>(ms);
}

void IgnoreNotice(void *, const PGresult *) {}

// The feed's one connection. PgConnection cannot serve here: it offers no access to the
// notifications libpq collects, and its idle wait swallows the input that carries them.
// Same non-blocking discipline: every wait polls the socket with a deadline and the stop
// fd, so neither a dead server nor a hung one holds the thread.
class ListenConnection {
 public:
  ListenConnection(const PostgresChangeFeedOptions &options, int stop_fd)
      : options_(options), stop_fd_(stop_fd) {}
  ~ListenConnection() { Close(); }
  ListenConnection(const ListenConnection &) = delete;
  ListenConnection &operator=(const ListenConnection &) = delete;

  // Connects and LISTENs.
  Status Open() {
    if (Status s = Connect(steady_clock::now() + options_.connect_timeout); !s.ok()) return s;
    const std::string listen = "LISTEN \"" + options_.channel + "\"";
    if (Status s = Command(listen.c_str(), steady_clock::now() + options_.command_timeout);
        !s.ok()) {
      Close();
      return s;
    }
    return Status::Ok();
  }

  void Close() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  // Hands each notification's payload to `deliver` until the connection breaks (the error)
  // or the feed stops (kUnavailable).
  template <class Deliver>
  Status Serve(Deliver deliver) {
    TimePoint quiet_until = steady_clock::now() + options_.keepalive_interval;
    while (true) {
      while (Notification n{PQnotifies(conn_)}) {
        if (!deliver(std::string(n->extra))) return Stopping();
      }
      pollfd fds[2] = {{PQsocket(conn_), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      const int n = ::poll(fds, 2, MillisUntil(quiet_until));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Lost(std::string("poll: ") + std::strerror(errno));
      if (fds[1].revents != 0) return Stopping();
      if (fds[0].revents != 0) {
        // Notifications, or the server saying that it closes the connection.
        if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) == CONNECTION_BAD) {
          return Lost("connection lost");
        }
        quiet_until = steady_clock::now() + options_.keepalive_interval;
        continue;
      }
      if (steady_clock::now() < quiet_until) continue;
      // Silence proves nothing on a listening connection: ask.
      if (Status s = Command("SELECT 1", steady_clock::now() + options_.command_timeout); !s.ok()) {
        return s;
      }
      quiet_until = steady_clock::now() + options_.keepalive_interval;
    }
  }

 private:
  Status Connect(TimePoint deadline) {
    Close();
    // As PgConnection: the DSN may be a conninfo string or a URI.
    const char *const keys[] = {"dbname", "fallback_application_name", nullptr};
    const char *const values[] = {options_.dsn.c_str(), "tiercached", nullptr};
    conn_ = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
    if (conn_ == nullptr) return Status::Unavailable("out of memory");
    if (PQstatus(conn_) == CONNECTION_BAD) return Lost("cannot connect");
    PQsetNoticeReceiver(conn_, IgnoreNotice, nullptr);
    PostgresPollingStatusType state = PGRES_POLLING_WRITING;
    while (state != PGRES_POLLING_OK) {
      if (state == PGRES_POLLING_FAILED) return Lost("cannot connect");
      if (Status ready = Wait(state == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
          !ready.ok()) {
        Close();
        return ready;
      }
      state = PQconnectPoll(conn_);
    }
    // Non-blocking, so that PQfinish and PQflush never wait on a server that stopped
    // reading.
    if (PQsetnonblocking(conn_, 1) != 0) return Lost("cannot switch to non-blocking mode");
    return Status::Ok();
  }

  // Runs `sql` and reads its results; notifications arriving meanwhile stay queued in libpq
  // for Serve.
  Status Command(const char *sql, TimePoint deadline) {
    if (PQsendQuery(conn_, sql) == 0) return Lost("cannot send a query");
    while (true) {
      const int pending = PQflush(conn_);
      if (pending == 0) break;
      if (pending < 0) return Lost("cannot send");
      if (Status ready = Wait(POLLIN | POLLOUT, deadline); !ready.ok()) return Abandon(ready);
      if (PQconsumeInput(conn_) == 0) return Lost("connection lost");
    }
    Status error;
    while (true) {
      while (PQisBusy(conn_)) {
        if (Status ready = Wait(POLLIN, deadline); !ready.ok()) return Abandon(ready);
        if (PQconsumeInput(conn_) == 0) return Lost("connection lost");
      }
      PgResult result(PQgetResult(conn_));
      if (result == nullptr) break;
      const ExecStatusType status = PQresultStatus(result.get());
      if (error.ok() && (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR ||
                         status == PGRES_BAD_RESPONSE)) {
        error = Status::Unavailable(PQresultErrorMessage(result.get()));
      }
    }
    if (PQstatus(conn_) == CONNECTION_BAD) return Lost("connection lost");
    // A failed LISTEN or keepalive leaves the feed deaf either way: start over.
    if (!error.ok()) return Abandon(error);
    return Status::Ok();
  }

  // Ok once the socket is ready for `events`; kDeadlineExceeded, or kUnavailable when the
  // feed stops.
  Status Wait(short events, TimePoint deadline) {
    while (true) {
      pollfd fds[2] = {{PQsocket(conn_), events, 0}, {stop_fd_, POLLIN, 0}};
      const int timeout = MillisUntil(deadline);
      const int n = ::poll(fds, 2, timeout);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::Unavailable(std::string("poll: ") + std::strerror(errno));
      if (fds[1].revents != 0) return Stopping();
      // Errors and hang-ups count as ready: libpq reads them and reports the broken
      // connection.
      if (fds[0].revents != 0) return Status::Ok();
      if (timeout == 0 || steady_clock::now() >= deadline) {
        return Status::DeadlineExceeded("no answer in time");
      }
    }
  }

  static Status Stopping() { return Status::Unavailable("the change feed is stopping"); }

  Status Lost(std::string_view what) {
    std::string message(what);
    if (conn_ != nullptr) message += std::string(": ") + PQerrorMessage(conn_);
    Close();
    return Status::Unavailable(std::move(message));
  }

  // The server may still be answering the command: the reply cannot be resumed later.
  Status Abandon(Status why) {
    Close();
    return why;
  }

  const PostgresChangeFeedOptions &options_;
  const int stop_fd_;
  PGconn *conn_ = nullptr;
};

class PostgresChangeFeed final : public ChangeFeed {
 public:
  explicit PostgresChangeFeed(PostgresChangeFeedOptions options) : options_(std::move(options)) {}

  ~PostgresChangeFeed() override {
    stopping_.store(true);
    stop_.Signal();
    if (thread_.joinable()) thread_.join();
  }

  Status Init() const {
    if (!stop_.ok()) return Status::Internal("postgres change feed: eventfd failed");
    return Status::Ok();
  }

  void Start(std::function<void(std::string payload)> on_change,
             std::function<void(bool listening)> on_state) override {
    on_change_ = std::move(on_change);
    on_state_ = std::move(on_state);
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error &) {
      // The interface has no error to return: a feed without its thread never listens.
      if (on_state_) on_state_(false);
    }
  }

 private:
  void Run() {
    ListenConnection conn(options_, stop_.fd());
    Duration backoff = Duration::zero();
    while (!stopping_.load()) {
      if (backoff > Duration::zero() && !SleepUnlessStopping(backoff)) return;
      if (!conn.Open().ok()) {
        Report(false);
        backoff = std::clamp<Duration>(2 * backoff, kFirstBackoff, kMaxBackoff);
        continue;
      }
      backoff = Duration::zero();
      Report(true);
      // Serve returns only when listening ended; why does not matter here, as the interface
      // reports the state and not the cause.
      conn.Serve([this](std::string payload) {
        if (stopping_.load()) return false;
        if (on_change_) on_change_(std::move(payload));
        return true;
      });
      conn.Close();
      Report(false);
    }
  }

  // Tells `on_state` of a change of listening; repeated failures are one "false".
  void Report(bool listening) {
    if (stopping_.load() || reported_ == listening) return;
    reported_ = listening;
    if (on_state_) on_state_(listening);
  }

  // False if the feed started stopping meanwhile.
  bool SleepUnlessStopping(Duration d) {
    const TimePoint until = steady_clock::now() + d;
    pollfd stop{stop_.fd(), POLLIN, 0};
    while (!stopping_.load()) {
      const int ms = MillisUntil(until);
      if (ms <= 0) return true;
      if (::poll(&stop, 1, ms) > 0) return false;  // else timeout or EINTR
    }
    return false;
  }

  const PostgresChangeFeedOptions options_;
  postgres::EventFd stop_;
  std::atomic<bool> stopping_{false};
  // Set by Start before the thread exists, then only the thread touches them.
  std::function<void(std::string)> on_change_;
  std::function<void(bool)> on_state_;
  std::optional<bool> reported_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<ChangeFeed>> MakePostgresChangeFeed(PostgresChangeFeedOptions options) {
  if (Status s = Validate(options); !s.ok()) return s;
  auto feed = std::make_unique<PostgresChangeFeed>(std::move(options));
  if (Status s = feed->Init(); !s.ok()) return s;
  return std::unique_ptr<ChangeFeed>(std::move(feed));
}

}  // namespace tiercache
