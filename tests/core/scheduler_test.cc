// Unit tests of the scheduler, on the real clocks: timings are measured with generous
// slack so they hold on a loaded machine and under ThreadSanitizer.
//
// Catch2 assertions are not thread-safe, so jobs only record what they see (atomics or
// under a mutex) and the test thread asserts.

#include "core/scheduler.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

// Polls `done` until it holds or `timeout` passes; returns whether it held.
bool WaitFor(const std::function<bool()>& done, Duration timeout = 10s) {
  const auto deadline = Steady::now() + timeout;
  while (!done()) {
    if (Steady::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

double MillisSince(Steady::time_point start) {
  return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

WallTime Now() { return std::chrono::system_clock::now(); }

SchedulerOptions Workers(unsigned n) {
  SchedulerOptions options;
  options.workers = n;
  return options;
}

TEST_CASE("Scheduler: OneShotJobFiresOnceAtAboutItsTime", "[scheduler]") {
  Scheduler scheduler(Workers(2));
  std::atomic<int> runs{0};
  std::atomic<double> fired_after_ms{-1};
  const auto start = Steady::now();
  scheduler.ScheduleAfter(200ms, "test", "once", [&] {
    fired_after_ms = MillisSince(start);
    ++runs;
  });
  REQUIRE(WaitFor([&] { return runs.load() > 0; }));
  std::this_thread::sleep_for(100ms);
  CHECK(runs.load() == 1);
  CHECK(fired_after_ms.load() >= 190.0);
  CHECK(fired_after_ms.load() <= 700.0);
  CHECK(scheduler.List().empty());
}

TEST_CASE("Scheduler: JobDueInThePastRunsAtOnce", "[scheduler]") {
  Scheduler scheduler(Workers(1));
  std::atomic<int> runs{0};
  const auto start = Steady::now();
  scheduler.ScheduleAt(Now() - 1h, "test", "late", [&] { ++runs; });
  REQUIRE(WaitFor([&] { return runs.load() == 1; }));
  CHECK(MillisSince(start) < 500.0);
}

TEST_CASE("Scheduler: DelayTooLongForTheClockStaysPending", "[scheduler]") {
  Scheduler scheduler(Workers(1));
  std::atomic<int> runs{0};
  scheduler.ScheduleAfter(Duration::max(), "test", "never", [&] { ++runs; });
  std::this_thread::sleep_for(50ms);
  std::vector<JobInfo> jobs = scheduler.List();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].due > Now() + 24h * 365 * 100);
  CHECK(runs.load() == 0);
}

TEST_CASE("Scheduler: JobIdsAreShortUrlSafeAndUnique", "[scheduler]") {
  Scheduler scheduler(Workers(1));
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string id = scheduler.ScheduleAfter(1h, "test", "id", [] {});
    REQUIRE(id.size() == 18);
    CHECK(id.rfind("j-", 0) == 0);
    CHECK(id.find_first_not_of("0123456789abcdef", 2) == std::string::npos);
    ids.insert(id);
  }
  CHECK(ids.size() == 1000);
}

TEST_CASE("Scheduler: CancelPreventsTheRun", "[scheduler]") {
  Scheduler scheduler(Workers(2));
  std::atomic<int> runs{0};
  std::string id = scheduler.ScheduleAfter(100ms, "test", "cancelled", [&] { ++runs; });
  CHECK(scheduler.Cancel(id));
  CHECK_FALSE(scheduler.Cancel(id));
  CHECK(scheduler.List().empty());
  std::this_thread::sleep_for(300ms);
  CHECK(runs.load() == 0);
}

TEST_CASE("Scheduler: CancelReturnsFalseForAnUnknownId", "[scheduler]") {
  Scheduler scheduler(Workers(1));
  CHECK_FALSE(scheduler.Cancel("j-0000000000000000"));
  CHECK_FALSE(scheduler.Cancel(""));
}

TEST_CASE("Scheduler: CancelReturnsFalseForAOneShotJobThatStartedOrFinished", "[scheduler]") {
  Scheduler scheduler(Workers(1));
  std::atomic<bool> started{false};
  std::atomic<bool> release{false};
  std::string running = scheduler.ScheduleAfter(0ms, "test", "running", [&] {
    started = true;
    while (!release) std::this_thread::sleep_for(1ms);
  });
  REQUIRE(WaitFor([&] { return started.load(); }));
  CHECK_FALSE(scheduler.Cancel(running));
  release = true;

  std::atomic<int> runs{0};
  std::string finished = scheduler.ScheduleAfter(0ms, "test", "finished", [&] { ++runs; });
  REQUIRE(WaitFor([&] { return runs.load() == 1; }));
  REQUIRE(WaitFor([&] { return scheduler.List().empty(); }));
  CHECK_FALSE(scheduler.Cancel(finished));
}

TEST_CASE("Scheduler: PeriodicJobRunsRepeatedlyAndStopsOnCancel", "[scheduler]") {
  Scheduler scheduler(Workers(2));
  std::atomic<int> runs{0};
  std::string id = scheduler.ScheduleEvery(20ms, Now(), "test", "tick", [&] { ++runs; });
  REQUIRE(WaitFor([&] { return runs.load() >= 5; }));
  CHECK(scheduler.Cancel(id));
  std::this_thread::sleep_for(50ms);  // a run that had started when cancelled may finish
  const int after_cancel = runs.load();
  std::this_thread::sleep_for(200ms);
  CHECK(runs.load() == after_cancel);
  CHECK(scheduler.List().empty());
}

TEST_CASE("Scheduler: PeriodicJobCancelledWhileRunningFinishesThatRunOnly", "[scheduler]") {
  Scheduler scheduler(Workers(2));
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  std::atomic<bool> release{false};
  std::string id = scheduler.ScheduleEvery(10ms, Now(), "test", "slow", [&] {
    ++started;
    while (!release) std::this_thread::sleep_for(1ms);
    ++finished;
  });
  REQUIRE(WaitFor([&] { return started.load() == 1; }));
  CHECK(scheduler.Cancel(id));
  release = true;
  REQUIRE(WaitFor([&] { return finished.load() == 1; }));
  std::this_thread::sleep_for(100ms);
  CHECK(started.load() == 1);
}

TEST_CASE("Scheduler: OverlongPeriodicRunIsNotStartedTwice", "[scheduler]") {
  Scheduler scheduler(Workers(4));
  std::atomic<int> active{0};
  std::atomic<int> max_active{0};
  std::atomic<int> runs{0};
  const auto start = Steady::now();
  std::string id = scheduler.ScheduleEvery(10ms, Now(), "test", "overlong", [&] {
    int now_active = ++active;
    int seen = max_active.load();
    while (now_active > seen && !max_active.compare_exchange_weak(seen, now_active)) {
    }
    std::this_thread::sleep_for(60ms);
    --active;
    ++runs;
  });
  REQUIRE(WaitFor([&] { return runs.load() >= 4; }));
  scheduler.Cancel(id);
  const double elapsed_ms = MillisSince(start);
  REQUIRE(WaitFor([&] { return active.load() == 0; }));
  CHECK(max_active.load() == 1);
  // Overlapped due times were skipped, not queued up to run back to back later.
  CHECK(runs.load() <= elapsed_ms / 60.0 + 1);
}

TEST_CASE("Scheduler: ListShowsJobsInDueOrderWithTheirDetails", "[scheduler]") {
  Scheduler scheduler(Workers(1));
  const WallTime now = Now();
  std::string late = scheduler.ScheduleAt(now + 3h, "invalidation", "tags user:1", [] {});
  std::string early = scheduler.ScheduleAt(now + 1h, "warming", "source users", [] {});
  std::string every = scheduler.ScheduleEvery(30s, now + 2h, "warming", "hot keys", [] {});

  std::vector<JobInfo> jobs = scheduler.List();
  REQUIRE(jobs.size() == 3);
  CHECK(jobs[0].id == early);
  CHECK(jobs[0].kind == "warming");
  CHECK(jobs[0].description == "source users");
  CHECK(jobs[0].due == now + 1h);
  CHECK(jobs[0].period == Duration::zero());
  CHECK(jobs[0].runs == 0);
  CHECK_FALSE(jobs[0].running);
  CHECK(jobs[1].id == every);
  CHECK(jobs[1].period == std::chrono::duration_cast<Duration>(30s));
  CHECK(jobs[2].id == late);
  CHECK(jobs[2].kind == "invalidation");
  CHECK(jobs[2].description == "tags user:1");
}

TEST_CASE("Scheduler: ListCountsPeriodicRunsAndShowsARunningJob", "[scheduler]") {
  Scheduler scheduler(Workers(2));
  std::atomic<int> runs{0};
  std::atomic<bool> release{false};
  std::string id = scheduler.ScheduleEvery(10ms, Now(), "test", "counted", [&] {
    if (++runs == 3) {
      while (!release) std::this_thread::sleep_for(1ms);
    }
  });
  REQUIRE(WaitFor([&] { return runs.load() == 3; }));
  std::vector<JobInfo> jobs = scheduler.List();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == id);
  CHECK(jobs[0].running);
  CHECK(jobs[0].runs == 2);
  release = true;
  REQUIRE(WaitFor([&] {
    std::vector<JobInfo> now = scheduler.List();
    return now.size() == 1 && now[0].runs >= 3;
  }));
  scheduler.Cancel(id);
}

