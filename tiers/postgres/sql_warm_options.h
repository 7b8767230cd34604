#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"

// Header only (the INTERFACE library tiercache_sql_warm_options), so that config/ can fill
// it without linking libpq; the source itself is sql_warm_source.h.

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

}  // namespace tiercache
