#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/thread_annotations.h"

namespace tiercache {

struct SchedulerOptions {
  unsigned workers = 2;  // threads running due jobs (0 is taken as 1)
};

// A snapshot of one job, as List() reports it.
struct JobInfo {
  std::string id;
  std::string kind;         // what the job does, e.g. "invalidation", "warming"
  std::string description;  // for people: what exactly
  WallTime due;             // the next run, or the current one while running
  Duration period{0};       // 0 for a one-shot job
  uint64_t runs = 0;        // runs finished (including ones that threw)
  bool running = false;
};

// What the jobs of one kind have done since start.
struct JobKindStats {
  std::string kind;
  uint64_t runs = 0;         // finished, failed ones included
  uint64_t failed_runs = 0;  // that threw
  Duration run_time{0};      // spent running, summed
};

// A timer queue with a pool of worker threads running one-shot and periodic jobs.
//
// Due times are wall-clock (the clock's WallNow) so they can be persisted and restored. The
// timer thread waits on the clock's monotonic time and re-reads the wall clock whenever it
// wakes, at least once a second: a wall clock jumping forward runs the jobs it passed within
// a second; one jumping back delays one-shot jobs (their due time is absolute) but never
// holds a periodic job back by more than one period. Run times are measured on the clock too.
//
// Thread-safe. A job's run() and the OnFinished listener run on a worker thread without any
// scheduler lock held, so they may call every method (Stop included: called from a job it
// stops the scheduler without waiting, since the job cannot wait for itself).
class Scheduler {
 public:
  // Starts the timer thread and the workers. `clock` must outlive the scheduler.
  Scheduler(SchedulerOptions options, const Clock& clock);
  ~Scheduler();                                  // Stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // One run at `due` (a due time in the past runs at once). Returns the job id: "j-" and 16
  // hex digits, never reused in this process.
  std::string ScheduleAt(WallTime due, std::string kind, std::string description,
                         std::function<void()> run) TC_EXCLUDES(mu_);
  // One run `delay` from now.
  std::string ScheduleAfter(Duration delay, std::string kind, std::string description,
                            std::function<void()> run) TC_EXCLUDES(mu_);
  // Runs at `first_due` and then every `period` (a period under 1 ms is taken as 1 ms). A
  // job is never started while its previous run is still going: due times that a run
  // overlaps are skipped, and the next run is at the first due time after it finishes.
  std::string ScheduleEvery(Duration period, WallTime first_due, std::string kind,
                            std::string description, std::function<void()> run)
      TC_EXCLUDES(mu_);
  // ScheduleAt with a caller-chosen id (restoring persisted jobs). kInvalidArgument if the
  // id is in use by a pending or running job, or is not 1 to 64 URL-safe characters
  // (letters, digits, '-', '_', '.', '~').
  Status ScheduleAtWithId(std::string id, WallTime due, std::string kind,
                          std::string description, std::function<void()> run)
      TC_EXCLUDES(mu_);

  // True if the job was pending: it will not run (again). A one-shot job that has started
  // or finished, or an unknown id, gives false. A periodic job cancelled while running
  // finishes that run and never runs again (true).
  bool Cancel(std::string_view id) TC_EXCLUDES(mu_);

  // Pending and running jobs, by due time (cancelled ones are left out).
  std::vector<JobInfo> List() const TC_EXCLUDES(mu_);

  // Lets running jobs finish and starts no more; jobs still pending stay listed but never
  // run. Idempotent. Waits for running jobs, unless called from a job.
  void Stop() TC_EXCLUDES(mu_);

  // Called with the id of each one-shot job after its run() returned (or threw), on the
  // worker thread, so a persistent store can forget it. Not called for cancelled jobs or
  // periodic ones. Set it before scheduling.
  void OnFinished(std::function<void(const std::string& id)> listener) TC_EXCLUDES(mu_);

  // Runs (and OnFinished calls) that threw an exception; the exception is swallowed.
  uint64_t failed_runs() const TC_EXCLUDES(mu_);
  // Per kind of job, by kind name.
  std::vector<JobKindStats> KindStats() const TC_EXCLUDES(mu_);

 private:
  enum class JobState : uint8_t { kWaiting, kReady, kRunning };
  using TimerKey = std::pair<WallTime, uint64_t>;  // due, then order of insertion

  struct Job {
    std::string id;
    std::string kind;
    std::string description;
    std::function<void()> run;  // set once, then only read
    Duration period{0};
    // The fields below are guarded by mu_ (not annotated: Job is reached through pointers).
    WallTime due;
    TimerKey timer_key;
    uint64_t runs = 0;
    JobState state = JobState::kWaiting;
    bool cancelled = false;
  };

  std::string NewIdLocked() TC_REQUIRES(mu_);
  void AddLocked(std::shared_ptr<Job> job) TC_REQUIRES(mu_);
  void ArmLocked(const std::shared_ptr<Job>& job) TC_REQUIRES(mu_);
  void ClampPeriodicJobsLocked(WallTime now) TC_REQUIRES(mu_);
  void TimerLoop() TC_EXCLUDES(mu_);
  void WorkerLoop() TC_EXCLUDES(mu_);
  void Finish(const std::shared_ptr<Job>& job, bool threw, Duration took) TC_EXCLUDES(mu_);

  const Clock& clock_;

  mutable Mutex mu_;
  ClockCondition timer_wake_;  // an earlier job, or stop
  ClockCondition work_ready_;  // a job became due, or stop
  std::map<std::string, std::shared_ptr<Job>, std::less<>> jobs_ TC_GUARDED_BY(mu_);
  std::map<TimerKey, std::shared_ptr<Job>> timers_ TC_GUARDED_BY(mu_);  // kWaiting jobs
  std::deque<std::shared_ptr<Job>> ready_ TC_GUARDED_BY(mu_);           // kReady jobs
  uint64_t next_timer_seq_ TC_GUARDED_BY(mu_) = 0;
  std::shared_ptr<const std::function<void(const std::string&)>> listener_ TC_GUARDED_BY(mu_);
  uint64_t failed_runs_ TC_GUARDED_BY(mu_) = 0;
  std::map<std::string, JobKindStats, std::less<>> kinds_ TC_GUARDED_BY(mu_);
  bool stop_ TC_GUARDED_BY(mu_) = false;

  std::mutex join_mu_;  // serializes the joins of concurrent Stop calls
  std::thread timer_;
  std::vector<std::thread> workers_;
};

}  // namespace tiercache