TEST_CASE("Scheduler: ScheduleAtWithIdRejectsAnIdInUse", "[scheduler]") {
  Scheduler scheduler(Workers(1));
  std::atomic<int> runs{0};
  REQUIRE(scheduler.ScheduleAtWithId("restored-1", Now() + 1h, "test", "a", [&] { ++runs; }).ok());
  Status duplicate = scheduler.ScheduleAtWithId("restored-1", Now(), "test", "b", [&] { ++runs; });
  CHECK(duplicate.code() == StatusCode::kInvalidArgument);
  std::string generated = scheduler.ScheduleAfter(1h, "test", "c", [] {});
  CHECK(scheduler.ScheduleAtWithId(generated, Now(), "test", "d", [&] { ++runs; }).code() ==
        StatusCode::kInvalidArgument);
  std::vector<JobInfo> jobs = scheduler.List();
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].description == "a");
  // Once the first job is gone its id may be restored again.
  CHECK(scheduler.Cancel("restored-1"));
  CHECK(scheduler.ScheduleAtWithId("restored-1", Now(), "test", "e", [&] { ++runs; }).ok());
  REQUIRE(WaitFor([&] { return runs.load() == 1; }));
}

TEST_CASE("Scheduler: ScheduleAtWithIdRejectsAnIdThatIsNotUrlSafe", "[scheduler]") {
  Scheduler scheduler(Workers(1));
  CHECK(scheduler.ScheduleAtWithId("", Now() + 1h, "test", "", [] {}).code() ==
        StatusCode::kInvalidArgument);
  CHECK(scheduler.ScheduleAtWithId("a/b", Now() + 1h, "test", "", [] {}).code() ==
        StatusCode::kInvalidArgument);
  CHECK(scheduler.ScheduleAtWithId(std::string(65, 'a'), Now() + 1h, "test", "", [] {}).code() ==
        StatusCode::kInvalidArgument);
  CHECK(scheduler.ScheduleAtWithId("Ok_id-1.~", Now() + 1h, "test", "", [] {}).ok());
}

