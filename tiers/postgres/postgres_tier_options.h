#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "core/clock.h"

namespace tiercache {

// Settings of a PostgreSQL tier. Layout, bookkeeping and failure behaviour:
// tiers/postgres/README.md.
struct PostgresTierOptions {
  // The tier's name in status and the X-Cache-Tier header.
  std::string name = "L3";
  // A libpq connection string ("host=... dbname=...") or postgresql:// URI.
  std::string dsn = "host=127.0.0.1 port=5432 dbname=tiercache";
  // The table of this tier's entries, created at the first connection: a lower-case SQL
  // identifier ([a-z_][a-z0-9_]*, at most 56 characters, so the names of its index and
  // schema-version table fit PostgreSQL's 63). Clear and pattern invalidation touch only it.
  std::string table = "tiercache_entries";
  // Connections (one thread each) serving reads and writes. One more connection serves
  // clear, pattern invalidation and the sweep, so those never hold up reads.
  unsigned pool_size = 4;
  // The most a connection attempt may take (libpq's own connect_timeout is whole seconds).
  Duration connect_timeout = std::chrono::seconds(2);
  // The most one operation may wait, queued and in PostgreSQL, for its answer; it then fails
  // with kDeadlineExceeded and the connection is dropped (the server's statement_timeout is
  // set to it too). Bulk operations get this much per statement.
  Duration command_timeout = std::chrono::seconds(1);
  // How often expired rows are deleted and tag_index() measured.
  Duration sweep_interval = std::chrono::seconds(10);
  // Rows deleted per statement by the sweep and by tag invalidation, so neither holds long
  // locks or runs into command_timeout on a large table.
  size_t sweep_batch = 10000;
  // Operations waiting for a connection at most; beyond that an operation fails at once.
  size_t max_queued = 100000;
};

}  // namespace tiercache
