#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/key_pattern.h"
#include "core/status.h"
#include "core/tier.h"
#include "tiers/postgres/entry_table.h"
#include "tiers/postgres/key_range.h"
#include "tiers/postgres/pg_connection.h"
#include "tiers/postgres/work_queue.h"

// The work a PostgreSQL tier's connection threads do (work_queue.h): single calls on the
// pool, and the bulk tasks of the maintenance connection, which go a bounded step at a time.
namespace tiercache::postgres {

inline TimePoint Now() { return std::chrono::steady_clock::now(); }

// An operation of the connection pool: one call of `work`, whose result answers `done`.
// Its deadline counts from when it was queued, so waiting for a busy pool counts too.
template <class T, class Work>
class CallTask final : public Task {
 public:
  CallTask(TimePoint deadline, Work work, Callback<T> done)
      : deadline_(deadline), work_(std::move(work)), done_(std::move(done)) {}

  bool Step(PgConnection& conn) override {
    if (Now() >= deadline_) {
      done_(T(Status::DeadlineExceeded(conn.label() +
                                       ": waited out the command timeout for a connection")));
    } else {
      done_(work_(conn, deadline_));
    }
    return true;
  }
  void Fail(Status status) override { done_(T(std::move(status))); }

 private:
  const TimePoint deadline_;
  Work work_;
  Callback<T> done_;
};

// Removes every live row carrying any of `tags` (a binary text[]), `batch` rows per
// statement so that a tag on many rows never runs into the timeout: the first statement
// has until `deadline`, each later one `timeout` of its own. How many entries went.
Result<uint64_t> DeleteAllTagged(PgConnection& conn, const EntryTable& table,
                                 const std::string& tags, size_t batch, TimePoint deadline,
                                 Duration timeout);

// Clear and pattern invalidation: pages through the keys of `range` in key order, a page
// per step, and deletes those that `pattern` matches (every one without a pattern). The
// pattern is RE2's, tested here, never translated to PostgreSQL's regular expressions.
class RangeRemovalTask final : public Task {
 public:
  static constexpr size_t kPageSize = 5000;

  RangeRemovalTask(const EntryTable& table, Duration timeout, KeyRange range,
                  std::shared_ptr<const KeyPattern> pattern, Callback<Result<uint64_t>> done);

  bool Step(PgConnection& conn) override;
  void Fail(Status status) override { done_(std::move(status)); }

 private:
  std::vector<std::string> Doomed(std::vector<std::string> keys) const;
  bool Answer(Result<uint64_t> result);

  const EntryTable& table_;
  const Duration timeout_;
  KeyRange range_;  // what is left to look at
  const std::shared_ptr<const KeyPattern> pattern_;
  Callback<Result<uint64_t>> done_;
  uint64_t removed_ = 0;
};

// Deletes expired rows a batch per step, then measures the tag bookkeeping; hands the
// measurement (nullopt when the sweep failed or never ran) to `finished`.
class SweepTask final : public Task {
 public:
  using Finished = std::function<void(std::optional<TagIndexStats>)>;

  SweepTask(const EntryTable& table, size_t batch, Duration timeout, Duration measure_timeout,
           Finished finished);

  bool Step(PgConnection& conn) override;
  void Fail(Status) override { finished_(std::nullopt); }

 private:
  bool Finish(std::optional<TagIndexStats> stats);

  const EntryTable& table_;
  const size_t batch_;
  const Duration timeout_;
  const Duration measure_timeout_;
  Finished finished_;
};

}  // namespace tiercache::postgres