TEST_CASE("Scheduler: OnFinishedGetsTheIdOfEachFinishedOneShotJob", "[scheduler]") {
  Scheduler scheduler(Workers(2));
  std::mutex mu;
  std::vector<std::string> finished;
  std::atomic<bool> ran{false};
  std::atomic<bool> called_before_run_returned{false};
  scheduler.OnFinished([&](const std::string& id) {
    if (!ran.load()) called_before_run_returned = true;
    std::lock_guard lock(mu);
    finished.push_back(id);
  });
  std::string id = scheduler.ScheduleAfter(10ms, "test", "notify", [&] { ran = true; });
  std::string cancelled = scheduler.ScheduleAfter(1h, "test", "cancelled", [] {});
  scheduler.Cancel(cancelled);
  std::atomic<int> ticks{0};
  std::string periodic = scheduler.ScheduleEvery(10ms, Now(), "test", "tick", [&] { ++ticks; });
  REQUIRE(WaitFor([&] {
    std::lock_guard lock(mu);
    return !finished.empty() && ticks.load() >= 3;
  }));
  scheduler.Cancel(periodic);
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(called_before_run_returned.load());
  std::lock_guard lock(mu);
  CHECK(finished == std::vector<std::string>{id});
}

TEST_CASE("Scheduler: JobsScheduledOrCancelledFromInsideAJobWork", "[scheduler]") {
  Scheduler scheduler(Workers(1));
  std::atomic<int> child_runs{0};
  std::atomic<int> victim_runs{0};
  std::atomic<bool> cancelled_victim{false};
  std::string victim = scheduler.ScheduleAfter(300ms, "test", "victim", [&] { ++victim_runs; });
  scheduler.ScheduleAfter(0ms, "test", "parent", [&] {
    scheduler.ScheduleAfter(10ms, "test", "child", [&] {
      ++child_runs;
      // A job may even schedule from its own run with one worker, and list.
      scheduler.ScheduleAfter(0ms, "test", "grandchild", [&] { ++child_runs; });
      (void)scheduler.List();
    });
    cancelled_victim = scheduler.Cancel(victim);
  });
  REQUIRE(WaitFor([&] { return child_runs.load() == 2; }));
  CHECK(cancelled_victim.load());
  std::this_thread::sleep_for(400ms);
  CHECK(victim_runs.load() == 0);
}

