#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "tests/support/process.h"

namespace tiercache::test {

// A throwaway PostgreSQL 15 server for tests: a fresh cluster (initdb, trust
// authentication, superuser "postgres") in a temporary directory, listening on a free
// loopback port, without fsync. Stopped on destruction.
//
// As root, initdb and pg_ctl run as the user postgres (PostgreSQL refuses root) through
// runuser. Throws std::runtime_error, with PostgreSQL's own output, when a step fails.
// A watchdog process stops the server and removes its directory if this process dies
// without doing so (a test killed at its timeout).
class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  uint16_t port() const { return port_; }
  // A libpq connection string for the database "postgres" as user "postgres".
  std::string dsn() const;

  // Stops the server (fast shutdown: sessions are told and closed); a no-op if stopped.
  void Stop();
  // Starts it again, on the same port and with the same data.
  void Start();
  // Freezes the server and every backend with SIGSTOP: it still accepts TCP connections
  // (the kernel does that) but answers nothing, neither new nor open connections.
  void Pause();
  void Resume();

  // Runs `sql` with psql and returns its unaligned, tuples-only output (fields separated
  // by |, rows by newlines) without the final newline. Throws if psql fails.
  std::string Psql(const std::string& sql) const;

 private:
  void InitDb();
  pid_t PostmasterPid() const;
  // A PostgreSQL server program's command line, run as postgres when we are root.
  std::vector<std::string> ServerTool(std::vector<std::string> argv) const;
  CommandResult RunServerTool(std::vector<std::string> argv) const;
  void StartWatchdog();
  void StopWatchdog();

  TempDir dir_;
  uint16_t port_ = 0;
  bool running_ = false;
  bool paused_ = false;
  pid_t watchdog_ = 0;
};

}  // namespace tiercache::test
