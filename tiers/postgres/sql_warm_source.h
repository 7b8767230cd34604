#pragma once

#include <memory>

#include "core/status.h"
#include "core/warm_source.h"
#include "tiers/postgres/sql_warm_options.h"

namespace tiercache {

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
