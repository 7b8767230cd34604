#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/warm_source.h"

namespace tiercache {

// Settings of the `sql` warming source: a query against a PostgreSQL database whose rows
// become cache entries. Templates hold placeholders `{column}` (a name: a letter or _, then
// letters, digits, _), filled with the column's text form; any other brace is literal.
struct SqlWarmOptions {
  // The database to read: a libpq connection string or postgresql:// URI.
  std::string dsn;
  // One SELECT (or VALUES); it runs as a cursor in a read-only transaction, so anything
  // else, several statements, or a query that writes fails the run.
  std::string query;
  // The entry's key, a template over the result's columns: "user:{id}". Must name at least
  // one column, or every row would overwrite the same key.
  std::string key;
  // The entry's tags, templates like the key: "user:{id}", "user_list".
  std::vector<std::string> tags;
  // The column whose bytes are the value (a bytea's bytes, any other type's text form).
  // Empty: the whole row as a JSON object, column -> value: NULL as null, bool as a
  // boolean, int2/int4/int8/oid and finite float4/float8 as numbers, json/jsonb embedded
  // as JSON, anything else (numeric included, to keep its digits) as its text form.
  std::string value_column;
  // The entries' lifetime; unset: the warming engine's default.
  std::optional<Duration> ttl;
  // Rows fetched per round trip (1 to 100,000): what the source holds in memory at once.
  size_t batch_rows = 1000;
  // The most connecting may take, in any unit (libpq's own counts whole seconds).
  Duration connect_timeout = std::chrono::seconds(5);
  // The server's statement_timeout for the run's statements: planning the query, and each
  // FETCH of a batch. Not the whole run: the time the sink spends between batches is
  // outside it. Whole milliseconds, rounded up, at most 2^31-1 ms.
  Duration statement_timeout = std::chrono::minutes(5);
};

// Validates `options` without connecting (kInvalidArgument naming the setting): an empty
// or unparsable dsn, an empty query, an empty key or tag, a key naming no column,
// batch_rows outside 1..100,000, a ttl or timeout that is not positive.
//
// Each Run(sink) opens its own connection, reads the rows through a NO SCROLL cursor,
// batch_rows per FETCH, and hands each row to the sink before the next batch is fetched:
// memory stays bounded by one batch whatever the result's size.
// - Before the first row, every column that the templates and value_column name must be
//   in the result: otherwise the run fails with kInvalidArgument naming the missing columns
//   and the result's columns.
// - Each row counts as attempted. A row whose key or tag needs a NULL column, or whose
//   value_column is NULL, is reported to sink.Failed ("row N") and skipped.
// - sink.Put returning false (or sink.cancelled()) ends the run early with Ok; the
//   transaction is rolled back.
// - The run fails with kUnavailable when the database cannot be reached or the connection
//   breaks (host:port and libpq's message), kInvalidArgument when PostgreSQL rejects the
//   query (its message and SQLSTATE), kDeadlineExceeded when a statement outlives
//   statement_timeout.
// Run blocks its caller (a scheduler worker) until done; runs may overlap, each with its own
// connection.
Result<std::unique_ptr<WarmSource>> MakeSqlWarmSource(SqlWarmOptions options);

}  // namespace tiercache
