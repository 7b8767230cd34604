#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"
#include "tiers/postgres/pg_connection.h"
#include "tiers/postgres/schema_files.h"

namespace tiercache::postgres {

// `text` with every {{table}} replaced by `table`.
std::string RenderSql(std::string_view text, std::string_view table);

// The schema version of a deploy/sql file: its name's leading number; 0 if it has none.
int SchemaVersion(const SqlFile& file);

// Brings `table` up to the newest version in deploy/sql/. One transaction that first takes
// an advisory lock, so several servers starting at once apply each file exactly once; the
// versions applied are rows of the table "<table>_schema". A file runs when its version is
// above the newest recorded one, or when the entries table is missing (every file is
// idempotent, so a dropped table is simply created again). Closes nothing: on failure the
// caller drops the connection, which ends the transaction.
Status EnsureSchema(PgConnection& conn, std::string_view table, TimePoint deadline);

}  // namespace tiercache::postgres
