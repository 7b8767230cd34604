#include "tiers/postgres/tasks.h"

namespace tiercache::postgres {

Result<uint64_t> DeleteAllTagged(PgConnection& conn, const EntryTable& table,
                                 const std::string& tags, size_t batch, TimePoint deadline,
                                 Duration timeout) {
  uint64_t removed = 0;
  while (true) {
    Result<Removed> r = table.DeleteTagged(conn, tags, batch, deadline);
    if (!r.ok()) return r.status();
    removed += r->live;
    if (r->rows < batch) return removed;
    deadline = Now() + timeout;
  }
}

RangeRemovalTask::RangeRemovalTask(const EntryTable& table, Duration timeout, KeyRange range,
                                 std::shared_ptr<const KeyPattern> pattern,
                                 Callback<Result<uint64_t>> done)
    : table_(table),
      timeout_(timeout),
      range_(std::move(range)),
      pattern_(std::move(pattern)),
      done_(std::move(done)) {}

bool RangeRemovalTask::Step(PgConnection& conn) {
  Result<std::vector<std::string>> keys = table_.Keys(conn, range_, kPageSize, Now() + timeout_);
  if (!keys.ok()) return Answer(keys.status());
  const bool last_page = keys->size() < kPageSize;
  // The next page starts right after this one's last key: that key plus a zero byte.
  if (!keys->empty()) range_.from = keys->back() + '\0';
  std::vector<std::string> doomed = Doomed(std::move(*keys));
  if (!doomed.empty()) {
    Result<Removed> r = table_.DeleteKeys(conn, doomed, Now() + timeout_);
    if (!r.ok()) return Answer(r.status());
    removed_ += r->live;
  }
  return last_page ? Answer(removed_) : false;
}

std::vector<std::string> RangeRemovalTask::Doomed(std::vector<std::string> keys) const {
  if (pattern_ == nullptr) return keys;
  std::erase_if(keys, [&](const std::string& key) { return !pattern_->Matches(key); });
  return keys;
}

bool RangeRemovalTask::Answer(Result<uint64_t> result) {
  done_(std::move(result));
  return true;
}

SweepTask::SweepTask(const EntryTable& table, size_t batch, Duration timeout,
                   Duration measure_timeout, Finished finished)
    : table_(table),
      batch_(batch),
      timeout_(timeout),
      measure_timeout_(measure_timeout),
      finished_(std::move(finished)) {}

bool SweepTask::Step(PgConnection& conn) {
  Result<uint64_t> deleted = table_.DeleteExpired(conn, batch_, Now() + timeout_);
  if (!deleted.ok()) return Finish(std::nullopt);
  if (*deleted >= batch_) return false;  // more left: other tasks take their turn first
  Result<TagIndexStats> stats = table_.MeasureTags(conn, Now() + measure_timeout_);
  return Finish(stats.ok() ? std::optional(*stats) : std::nullopt);
}

bool SweepTask::Finish(std::optional<TagIndexStats> stats) {
  finished_(stats);
  return true;
}

}  // namespace tiercache::postgres
