#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/tier.h"
#include "tiers/postgres/key_range.h"
#include "tiers/postgres/pg_connection.h"

namespace tiercache::postgres {

// Rows removed by one bulk statement: all of them, and those not yet expired (the ones a
// caller counts as entries; expired rows go too, they would only wait for the sweep).
struct Removed {
  uint64_t rows = 0;
  uint64_t live = 0;
};

// The statements of one tier's entries table (deploy/sql/001_entries.sql), prepared on each
// connection and run with binary parameters and results. Every call is one round trip and
// takes the deadline of its reply. Stateless apart from the table name: shared by all of a
// tier's connections.
class EntryTable {
 public:
  explicit EntryTable(std::string table) : table_(std::move(table)) {}

  const std::string& name() const { return table_; }

  // Prepares every statement below on a fresh connection.
  Status Prepare(PgConnection& conn, TimePoint deadline) const;

  // kNotFound when absent or expired.
  Result<TierEntry> Get(PgConnection& conn, std::string_view key, TimePoint deadline) const;
  Status Set(PgConnection& conn, const TierWrite& write, TimePoint deadline) const;
  // One INSERT over unnest()ed arrays: atomic, and a key written twice keeps its last write.
  Status SetBatch(PgConnection& conn, const std::vector<TierWrite>& writes,
                  TimePoint deadline) const;
  // Whether a live entry was removed.
  Result<bool> Delete(PgConnection& conn, std::string_view key, TimePoint deadline) const;
  // Removes up to `limit` rows carrying any of `tags` (a binary text[]).
  Result<Removed> DeleteTagged(PgConnection& conn, const std::string& tags, size_t limit,
                               TimePoint deadline) const;
  // Up to `limit` keys of `range` in key order.
  Result<std::vector<std::string>> Keys(PgConnection& conn, const KeyRange& range, size_t limit,
                                        TimePoint deadline) const;
  Result<Removed> DeleteKeys(PgConnection& conn, const std::vector<std::string>& keys,
                             TimePoint deadline) const;
  // Deletes up to `limit` expired rows; how many.
  Result<uint64_t> DeleteExpired(PgConnection& conn, size_t limit, TimePoint deadline) const;
  // Distinct tags, (row, tag) pairs and the bytes of the tags column over every row.
  Result<TagIndexStats> MeasureTags(PgConnection& conn, TimePoint deadline) const;
  Status Ping(PgConnection& conn, TimePoint deadline) const;
  // Adds `delta` to counter `name` of <table>_state (deploy/sql/004_state.sql).
  Result<int64_t> AddToCounter(PgConnection& conn, std::string_view name, int64_t delta,
                               TimePoint deadline) const;

 private:
  const std::string table_;
};

// The milliseconds a row lives for `ttl`: rounded up, at least 1.
int64_t TtlMillis(Duration ttl);

}  // namespace tiercache::postgres
