#include "tiers/postgres/postgres_job_store.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "tiers/common/event_fd.h"
#include "tiers/postgres/pg_connection.h"
#include "tiers/postgres/schema.h"

namespace tiercache {

namespace {

using postgres::PgConnection;
using postgres::PgParam;

class PostgresJobStore final : public JobStore {
 public:
  explicit PostgresJobStore(const PostgresTierOptions& tier)
      : options_(tier),
        jobs_table_(tier.table + "_jobs"),
        conn_(tier.dsn, "job store", stop_.fd()),
        thread_([this] { Serve(); }) {}

  ~PostgresJobStore() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    stop_.Signal();
    thread_.join();
  }

  void Save(StoredJob job, Callback<Status> done) override {
    auto shared_done = std::make_shared<Callback<Status>>(std::move(done));
    Post([shared_done](Status s) { (*shared_done)(std::move(s)); },
         [this, job = std::move(job), shared_done] {
           Callback<Status>& done = *shared_done;
      const std::string due_ms = std::to_string(UnixMillis(job.due));
      const PgParam params[] = {{job.id, false}, {due_ms, false}, {job.request, true}};
      done(Exec("save", params).status());
    });
  }

  void Remove(std::string id, Callback<Status> done) override {
    auto shared_done = std::make_shared<Callback<Status>>(std::move(done));
    Post([shared_done](Status s) { (*shared_done)(std::move(s)); },
         [this, id = std::move(id), shared_done] {
           Callback<Status>& done = *shared_done;
      const PgParam params[] = {{id, false}};
      done(Exec("remove", params).status());
    });
  }

  void LoadAll(Callback<Result<std::vector<StoredJob>>> done) override {
    auto shared_done = std::make_shared<Callback<Result<std::vector<StoredJob>>>>(std::move(done));
    Post([shared_done](Status s) { (*shared_done)(std::move(s)); },
         [this, shared_done] {
           auto& done = *shared_done;
      auto result = Exec("load", {});
      if (!result.ok()) return done(result.status());
      std::vector<StoredJob> jobs;
      PGresult* r = result->get();
      for (int i = 0; i < PQntuples(r); ++i) {
        StoredJob job;
        job.id = PQgetvalue(r, i, 0);
        job.due = WallTime(std::chrono::milliseconds(std::stoll(PQgetvalue(r, i, 1))));
        job.request.assign(PQgetvalue(r, i, 2), static_cast<size_t>(PQgetlength(r, i, 2)));
        jobs.push_back(std::move(job));
      }
      done(std::move(jobs));
    });
  }

 private:
  // Queues `run` for the serving thread, or calls `fail` at once when stopping.
  void Post(std::function<void(Status)> fail, std::function<void()> run) {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        ops_.push_back(std::move(run));
        wake_.notify_one();
        return;
      }
    }
    fail(Status::Unavailable("job store: shutting down"));
  }

  void Serve() {
    while (true) {
      std::function<void()> op;
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, [&] { return stopping_ || !ops_.empty(); });
        if (ops_.empty()) return;
        op = std::move(ops_.front());
        ops_.pop_front();
      }
      op();
    }
  }

  // Runs one of the prepared statements (binary results), connecting, ensuring the schema
  // and preparing first if needed. On the serving thread only.
  Result<postgres::PgResult> Exec(const char* statement, std::span<const PgParam> params) {
    const auto now = std::chrono::steady_clock::now();
    const TimePoint deadline = now + options_.command_timeout;
    if (!conn_.connected()) {
      if (Status s = conn_.Connect(now + options_.connect_timeout); !s.ok()) return s;
      const std::string table = "\"" + jobs_table_ + "\"";
      Status s = postgres::EnsureSchema(conn_, options_.table, deadline);
      if (s.ok()) {
        s = conn_.Prepare("save",
                          "INSERT INTO " + table +
                              " (id, due, request) VALUES ($1, to_timestamp($2::bigint / 1000.0),"
                              " $3) ON CONFLICT (id) DO UPDATE SET due = EXCLUDED.due,"
                              " request = EXCLUDED.request",
                          deadline);
      }
      if (s.ok()) s = conn_.Prepare("remove", "DELETE FROM " + table + " WHERE id = $1", deadline);
      if (s.ok()) {
        s = conn_.Prepare("load",
                          "SELECT id, ((extract(epoch FROM due) * 1000)::bigint)::text, request"
                          " FROM " + table + " ORDER BY due",
                          deadline);
      }
      if (!s.ok()) {
        conn_.Close();
        return s;
      }
    }
    return conn_.ExecPrepared(statement, params, deadline);
  }

  const PostgresTierOptions options_;
  const std::string jobs_table_;
  backend::EventFd stop_;
  PgConnection conn_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> ops_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<JobStore>> MakePostgresJobStore(const PostgresTierOptions& tier) {
  return std::unique_ptr<JobStore>(new PostgresJobStore(tier));
}

}  // namespace tiercache
