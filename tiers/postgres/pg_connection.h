#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace tiercache::postgres {

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// One statement parameter; binary unless `binary` is false.
struct PgParam {
  std::string_view bytes;
  bool binary = true;
};

// "host:port" as `dsn` names them (or libpq's defaults), for messages: never the whole DSN,
// which may hold a password. Parsing also validates the DSN (kInvalidArgument) without
// connecting.
Result<std::string> EndpointOf(const std::string& dsn);

// One libpq connection driven through the non-blocking API (PQconnectPoll, PQsendQuery*,
// PQflush, PQconsumeInput), so every wait polls the socket with a deadline and ends at once
// when `stop_fd` turns readable (its owner stopping: the tier, the change feed), with
// kUnavailable and `stopping` as the message.
//
// A command that misses its deadline, or that finds the connection broken, closes the
// connection: the server may still be working on it, and a half-read reply cannot be
// resumed. An SQL error keeps the connection, unless it shows that the session's prepared
// statements no longer fit the database (a dropped table). Errors name `label` (host:port)
// and carry PostgreSQL's message; an SQL error also its SQLSTATE.
// Not thread-safe: each connection belongs to one thread.
class PgConnection {
 public:
  PgConnection(std::string conninfo, std::string label, int stop_fd,
               std::string_view stopping = "the tier is shutting down");
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Opens a new connection, closing the current one.
  Status Connect(TimePoint deadline);
  void Close();
  bool connected() const { return conn_ != nullptr; }
  // PostgreSQL's version as an integer (150004 for 15.4); 0 when not connected.
  int server_version() const;
  const std::string& label() const { return label_; }
  // Why the connection was last closed by a failure (empty if it was not).
  const std::string& close_reason() const { return close_reason_; }

  // Runs `sql` (one or more statements, text results) through the simple-query protocol;
  // the last statement's result, or the first error.
  Result<PgResult> Exec(const std::string& sql, TimePoint deadline);
  Status Prepare(const char* name, const std::string& sql, TimePoint deadline);
  // Runs a prepared statement with binary results.
  Result<PgResult> ExecPrepared(const char* name, std::span<const PgParam> params,
                                TimePoint deadline);

  // Waits, with no command running, until `wake_fd` turns readable or `until` passes. Fails
  // if the connection is lost meanwhile (the server closing it announces that on the socket)
  // or the tier is stopping.
  Status WaitIdle(int wake_fd, TimePoint until);

  // What ended one wait of NextIdleEvent.
  enum class IdleEvent {
    kInput,   // the server sent something, now read: notifications, a notice
    kWoken,   // `wake_fd` turned readable
    kTimeout  // `until` passed
  };
  // Waits once, with no command running, for the server, `wake_fd` (-1: none) or `until`.
  // Fails as WaitIdle does.
  Result<IdleEvent> NextIdleEvent(int wake_fd, TimePoint until);
  // The payload of the oldest notification (LISTEN) that libpq has read, if any.
  std::optional<std::string> TakeNotification();

 private:
  Status Wait(short events, TimePoint deadline);
  Result<PgResult> Collect(TimePoint deadline);
  Status Flush(TimePoint deadline);
  // Closes the connection and describes why.
  Status Lost(std::string_view what);
  Status Abandon(Status why);
  Status ResultError(const PGresult* result) const;

  const std::string conninfo_;
  const std::string label_;
  const int stop_fd_;
  const std::string stopping_;  // label: why a wait ended on `stop_fd`
  PGconn* conn_ = nullptr;
  std::string close_reason_;
};

// `status` with " (context)" added to its message; ok stays ok.
Status WithContext(const Status& status, std::string_view context);

// Rows affected by a command (PQcmdTuples), 0 if it reports none.
uint64_t AffectedRows(PGresult* result);
// The value of a cell as bytes (binary or text, as the result was requested).
std::string_view Cell(const PGresult* result, int row, int column);

}  // namespace tiercache::postgres
