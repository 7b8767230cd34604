#include "tiers/postgres/postgres_tier.h"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"
#include "tiers/postgres/entry_table.h"
#include "tiers/common/event_fd.h"
#include "tiers/common/reconnect_backoff.h"
#include "tiers/common/stop_wait.h"
#include "tiers/postgres/tasks.h"
#include "tiers/postgres/key_range.h"
#include "tiers/postgres/pg_codec.h"
#include "tiers/postgres/pg_connection.h"
#include "tiers/postgres/schema.h"
#include "tiers/postgres/work_queue.h"

namespace tiercache {

namespace {

using namespace std::chrono_literals;
using postgres::CallTask;
using postgres::EntryTable;
using postgres::Task;
using postgres::KeyRange;
using postgres::Now;
using postgres::PgConnection;
using postgres::RangeRemovalTask;
using postgres::SweepTask;
using postgres::WorkQueue;

// Creating or migrating the schema may wait for another server's migration (advisory lock).
constexpr Duration kSchemaTimeout = 30s;
// Lets PostgreSQL notice soon that we dropped a connection mid-statement (after a timeout)
// and stop working for nobody. PostgreSQL 14 and later.
constexpr int kClientCheckIntervalMs = 1000;
// The table name's limit: 63 minus the longest suffix deploy/sql adds to it ("_schema").
constexpr size_t kMaxTableLength = 56;
constexpr unsigned kMaxPoolSize = 256;

int64_t Millis(Duration d) { return std::chrono::ceil<std::chrono::milliseconds>(d).count(); }

bool ValidTableName(std::string_view table) {
  if (table.empty() || table.size() > kMaxTableLength) return false;
  if (table[0] >= '0' && table[0] <= '9') return false;
  return std::all_of(table.begin(), table.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Messages name the setting; the caller knows which tier it was making.
Status Validate(const PostgresTierOptions& o) {
  if (o.name.empty()) return Status::InvalidArgument("name must not be empty");
  if (!ValidTableName(o.table)) {
    return Status::InvalidArgument(
        "table must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, "
        "at most " +
        std::to_string(kMaxTableLength) + " characters), got '" + o.table + "'");
  }
  if (o.pool_size == 0 || o.pool_size > kMaxPoolSize) {
    return Status::InvalidArgument("pool_size must be between 1 and " +
                                   std::to_string(kMaxPoolSize) + ", got " +
                                   std::to_string(o.pool_size));
  }
  const std::pair<const char*, Duration> durations[] = {{"connect_timeout", o.connect_timeout},
                                                        {"command_timeout", o.command_timeout},
                                                        {"sweep_interval", o.sweep_interval}};
  for (const auto& [field, value] : durations) {
    if (value <= Duration::zero()) {
      return Status::InvalidArgument(std::string(field) + " must be positive");
    }
  }
  if (o.sweep_batch == 0) return Status::InvalidArgument("sweep_batch must be positive");
  if (o.max_queued == 0) return Status::InvalidArgument("max_queued must be positive");
  return Status::Ok();
}

class PostgresTier final : public Tier {
 public:
  PostgresTier(PostgresTierOptions options, std::string endpoint)
      : options_(std::move(options)),
        endpoint_(std::move(endpoint)),
        table_(options_.table),
        pool_(endpoint_, options_.max_queued),
        maintenance_(endpoint_, options_.max_queued),
        next_sweep_(Now()) {}

  ~PostgresTier() override {
    stopping_.store(true);
    stop_.Signal();
    for (std::thread& t : threads_) t.join();
    pool_.Stop();
    maintenance_.Stop();
  }

  Status Start() {
    if (!stop_.ok()) return Status::Internal("postgres tier: eventfd failed");
    try {
      for (unsigned i = 0; i < options_.pool_size; ++i) {
        threads_.emplace_back([this] { RunPoolConnection(); });
      }
      threads_.emplace_back([this] { RunMaintenanceConnection(); });
    } catch (const std::system_error& e) {
      return Status::Internal("postgres tier: cannot start a thread: " + std::string(e.what()));
    }
    return Status::Ok();
  }

  std::string_view name() const override { return options_.name; }
  std::string_view kind() const override { return "postgres"; }

  void Get(std::string key, Callback<Result<TierEntry>> done) override {
    Call<Result<TierEntry>>(std::move(done),
                            [this, key = std::move(key)](PgConnection& c, TimePoint deadline) {
                              return table_.Get(c, key, deadline);
                            });
  }

  void Set(TierWrite write, Callback<Status> done) override {
    Call<Status>(std::move(done),
                 [this, write = std::move(write)](PgConnection& c, TimePoint deadline) {
                   return table_.Set(c, write, deadline);
                 });
  }

  void SetBatch(std::vector<TierWrite> writes, Callback<Status> done) override {
    Call<Status>(std::move(done),
                 [this, writes = std::move(writes)](PgConnection& c, TimePoint deadline) {
                   return table_.SetBatch(c, writes, deadline);
                 });
  }

  void Delete(std::string key, Callback<Result<bool>> done) override {
    Call<Result<bool>>(std::move(done),
                       [this, key = std::move(key)](PgConnection& c, TimePoint deadline) {
                         return table_.Delete(c, key, deadline);
                       });
  }

  void InvalidateTags(std::vector<std::string> tags, Callback<Result<uint64_t>> done) override {
    Call<Result<uint64_t>>(std::move(done), [this, tags = std::move(tags)](PgConnection& c,
                                                                           TimePoint deadline) {
      return postgres::DeleteAllTagged(c, table_, postgres::EncodeArray(postgres::kTextOid, tags),
                                       options_.sweep_batch, deadline, options_.command_timeout);
    });
  }

  void InvalidateMatching(std::shared_ptr<const KeyPattern> pattern,
                          Callback<Result<uint64_t>> done) override {
    if (pattern == nullptr) return done(Status::InvalidArgument("no pattern"));
    KeyRange range = postgres::CandidateKeys(pattern->scope(), pattern->pattern());
    maintenance_.Submit(std::make_unique<RangeRemovalTask>(
        table_, options_.command_timeout, std::move(range), std::move(pattern), std::move(done)));
  }

  void Clear(Callback<Result<uint64_t>> done) override {
    maintenance_.Submit(std::make_unique<RangeRemovalTask>(table_, options_.command_timeout,
                                                          KeyRange{}, nullptr, std::move(done)));
  }

  void Ping(Callback<Status> done) override {
    Call<Status>(std::move(done),
                 [this](PgConnection& c, TimePoint deadline) { return table_.Ping(c, deadline); });
  }

  TagIndexStats tag_index() const override {
    MutexLock lock(stats_mu_);
    return tag_index_;
  }

  bool supports_counters() const override { return true; }

  void AddToCounter(std::string name, int64_t delta, Callback<Result<int64_t>> done) override {
    Call<Result<int64_t>>(std::move(done), [this, name = std::move(name), delta](
                                               PgConnection& c, TimePoint deadline) {
      return table_.AddToCounter(c, name, delta, deadline);
    });
  }

 private:
  template <class T, class Work>
  void Call(Callback<T> done, Work work) {
    pool_.Submit(std::make_unique<CallTask<T, Work>>(Now() + options_.command_timeout,
                                                     std::move(work), std::move(done)));
  }

  // The statement timeout of the maintenance connection: measuring the tag bookkeeping
  // reads every row, so it may take longer than one command of the pool.
  Duration MeasureTimeout() const {
    return std::max(options_.command_timeout, std::min<Duration>(options_.sweep_interval, 60s));
  }

  void RunPoolConnection() {
    PgConnection conn(options_.dsn, endpoint_, stop_.fd());
    KeepServing(conn, pool_, options_.command_timeout, [&] { ServePool(conn); });
  }

  void RunMaintenanceConnection() {
    PgConnection conn(options_.dsn, endpoint_, stop_.fd());
    KeepServing(conn, maintenance_, MeasureTimeout(), [&] { ServeMaintenance(conn); });
  }

  // Connects, serves `queue` with `serve` until the connection is lost, and again (at once
  // after a lost connection, with backoff after a failed attempt) until the tier stops.
  template <class Serve>
  void KeepServing(PgConnection& conn, WorkQueue& queue, Duration statement_timeout, Serve serve) {
    backend::ReconnectBackoff backoff;
    while (!stopping_.load()) {
      if (Status opened = Open(conn, statement_timeout); !opened.ok()) {
        queue.ConnectFailed(opened);
        if (!backend::SleepUnlessStopping(backoff.Next(), stop_, stopping_)) return;
        continue;
      }
      backoff.Reset();
      queue.ConnectionUp();
      serve();
      conn.Close();
      queue.ConnectionDown(Status::Unavailable(
          conn.close_reason().empty() ? endpoint_ + ": connection closed" : conn.close_reason()));
    }
  }

  // A new connection, ready for the tier's statements: session settings, the schema, and
  // the prepared statements.
  Status Open(PgConnection& conn, Duration statement_timeout) {
    if (Status s = conn.Connect(Now() + options_.connect_timeout); !s.ok()) return s;
    std::string settings = "SET statement_timeout = " + std::to_string(Millis(statement_timeout));
    if (conn.server_version() >= 140000) {
      settings +=
          "; SET client_connection_check_interval = " + std::to_string(kClientCheckIntervalMs);
    }
    Status s = conn.Exec(settings, Now() + options_.command_timeout).status();
    if (s.ok()) s = postgres::EnsureSchema(conn, options_.table, Now() + kSchemaTimeout);
    if (s.ok()) s = table_.Prepare(conn, Now() + options_.command_timeout);
    if (!s.ok()) conn.Close();
    return s;
  }

  void ServePool(PgConnection& conn) {
    while (!stopping_.load() && conn.connected()) {
      pool_.ClearWake();
      while (std::unique_ptr<Task> task = pool_.Take()) {
        if (!task->Step(conn)) pool_.Requeue(std::move(task));
        if (!conn.connected()) return;
      }
      if (!conn.WaitIdle(pool_.wake_fd(), Now() + 1h).ok()) return;
    }
  }

  // Like ServePool, one step of one task at a time (so a long pattern invalidation, a clear
  // and the sweep take turns), and starts the sweep when it is due.
  void ServeMaintenance(PgConnection& conn) {
    while (!stopping_.load() && conn.connected()) {
      maintenance_.ClearWake();
      StartSweepIfDue();
      if (std::unique_ptr<Task> task = maintenance_.Take()) {
        if (!task->Step(conn)) maintenance_.Requeue(std::move(task));
        continue;
      }
      const TimePoint until = sweeping_.load() ? Now() + 1h : next_sweep_.load();
      if (!conn.WaitIdle(maintenance_.wake_fd(), until).ok()) return;
    }
  }

  void StartSweepIfDue() {
    if (sweeping_.load() || Now() < next_sweep_.load()) return;
    sweeping_.store(true);
    maintenance_.Submit(std::make_unique<SweepTask>(
        table_, options_.sweep_batch, options_.command_timeout, MeasureTimeout(),
        [this](std::optional<TagIndexStats> stats) { SweepFinished(stats); }));
  }

  void SweepFinished(std::optional<TagIndexStats> stats) {
    if (stats) {
      MutexLock lock(stats_mu_);
      tag_index_ = *stats;
    }
    next_sweep_.store(Now() + options_.sweep_interval);
    sweeping_.store(false);
  }

  const PostgresTierOptions options_;
  const std::string endpoint_;  // host:port, for messages
  const EntryTable table_;
  WorkQueue pool_;         // reads, writes, deletes, tag invalidation, ping
  WorkQueue maintenance_;  // clear, pattern invalidation, the sweep
  backend::EventFd stop_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> sweeping_{false};
  std::atomic<TimePoint> next_sweep_;
  mutable Mutex stats_mu_;
  TagIndexStats tag_index_ TC_GUARDED_BY(stats_mu_);
  std::vector<std::thread> threads_;
};

}  // namespace

Result<std::unique_ptr<Tier>> MakePostgresTier(PostgresTierOptions options) {
  if (Status s = Validate(options); !s.ok()) return s;
  Result<std::string> endpoint = postgres::EndpointOf(options.dsn);
  if (!endpoint.ok()) return endpoint.status();
  auto tier = std::make_unique<PostgresTier>(std::move(options), std::move(*endpoint));
  if (Status s = tier->Start(); !s.ok()) return s;
  return std::unique_ptr<Tier>(std::move(tier));
}

}  // namespace tiercache
