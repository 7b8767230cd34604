#include "tiers/redis/redis_keyspace_walks.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "tiers/redis/redis_scripts.h"

namespace tiercache::redis {

namespace {

// Keys per SCAN page, and tag sets per sweep script call (about 0.3 ms of Redis's time).
constexpr const char* kScanCount = "1000";
constexpr size_t kSweepChunk = 100;

struct Page {
  std::string cursor;
  std::vector<std::string> keys;
};

Status ShuttingDown() { return Status::Unavailable("redis: the tier is shutting down"); }

Status Unexpected(const char* what) {
  return Status::Internal(std::string("redis: unexpected reply to ") + what);
}

Result<Reply> Call(Pool& pool, Command command) {
  std::vector<Command> one;
  one.push_back(std::move(command));
  return std::move(pool.RoundTrip(std::move(one)).front());
}

// One SCAN step over keys matching `glob` (and of `type`, unless empty).
Result<Page> Scan(Pool& pool, const std::string& cursor, const std::string& glob,
                  std::string_view type = {}) {
  Command scan{Args{"SCAN", cursor, "MATCH", glob, "COUNT", kScanCount}};
  if (!type.empty()) scan.args.Add("TYPE").Add(std::string(type));
  Result<Reply> r = Call(pool, std::move(scan));
  if (!r.ok()) return r.status();
  if (r->type != Reply::Type::kArray || r->elements.size() != 2 ||
      r->elements[1].type != Reply::Type::kArray) {
    return Unexpected("SCAN");
  }
  Page page{std::move(r->elements[0].str), {}};
  page.keys.reserve(r->elements[1].elements.size());
  for (Reply& key : r->elements[1].elements) page.keys.push_back(std::move(key.str));
  return page;
}

// The sum of the integer replies, or the first failure.
Result<uint64_t> SumOf(std::vector<Result<Reply>>& replies, const char* what) {
  uint64_t sum = 0;
  for (Result<Reply>& r : replies) {
    if (!r.ok()) return r.status();
    if (r->type != Reply::Type::kInteger) return Unexpected(what);
    sum += static_cast<uint64_t>(r->integer);
  }
  return sum;
}

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status MeasureClock(Pool& pool, ServerClock& clock) {
  const int64_t sent = SystemNowMs();
  Result<Reply> r = Call(pool, Command{Args{"TIME"}});
  if (!r.ok()) return r.status();
  if (r->type != Reply::Type::kArray || r->elements.size() != 2) return Unexpected("TIME");
  const auto seconds = ParseInt64(r->elements[0].str);
  const auto micros = ParseInt64(r->elements[1].str);
  if (!seconds || !micros) return Unexpected("TIME");
  const int64_t redis_ms = *seconds * 1000 + *micros / 1000;
  clock.Observe(redis_ms, sent, SystemNowMs());
  return Status::Ok();
}

}  // namespace

Result<uint64_t> ClearNamespace(Pool& pool, const Layout& layout,
                                const std::atomic<bool>& stopping) {
  uint64_t removed = 0;
  std::string cursor = "0";
  do {
    if (stopping.load()) return ShuttingDown();
    Result<Page> page = Scan(pool, cursor, layout.NamespaceGlob());
    if (!page.ok()) return page.status();
    // Entries and tag sets apart: only entries count.
    Args entries{"UNLINK"};
    Args others{"UNLINK"};
    for (std::string& key : page->keys) {
      if (layout.IsCounterKey(key)) continue;  // the server's own, not cached data
      (layout.IsEntryKey(key) ? entries : others).Add(std::move(key));
    }
    std::vector<Command> unlinks;
    const bool any_entries = entries.size() > 1;
    if (any_entries) unlinks.emplace_back(std::move(entries));
    if (others.size() > 1) unlinks.emplace_back(std::move(others));
    std::vector<Result<Reply>> replies = pool.RoundTrip(std::move(unlinks));
    Result<uint64_t> sum = SumOf(replies, "UNLINK");
    if (!sum.ok()) return sum.status();
    if (any_entries) removed += static_cast<uint64_t>(replies.front()->integer);
    cursor = std::move(page->cursor);
  } while (cursor != "0");
  return removed;
}

Result<uint64_t> RemoveMatching(Pool& pool, const Layout& layout, const KeyPattern& pattern,
                                const std::atomic<bool>& stopping) {
  uint64_t removed = 0;
  std::string cursor = "0";
  do {
    if (stopping.load()) return ShuttingDown();
    Result<Page> page = Scan(pool, cursor, layout.EntryGlob());
    if (!page.ok()) return page.status();
    std::vector<std::string> matches;
    for (std::string& key : page->keys) {
      if (layout.IsEntryKey(key) && pattern.Matches(layout.KeyOf(key))) {
        matches.push_back(std::move(key));
      }
    }
    if (!matches.empty()) {
      Command remove{Args{std::to_string(matches.size())}, kDeleteScript};
      for (std::string& key : matches) remove.args.Add(std::move(key));
      remove.args.Add(layout.tag_prefix()).Add(std::to_string(layout.entry_prefix().size()));
      Result<Reply> r = Call(pool, std::move(remove));
      if (!r.ok()) return r.status();
      if (r->type != Reply::Type::kInteger) return Unexpected("the delete script");
      removed += static_cast<uint64_t>(r->integer);
    }
    cursor = std::move(page->cursor);
  } while (cursor != "0");
  return removed;
}

Result<TagIndexStats> SweepTagSets(Pool& pool, const Layout& layout, ServerClock& clock,
                                   const std::atomic<bool>& stopping) {
  if (Status s = MeasureClock(pool, clock); !s.ok()) return s;
  TagIndexStats stats;
  stats.measured = true;
  std::string cursor = "0";
  do {
    if (stopping.load()) return ShuttingDown();
    Result<Page> page = Scan(pool, cursor, layout.TagGlob(), "zset");
    if (!page.ok()) return page.status();
    std::vector<Command> sweeps;
    for (size_t i = 0; i < page->keys.size(); i += kSweepChunk) {
      const size_t n = std::min(kSweepChunk, page->keys.size() - i);
      Command sweep{Args{std::to_string(n)}, kSweepScript};
      for (size_t j = i; j < i + n; ++j) sweep.args.Add(std::move(page->keys[j]));
      sweeps.push_back(std::move(sweep));
    }
    for (Result<Reply>& r : pool.RoundTrip(std::move(sweeps))) {
      if (!r.ok()) return r.status();
      if (r->type != Reply::Type::kArray || r->elements.size() != 3) {
        return Unexpected("the sweep script");
      }
      stats.tags += static_cast<uint64_t>(r->elements[0].integer);
      stats.memberships += static_cast<uint64_t>(r->elements[1].integer);
      stats.bytes += static_cast<uint64_t>(r->elements[2].integer);
    }
    cursor = std::move(page->cursor);
  } while (cursor != "0");
  return stats;
}

}  // namespace tiercache::redis
