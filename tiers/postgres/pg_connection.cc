#include "tiers/postgres/pg_connection.h"

#include <poll.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tiers/common/stop_wait.h"

namespace tiercache::postgres {

namespace {

using std::chrono::steady_clock;

// SQLSTATE 57014, query_canceled: what the server's statement_timeout raises.
constexpr std::string_view kQueryCanceled = "57014";

// Errors after which this session's prepared statements no longer fit the database: the
// table was dropped (42P01) or changed (0A000, "cached plan must not change result type"),
// or the statements are gone (26000, a pooler's DISCARD ALL). A new connection prepares
// them again after re-creating the schema.
bool SessionIsStale(std::string_view sqlstate) {
  return sqlstate == "42P01" || sqlstate == "0A000" || sqlstate == "26000";
}

// libpq's messages end in newlines and may span lines ("...failed: Connection refused\n\tIs
// the server running..."): one line reads better in a log.
std::string OneLine(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    const bool blank = c == '\n' || c == '\t' || c == '\r' || c == ' ';
    if (blank) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// Notices ("relation already exists, skipping") would go to stderr by default.
void IgnoreNotice(void*, const PGresult*) {}

}  // namespace

PgConnection::PgConnection(std::string conninfo, std::string label, int stop_fd,
                           std::string_view stopping)
    : conninfo_(std::move(conninfo)),
      label_(std::move(label)),
      stop_fd_(stop_fd),
      stopping_(label_ + ": " + std::string(stopping)) {}

PgConnection::~PgConnection() { Close(); }

void PgConnection::Close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

int PgConnection::server_version() const { return conn_ ? PQserverVersion(conn_) : 0; }

Status PgConnection::Connect(TimePoint deadline) {
  Close();
  close_reason_.clear();
  // The DSN goes in as "dbname" with expansion, so it may be a conninfo string or a URI.
  const char* const keys[] = {"dbname", "fallback_application_name", nullptr};
  const char* const values[] = {conninfo_.c_str(), "tiercached", nullptr};
  conn_ = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
  if (conn_ == nullptr) return Status::Unavailable(label_ + ": out of memory");
  if (PQstatus(conn_) == CONNECTION_BAD) return Lost("cannot connect");
  PQsetNoticeReceiver(conn_, IgnoreNotice, nullptr);
  // libpq's connect_timeout counts whole seconds and only in blocking mode: polling here
  // honours any Duration and the stop signal.
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) return Lost("cannot connect");
    Status ready = Wait(state == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
    if (!ready.ok()) {
      Close();
      if (ready.code() != StatusCode::kDeadlineExceeded) return ready;
      return Status::Unavailable(label_ + ": no answer within the connect timeout");
    }
    state = PQconnectPoll(conn_);
  }
  if (PQsetnonblocking(conn_, 1) != 0) return Lost("cannot switch to non-blocking mode");
  return Status::Ok();
}

Status PgConnection::Wait(short events, TimePoint deadline) {
  while (true) {
    pollfd fds[2] = {{PQsocket(conn_), events, 0}, {stop_fd_, POLLIN, 0}};
    const int timeout = backend::PollTimeoutMs(deadline);
    const int n = ::poll(fds, 2, timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Unavailable(label_ + ": poll: " + std::strerror(errno));
    if (fds[1].revents != 0) return Status::Unavailable(stopping_);
    // Errors and hang-ups count as ready: libpq reads them and reports the broken connection.
    if (fds[0].revents != 0) return Status::Ok();
    if (timeout == 0 || steady_clock::now() >= deadline) {
      return Status::DeadlineExceeded(label_ + ": no reply in time, connection dropped");
    }
  }
}

Status PgConnection::WaitIdle(int wake_fd, TimePoint until) {
  while (true) {
    // With no command running, the server speaks only to say it is closing the connection
    // (an administrator command, a shutdown), to send a notice or to notify a listener.
    Result<IdleEvent> event = NextIdleEvent(wake_fd, until);
    if (!event.ok()) return event.status();
    if (*event != IdleEvent::kInput) return Status::Ok();
  }
}

Result<PgConnection::IdleEvent> PgConnection::NextIdleEvent(int wake_fd, TimePoint until) {
  if (conn_ == nullptr) return Status::Unavailable(label_ + ": not connected");
  while (true) {
    // A negative fd (no wake_fd) is ignored by poll().
    pollfd fds[3] = {{PQsocket(conn_), POLLIN, 0}, {stop_fd_, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    const int timeout = backend::PollTimeoutMs(until);
    const int n = ::poll(fds, 3, timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Unavailable(label_ + ": poll: " + std::strerror(errno));
    if (fds[1].revents != 0) return Status::Unavailable(stopping_);
    if (fds[0].revents != 0) {
      if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) == CONNECTION_BAD) {
        return Lost("connection lost");
      }
      return IdleEvent::kInput;
    }
    if (n > 0) return IdleEvent::kWoken;
    if (timeout == 0 || steady_clock::now() >= until) return IdleEvent::kTimeout;
  }
}

std::optional<std::string> PgConnection::TakeNotification() {
  if (conn_ == nullptr) return std::nullopt;
  PGnotify* notification = PQnotifies(conn_);
  if (notification == nullptr) return std::nullopt;
  std::string payload(notification->extra);
  PQfreemem(notification);
  return payload;
}

Result<PgResult> PgConnection::Exec(const std::string& sql, TimePoint deadline) {
  if (conn_ == nullptr) return Status::Unavailable(label_ + ": not connected");
  if (PQsendQuery(conn_, sql.c_str()) == 0) return Lost("cannot send a query");
  return Collect(deadline);
}

Status PgConnection::Prepare(const char* name, const std::string& sql, TimePoint deadline) {
  if (conn_ == nullptr) return Status::Unavailable(label_ + ": not connected");
  if (PQsendPrepare(conn_, name, sql.c_str(), 0, nullptr) == 0) return Lost("cannot prepare");
  return WithContext(Collect(deadline).status(), "preparing " + std::string(name));
}

Result<PgResult> PgConnection::ExecPrepared(const char* name, std::span<const PgParam> params,
                                            TimePoint deadline) {
  if (conn_ == nullptr) return Status::Unavailable(label_ + ": not connected");
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  values.reserve(params.size());
  lengths.reserve(params.size());
  formats.reserve(params.size());
  for (const PgParam& p : params) {
    // A zero-length binary value still needs a non-null pointer, or it would be SQL NULL.
    values.push_back(p.bytes.data() != nullptr ? p.bytes.data() : "");
    lengths.push_back(static_cast<int>(p.bytes.size()));
    formats.push_back(p.binary ? 1 : 0);
  }
  if (PQsendQueryPrepared(conn_, name, static_cast<int>(params.size()), values.data(),
                          lengths.data(), formats.data(), /*resultFormat=*/1) == 0) {
    return Lost("cannot send a query");
  }
  return Collect(deadline);
}

Status PgConnection::Flush(TimePoint deadline) {
  while (true) {
    const int pending = PQflush(conn_);
    if (pending == 0) return Status::Ok();
    if (pending < 0) return Lost("cannot send");
    // Read while waiting to write: a server blocked on sending to us would never drain
    // our writes otherwise.
    Status ready = Wait(POLLIN | POLLOUT, deadline);
    if (!ready.ok()) return Abandon(std::move(ready));
    if (PQconsumeInput(conn_) == 0) return Lost("connection lost");
  }
}

Result<PgResult> PgConnection::Collect(TimePoint deadline) {
  if (Status sent = Flush(deadline); !sent.ok()) return sent;
  PgResult last;
  Status error;
  bool stale = false;
  while (true) {
    while (PQisBusy(conn_)) {
      Status ready = Wait(POLLIN, deadline);
      if (!ready.ok()) return Abandon(std::move(ready));
      if (PQconsumeInput(conn_) == 0) return Lost("connection lost");
    }
    PgResult result(PQgetResult(conn_));
    if (result == nullptr) break;  // every result of the command has been read
    const ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR ||
        status == PGRES_BAD_RESPONSE) {
      if (error.ok()) error = ResultError(result.get());
      const char* sqlstate = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
      stale = stale || (sqlstate != nullptr && SessionIsStale(sqlstate));
    } else {
      last = std::move(result);
    }
  }
  if (PQstatus(conn_) == CONNECTION_BAD) return Lost("connection lost");
  if (stale) return Abandon(std::move(error));
  if (!error.ok()) return error;
  return last;
}

Status PgConnection::ResultError(const PGresult* result) const {
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string message = label_ + ": " + OneLine(PQresultErrorMessage(result));
  if (sqlstate != nullptr) message += " (SQLSTATE " + std::string(sqlstate) + ")";
  if (sqlstate != nullptr && sqlstate == kQueryCanceled) {
    return Status::DeadlineExceeded(std::move(message));
  }
  return Status::Unavailable(std::move(message));
}

Status PgConnection::Lost(std::string_view what) {
  std::string message = label_ + ": " + std::string(what);
  if (conn_ != nullptr) {
    const std::string detail = OneLine(PQerrorMessage(conn_));
    if (!detail.empty()) message += ": " + detail;
  }
  Close();
  close_reason_ = message;
  return Status::Unavailable(std::move(message));
}

Status PgConnection::Abandon(Status why) {
  Close();
  close_reason_ = why.message();
  return why;
}

Status WithContext(const Status& status, std::string_view context) {
  const std::string message = status.message() + " (" + std::string(context) + ")";
  switch (status.code()) {
    case StatusCode::kOk:
      return status;
    case StatusCode::kNotFound:
      return Status::NotFound(message);
    case StatusCode::kInvalidArgument:
      return Status::InvalidArgument(message);
    case StatusCode::kTooLarge:
      return Status::TooLarge(message);
    case StatusCode::kUnavailable:
      return Status::Unavailable(message);
    case StatusCode::kInternal:
      return Status::Internal(message);
    case StatusCode::kDeadlineExceeded:
      return Status::DeadlineExceeded(message);
  }
  return Status::Internal(message);
}

uint64_t AffectedRows(PGresult* result) { return std::strtoull(PQcmdTuples(result), nullptr, 10); }

std::string_view Cell(const PGresult* result, int row, int column) {
  return std::string_view(PQgetvalue(result, row, column),
                          static_cast<size_t>(PQgetlength(result, row, column)));
}

Result<std::string> EndpointOf(const std::string& dsn) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return Status::InvalidArgument("dsn: " + message);
  }
  std::string host, hostaddr, port;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || *o->val == '\0') continue;
    const std::string_view key = o->keyword;
    if (key == "host") host = o->val;
    if (key == "hostaddr") hostaddr = o->val;
    if (key == "port") port = o->val;
  }
  PQconninfoFree(options);
  const char* env_host = std::getenv("PGHOST");
  const char* env_port = std::getenv("PGPORT");
  if (host.empty()) host = hostaddr.empty() ? (env_host ? env_host : "localhost") : hostaddr;
  if (port.empty()) port = env_port ? env_port : "5432";
  return host + ":" + port;
}


}  // namespace tiercache::postgres