TEST_CASE("Scheduler: StopWaitsForRunningJobsAndRunsNothingAfter", "[scheduler]") {
  Scheduler scheduler(Workers(2));
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  std::atomic<int> later_runs{0};
  scheduler.ScheduleAfter(0ms, "test", "slow", [&] {
    started = true;
    std::this_thread::sleep_for(200ms);
    finished = true;
  });
  scheduler.ScheduleAfter(100ms, "test", "later", [&] { ++later_runs; });
  scheduler.ScheduleEvery(10ms, Now() + 100ms, "test", "periodic", [&] { ++later_runs; });
  REQUIRE(WaitFor([&] { return started.load(); }));
  scheduler.Stop();
  CHECK(finished.load());
  scheduler.Stop();  // idempotent
  scheduler.ScheduleAfter(0ms, "test", "after stop", [&] { ++later_runs; });
  std::this_thread::sleep_for(300ms);
  CHECK(later_runs.load() == 0);
}

TEST_CASE("Scheduler: StopFromInsideAJobDoesNotDeadlock", "[scheduler]") {
  std::atomic<int> runs{0};
  {
    Scheduler scheduler(Workers(1));
    scheduler.ScheduleAfter(0ms, "test", "stopper", [&] {
      scheduler.Stop();
      ++runs;
    });
    scheduler.ScheduleAfter(200ms, "test", "after", [&] { ++runs; });
    REQUIRE(WaitFor([&] { return runs.load() == 1; }));
    std::this_thread::sleep_for(300ms);
  }
  CHECK(runs.load() == 1);
}

