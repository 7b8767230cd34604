#include "core/scheduler.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <random>

namespace tiercache {

namespace {

// The timer re-reads the wall clock at least this often, so a forward jump is noticed.
constexpr auto kMaxSleep = std::chrono::seconds(1);
// A change of the wall clock against the steady clock beyond this is taken as a jump.
constexpr auto kJumpTolerance = std::chrono::milliseconds(500);
constexpr Duration kMinPeriod = std::chrono::milliseconds(1);
constexpr size_t kMaxIdBytes = 64;

// The scheduler whose worker is the current thread, so Stop() called from a job does not
// wait for itself.
thread_local const void* current_scheduler = nullptr;

// Invertible 64-bit mixing (the splitmix64 finalizer): distinct inputs give distinct ids.
uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// "j-" and 16 hex digits: a process-wide counter, offset by a random key and mixed, so ids
// look random, differ between processes and never repeat within one.
std::string GenerateId() {
  static const uint64_t key = [] {
    std::random_device device;
    return (uint64_t{device()} << 32) ^ device();
  }();
  static std::atomic<uint64_t> counter{0};
  uint64_t value = Mix(key + counter.fetch_add(1, std::memory_order_relaxed));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "j-";
  for (int shift = 60; shift >= 0; shift -= 4) id.push_back(kHex[(value >> shift) & 0xf]);
  return id;
}

bool IsUrlSafeId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
  });
}

WallTime::duration ToWall(Duration d) {
  return std::chrono::duration_cast<WallTime::duration>(d);
}

}  // namespace

