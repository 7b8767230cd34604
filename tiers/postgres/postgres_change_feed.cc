#include "tiers/postgres/postgres_change_feed.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "tiers/common/event_fd.h"
#include "tiers/common/reconnect_backoff.h"
#include "tiers/common/stop_wait.h"
#include "tiers/postgres/pg_connection.h"

namespace tiercache {

namespace {

using postgres::PgConnection;
using std::chrono::steady_clock;

// PostgreSQL's identifier limit (NAMEDATALEN - 1): LISTEN would truncate a longer name and
// listen on another channel than the triggers notify.
constexpr size_t kMaxChannelLength = 63;
constexpr const char *kStopping = "the change feed is stopping";

bool ValidChannel(std::string_view channel) {
  if (channel.empty() || channel.size() > kMaxChannelLength) return false;
  if (channel[0] >= '0' && channel[0] <= '9') return false;
  return std::all_of(channel.begin(), channel.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Everything but the DSN, which EndpointOf parses.
Status Validate(const PostgresChangeFeedOptions &o) {
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

// The feed's one connection: LISTENs, then waits for notifications, asking the server with
// a keepalive whether it is still there after a silence. Every wait polls the socket with a
// deadline and the stop fd, so neither a dead server nor a hung one holds the thread.
class ListenConnection {
 public:
  ListenConnection(const PostgresChangeFeedOptions &options, std::string endpoint, int stop_fd)
      : options_(options), conn_(options.dsn, std::move(endpoint), stop_fd, kStopping) {}

  // Connects and LISTENs.
  Status Open() {
    if (Status s = conn_.Connect(steady_clock::now() + options_.connect_timeout); !s.ok()) {
      return s;
    }
    if (Status s = Command("LISTEN \"" + options_.channel + "\""); !s.ok()) {
      conn_.Close();
      return s;
    }
    return Status::Ok();
  }

  void Close() { conn_.Close(); }

  // Hands each notification's payload to `deliver` until the connection breaks (the error)
  // or the feed stops (kUnavailable).
  template <class Deliver>
  Status Serve(Deliver deliver) {
    TimePoint quiet_until = steady_clock::now() + options_.keepalive_interval;
    while (true) {
      while (std::optional<std::string> payload = conn_.TakeNotification()) {
        if (!deliver(std::move(*payload))) return Stopping();
      }
      // Notifications, or the server saying that it closes the connection.
      Result<PgConnection::IdleEvent> event = conn_.NextIdleEvent(-1, quiet_until);
      if (!event.ok()) return event.status();
      if (*event == PgConnection::IdleEvent::kInput) {
        quiet_until = steady_clock::now() + options_.keepalive_interval;
        continue;
      }
      // Silence proves nothing on a listening connection: ask.
      if (Status s = Command("SELECT 1"); !s.ok()) return s;
      quiet_until = steady_clock::now() + options_.keepalive_interval;
    }
  }

 private:
  // Runs `sql`; notifications arriving meanwhile stay queued in libpq for Serve.
  Status Command(const std::string &sql) {
    return conn_.Exec(sql, steady_clock::now() + options_.command_timeout).status();
  }

  Status Stopping() const { return Status::Unavailable(conn_.label() + ": " + kStopping); }

  const PostgresChangeFeedOptions &options_;
  PgConnection conn_;
};

class PostgresChangeFeed final : public ChangeFeed {
 public:
  PostgresChangeFeed(PostgresChangeFeedOptions options, std::string endpoint)
      : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

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
    ListenConnection conn(options_, endpoint_, stop_.fd());
    backend::ReconnectBackoff backoff;
    while (!stopping_.load()) {
      if (!conn.Open().ok()) {
        Report(false);
        if (!backend::SleepUnlessStopping(backoff.Next(), stop_, stopping_)) return;
        continue;
      }
      backoff.Reset();
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

  const PostgresChangeFeedOptions options_;
  const std::string endpoint_;  // host:port, for messages
  backend::EventFd stop_;
  std::atomic<bool> stopping_{false};
  // Set by Start before the thread exists, then only the thread touches them.
  std::function<void(std::string)> on_change_;
  std::function<void(bool)> on_state_;
  std::optional<bool> reported_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<ChangeFeed>> MakePostgresChangeFeed(PostgresChangeFeedOptions options) {
  // Parsing the DSN up front turns a typo into a configuration error instead of an endless
  // series of failed connection attempts.
  if (options.dsn.empty()) return Status::InvalidArgument("dsn must not be empty");
  Result<std::string> endpoint = postgres::EndpointOf(options.dsn);
  if (!endpoint.ok()) return endpoint.status();
  if (Status s = Validate(options); !s.ok()) return s;
  auto feed = std::make_unique<PostgresChangeFeed>(std::move(options), std::move(*endpoint));
  if (Status s = feed->Init(); !s.ok()) return s;
  return std::unique_ptr<ChangeFeed>(std::move(feed));
}

}  // namespace tiercache