TEST_CASE("Scheduler: ManyJobsWithRandomDueTimesAllRunExactlyOnce", "[scheduler]") {
  constexpr int kJobs = 10'000;
  Scheduler scheduler(Workers(4));
  std::vector<std::atomic<int>> runs(kJobs);
  std::atomic<int> total{0};
  std::atomic<int> finished{0};
  scheduler.OnFinished([&](const std::string&) { ++finished; });
  std::mt19937 random(42);
  std::uniform_int_distribution<int> delay_us(0, 200'000);
  const WallTime now = Now();
  for (int i = 0; i < kJobs; ++i) {
    scheduler.ScheduleAt(now + std::chrono::microseconds(delay_us(random)), "test", "many",
                         [&runs, &total, i] {
                           ++runs[i];
                           ++total;
                         });
  }
  REQUIRE(WaitFor([&] { return finished.load() == kJobs; }, 60s));
  std::this_thread::sleep_for(50ms);
  CHECK(total.load() == kJobs);
  int wrong = 0;
  for (const auto& count : runs) wrong += count.load() != 1;
  CHECK(wrong == 0);
  CHECK(scheduler.List().empty());
}

TEST_CASE("Scheduler: ThrowingJobCountsAsFailedAndTheWorkerKeepsRunning", "[scheduler]") {
  Scheduler scheduler(Workers(1));
  std::atomic<int> finished{0};
  scheduler.OnFinished([&](const std::string&) { ++finished; });
  std::atomic<int> runs{0};
  scheduler.ScheduleAfter(0ms, "test", "throws", [] { throw std::runtime_error("boom"); });
  scheduler.ScheduleAfter(0ms, "test", "throws int", [] { throw 7; });
  scheduler.ScheduleAfter(20ms, "test", "fine", [&] { ++runs; });
  REQUIRE(WaitFor([&] { return runs.load() == 1 && finished.load() == 3; }));
  CHECK(scheduler.failed_runs() == 2);
}

TEST_CASE("Scheduler: KindStatsCountRunsFailuresAndTimePerKind", "[scheduler]") {
  Scheduler scheduler(Workers(1));
  std::atomic<int> finished{0};
  scheduler.OnFinished([&](const std::string&) { ++finished; });
  scheduler.ScheduleAfter(0ms, "warming", "slow", [] { std::this_thread::sleep_for(30ms); });
  scheduler.ScheduleAfter(0ms, "invalidation", "throws", [] { throw std::runtime_error("x"); });
  scheduler.ScheduleAfter(0ms, "invalidation", "fine", [] {});
  REQUIRE(WaitFor([&] { return finished.load() == 3; }));
  const std::vector<JobKindStats> kinds = scheduler.KindStats();
  REQUIRE(kinds.size() == 2);
  CHECK(kinds[0].kind == "invalidation");
  CHECK(kinds[0].runs == 2);
  CHECK(kinds[0].failed_runs == 1);
  CHECK(kinds[1].kind == "warming");
  CHECK(kinds[1].runs == 1);
  CHECK(kinds[1].failed_runs == 0);
  CHECK(kinds[1].run_time >= 30ms);
}

// A wall clock the test can set: the system clock plus an offset.
class MovableWallClock {
 public:
  WallTime Now() const {
    return std::chrono::system_clock::now() + std::chrono::system_clock::duration(offset_.load());
  }
  void Jump(std::chrono::system_clock::duration by) { offset_ += by.count(); }

 private:
  std::atomic<std::chrono::system_clock::rep> offset_{0};
};

TEST_CASE("Scheduler: WallClockJumpingForwardRunsThePassedJobs", "[scheduler]") {
  auto clock = std::make_shared<MovableWallClock>();
  SchedulerOptions options;
  options.wall_clock = [clock] { return clock->Now(); };
  Scheduler scheduler(options);
  std::atomic<int> runs{0};
  scheduler.ScheduleAt(clock->Now() + 1h, "test", "in an hour", [&] { ++runs; });
  std::this_thread::sleep_for(50ms);
  const auto start = Steady::now();
  clock->Jump(2h);
  REQUIRE(WaitFor([&] { return runs.load() == 1; }, 5s));
  CHECK(MillisSince(start) < 1500.0);
}

TEST_CASE("Scheduler: WallClockJumpingBackDoesNotStallAPeriodicJob", "[scheduler]") {
  auto clock = std::make_shared<MovableWallClock>();
  SchedulerOptions options;
  options.wall_clock = [clock] { return clock->Now(); };
  Scheduler scheduler(options);
  std::atomic<int> runs{0};
  scheduler.ScheduleEvery(50ms, clock->Now(), "test", "tick", [&] { ++runs; });
  REQUIRE(WaitFor([&] { return runs.load() >= 2; }));
  clock->Jump(-std::chrono::duration_cast<std::chrono::system_clock::duration>(1h));
  const int before = runs.load();
  REQUIRE(WaitFor([&] { return runs.load() >= before + 3; }, 5s));
  std::vector<JobInfo> jobs = scheduler.List();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].due <= clock->Now() + 1s);
}

}  // namespace
}  // namespace tiercache