Scheduler::Scheduler(SchedulerOptions options, const Clock& clock)
    : clock_(clock), timer_wake_(clock), work_ready_(clock) {
  unsigned workers = std::max(1u, options.workers);
  timer_ = std::thread([this] { TimerLoop(); });
  workers_.reserve(workers);
  for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

Scheduler::~Scheduler() { Stop(); }

std::string Scheduler::NewIdLocked() {
  // A restored caller-chosen id could in theory equal a generated one: skip it.
  std::string id = GenerateId();
  while (jobs_.count(id) != 0) id = GenerateId();
  return id;
}

void Scheduler::ArmLocked(const std::shared_ptr<Job>& job) {
  job->state = JobState::kWaiting;
  job->timer_key = TimerKey(job->due, next_timer_seq_++);
  auto it = timers_.emplace(job->timer_key, job).first;
  if (it == timers_.begin()) timer_wake_.NotifyOne();
}

void Scheduler::AddLocked(std::shared_ptr<Job> job) {
  jobs_.emplace(job->id, job);
  ArmLocked(job);
}

std::string Scheduler::ScheduleAt(WallTime due, std::string kind, std::string description,
                                  std::function<void()> run) {
  auto job = std::make_shared<Job>();
  job->kind = std::move(kind);
  job->description = std::move(description);
  job->run = std::move(run);
  job->due = due;
  MutexLock lock(mu_);
  job->id = NewIdLocked();
  std::string id = job->id;
  AddLocked(std::move(job));
  return id;
}

std::string Scheduler::ScheduleAfter(Duration delay, std::string kind, std::string description,
                                     std::function<void()> run) {
  const WallTime now = clock_.WallNow();
  // Saturates: a delay too long for the clock means never in practice, not an overflow.
  const WallTime due =
      ToWall(delay) >= WallTime::max() - now ? WallTime::max() : now + ToWall(delay);
  return ScheduleAt(due, std::move(kind), std::move(description), std::move(run));
}

std::string Scheduler::ScheduleEvery(Duration period, WallTime first_due, std::string kind,
                                     std::string description, std::function<void()> run) {
  auto job = std::make_shared<Job>();
  job->kind = std::move(kind);
  job->description = std::move(description);
  job->run = std::move(run);
  job->period = std::max(period, kMinPeriod);
  job->due = first_due;
  MutexLock lock(mu_);
  job->id = NewIdLocked();
  std::string id = job->id;
  AddLocked(std::move(job));
  return id;
}

Status Scheduler::ScheduleAtWithId(std::string id, WallTime due, std::string kind,
                                   std::string description, std::function<void()> run) {
  if (!IsUrlSafeId(id)) {
    return Status::InvalidArgument("job id must be 1 to 64 URL-safe characters");
  }
  auto job = std::make_shared<Job>();
  job->id = std::move(id);
  job->kind = std::move(kind);
  job->description = std::move(description);
  job->run = std::move(run);
  job->due = due;
  MutexLock lock(mu_);
  if (jobs_.count(job->id) != 0) {
    return Status::InvalidArgument("job id " + job->id + " is in use");
  }
  AddLocked(std::move(job));
  return Status::Ok();
}

bool Scheduler::Cancel(std::string_view id) {
  MutexLock lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return false;
  std::shared_ptr<Job> job = it->second;
  switch (job->state) {
    case JobState::kWaiting:
      timers_.erase(job->timer_key);
      break;
    case JobState::kReady:
      break;  // a worker will find it cancelled and drop it
    case JobState::kRunning:
      if (job->period == Duration::zero()) return false;
      break;  // the worker drops it when this run ends
  }
  job->cancelled = true;
  jobs_.erase(it);
  return true;
}

std::vector<JobInfo> Scheduler::List() const {
  std::vector<JobInfo> out;
  {
    MutexLock lock(mu_);
    out.reserve(jobs_.size());
    for (const auto& [id, job] : jobs_) {
      out.push_back(JobInfo{job->id, job->kind, job->description, job->due, job->period,
                            job->runs, job->state == JobState::kRunning});
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const JobInfo& a, const JobInfo& b) { return a.due < b.due; });
  return out;
}

void Scheduler::Stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  timer_wake_.NotifyAll();
  work_ready_.NotifyAll();
  if (current_scheduler == this) return;  // a job cannot wait for itself
  std::lock_guard join_lock(join_mu_);
  if (timer_.joinable()) timer_.join();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

void Scheduler::OnFinished(std::function<void(const std::string& id)> listener) {
  auto shared = listener ? std::make_shared<const std::function<void(const std::string&)>>(
                               std::move(listener))
                         : nullptr;
  MutexLock lock(mu_);
  listener_ = std::move(shared);
}

std::vector<JobKindStats> Scheduler::KindStats() const {
  MutexLock lock(mu_);
  std::vector<JobKindStats> out;
  for (const auto& [name, stats] : kinds_) out.push_back(stats);
  return out;
}

uint64_t Scheduler::failed_runs() const {
  MutexLock lock(mu_);
  return failed_runs_;
}

void Scheduler::ClampPeriodicJobsLocked(WallTime now) {
  std::vector<std::shared_ptr<Job>> late;
  for (const auto& [key, job] : timers_) {
    if (job->period != Duration::zero() && job->due > now + ToWall(job->period)) {
      late.push_back(job);
    }
  }
  for (const auto& job : late) {
    timers_.erase(job->timer_key);
    job->due = now + ToWall(job->period);
    ArmLocked(job);
  }
}

void Scheduler::TimerLoop() {
  MutexLock lock(mu_);
  WallTime::duration last_offset{};
  bool first = true;
  while (!stop_) {
    const WallTime now = clock_.WallNow();
    const TimePoint steady_now = clock_.Now();
    // The wall clock's offset from the steady clock only moves when the wall clock is set.
    const auto offset = now.time_since_epoch() -
                        std::chrono::duration_cast<WallTime::duration>(steady_now.time_since_epoch());
    if (!first && offset < last_offset - ToWall(kJumpTolerance)) ClampPeriodicJobsLocked(now);
    first = false;
    last_offset = offset;

    size_t due = 0;
    while (!timers_.empty() && timers_.begin()->first.first <= now) {
      std::shared_ptr<Job> job = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      job->state = JobState::kReady;
      ready_.push_back(std::move(job));
      ++due;
    }
    if (due == 1) {
      work_ready_.NotifyOne();
    } else if (due > 1) {
      work_ready_.NotifyAll();
    }

    Duration sleep = kMaxSleep;
    if (!timers_.empty()) {
      sleep = std::min(sleep, std::chrono::duration_cast<Duration>(timers_.begin()->first.first - now));
    }
    timer_wake_.WaitUntil(mu_, steady_now + sleep);
  }
}

void Scheduler::WorkerLoop() {
  current_scheduler = this;
  while (true) {
    std::shared_ptr<Job> job;
    {
      MutexLock lock(mu_);
      while (!stop_ && ready_.empty()) work_ready_.Wait(mu_);
      if (stop_) return;
      job = std::move(ready_.front());
      ready_.pop_front();
      if (job->cancelled) continue;
      job->state = JobState::kRunning;
    }
    bool threw = false;
    const TimePoint started = clock_.Now();
    try {
      job->run();
    } catch (...) {
      threw = true;
    }
    Finish(job, threw, clock_.Now() - started);
  }
}

void Scheduler::Finish(const std::shared_ptr<Job>& job, bool threw, Duration took) {
  std::shared_ptr<const std::function<void(const std::string&)>> listener;
  {
    MutexLock lock(mu_);
    ++job->runs;
    if (threw) ++failed_runs_;
    auto kind = kinds_.find(job->kind);
    if (kind == kinds_.end()) kind = kinds_.emplace(job->kind, JobKindStats{job->kind}).first;
    ++kind->second.runs;
    if (threw) ++kind->second.failed_runs;
    kind->second.run_time += took;
    if (job->cancelled) return;  // a periodic job cancelled while running
    if (job->period != Duration::zero()) {
      // Skip the due times this run overlapped; never pile runs up.
      const WallTime now = clock_.WallNow();
      const auto period = ToWall(job->period);
      WallTime next = job->due + period;
      if (next <= now) next += ((now - next) / period + 1) * period;
      // A wall clock set back must not hold the job back by more than a period.
      if (next > now + period) next = now + period;
      job->due = next;
      ArmLocked(job);
      return;
    }
    jobs_.erase(job->id);  // a running one-shot job cannot be cancelled: the entry is ours
    listener = listener_;
  }
  if (listener == nullptr) return;
  try {
    (*listener)(job->id);
  } catch (...) {
    MutexLock lock(mu_);
    ++failed_runs_;
  }
}

}  // namespace tiercache
