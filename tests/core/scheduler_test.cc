// Unit tests of the scheduler on a fake clock: a test advances the clock and waits until
// the timer and every worker wait on it again (test::ClockDriver), so each assertion sees
// everything that came due run, without sleeping.
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

#include "core/clock.h"
#include "core/status.h"
#include "tests/core/fake_time.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;
using test::Flag;

SchedulerOptions Workers(unsigned n) {
  SchedulerOptions options;
  options.workers = n;
  return options;
}

// A scheduler with `workers` workers on a fake clock. Idle, its timer and its workers wait
// on the clock.
struct Harness : test::ClockDriver {
  explicit Harness(unsigned workers = 2)
      : ClockDriver(clock, workers + 1), scheduler(Workers(workers), clock) {}
  WallTime Now() const { return clock.WallNow(); }
  double MillisSince(TimePoint start) const {
    return std::chrono::duration<double, std::milli>(clock.Now() - start).count();
  }

  FakeClock clock;
  Scheduler scheduler;
};

TEST_CASE("Scheduler: OneShotJobFiresOnceAtAboutItsTime", "[scheduler]") {
  Harness h(2);
  std::atomic<int> runs{0};
  std::atomic<double> fired_after_ms{-1};
  const TimePoint start = h.clock.Now();
  h.scheduler.ScheduleAfter(200ms, "test", "once", [&] {
    fired_after_ms = h.MillisSince(start);
    ++runs;
  });
  h.Settle();
  h.Advance(199ms);
  CHECK(runs.load() == 0);
  REQUIRE(h.AdvanceUntil([&] { return runs.load() > 0; }, 1ms));
  h.Advance(100ms);
  CHECK(runs.load() == 1);
  CHECK(fired_after_ms.load() >= 190.0);
  CHECK(fired_after_ms.load() <= 700.0);
  CHECK(h.scheduler.List().empty());
}

TEST_CASE("Scheduler: JobDueInThePastRunsAtOnce", "[scheduler]") {
  Harness h(1);
  std::atomic<int> runs{0};
  const TimePoint start = h.clock.Now();
  h.scheduler.ScheduleAt(h.Now() - 1h, "test", "late", [&] { ++runs; });
  h.Settle();  // without the clock moving
  REQUIRE(runs.load() == 1);
  CHECK(h.MillisSince(start) < 500.0);
}

TEST_CASE("Scheduler: DelayTooLongForTheClockStaysPending", "[scheduler]") {
  Harness h(1);
  std::atomic<int> runs{0};
  h.scheduler.ScheduleAfter(Duration::max(), "test", "never", [&] { ++runs; });
  h.Settle();
  h.Advance(24h * 365);
  std::vector<JobInfo> jobs = h.scheduler.List();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].due > h.Now() + 24h * 365 * 100);
  CHECK(runs.load() == 0);
}

TEST_CASE("Scheduler: JobIdsAreShortUrlSafeAndUnique", "[scheduler]") {
  Harness h(1);
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string id = h.scheduler.ScheduleAfter(1h, "test", "id", [] {});
    REQUIRE(id.size() == 18);
    CHECK(id.rfind("j-", 0) == 0);
    CHECK(id.find_first_not_of("0123456789abcdef", 2) == std::string::npos);
    ids.insert(id);
  }
  CHECK(ids.size() == 1000);
}

TEST_CASE("Scheduler: CancelPreventsTheRun", "[scheduler]") {
  Harness h(2);
  std::atomic<int> runs{0};
  std::string id = h.scheduler.ScheduleAfter(100ms, "test", "cancelled", [&] { ++runs; });
  CHECK(h.scheduler.Cancel(id));
  CHECK_FALSE(h.scheduler.Cancel(id));
  CHECK(h.scheduler.List().empty());
  h.AdvanceBy(300ms, 10ms);
  CHECK(runs.load() == 0);
}

TEST_CASE("Scheduler: CancelReturnsFalseForAnUnknownId", "[scheduler]") {
  Harness h(1);
  CHECK_FALSE(h.scheduler.Cancel("j-0000000000000000"));
  CHECK_FALSE(h.scheduler.Cancel(""));
}

TEST_CASE("Scheduler: CancelReturnsFalseForAOneShotJobThatStartedOrFinished", "[scheduler]") {
  Flag started;
  Flag release;
  Harness h(1);
  std::string running = h.scheduler.ScheduleAfter(0ms, "test", "running", [&] {
    started.Set();
    release.Wait();
  });
  REQUIRE(started.Wait());
  CHECK_FALSE(h.scheduler.Cancel(running));
  release.Set();

  std::atomic<int> runs{0};
  std::string finished = h.scheduler.ScheduleAfter(0ms, "test", "finished", [&] { ++runs; });
  h.Settle();
  REQUIRE(runs.load() == 1);
  REQUIRE(h.scheduler.List().empty());
  CHECK_FALSE(h.scheduler.Cancel(finished));
}

TEST_CASE("Scheduler: PeriodicJobRunsRepeatedlyAndStopsOnCancel", "[scheduler]") {
  Harness h(2);
  std::atomic<int> runs{0};
  std::string id = h.scheduler.ScheduleEvery(20ms, h.Now(), "test", "tick", [&] { ++runs; });
  REQUIRE(h.AdvanceUntil([&] { return runs.load() >= 5; }, 20ms));
  CHECK(h.scheduler.Cancel(id));
  h.Settle();  // a run that had started when cancelled may finish
  const int after_cancel = runs.load();
  h.AdvanceBy(200ms, 20ms);
  CHECK(runs.load() == after_cancel);
  CHECK(h.scheduler.List().empty());
}

TEST_CASE("Scheduler: PeriodicJobCancelledWhileRunningFinishesThatRunOnly", "[scheduler]") {
  Flag first_started;
  Flag release;
  Harness h(2);
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  std::string id = h.scheduler.ScheduleEvery(10ms, h.Now(), "test", "slow", [&] {
    ++started;
    first_started.Set();
    release.Wait();
    ++finished;
  });
  REQUIRE(first_started.Wait());
  REQUIRE(started.load() == 1);
  CHECK(h.scheduler.Cancel(id));
  release.Set();
  h.Settle();
  REQUIRE(finished.load() == 1);
  h.AdvanceBy(100ms, 10ms);
  CHECK(started.load() == 1);
}

TEST_CASE("Scheduler: OverlongPeriodicRunIsNotStartedTwice", "[scheduler]") {
  Harness h(4);
  std::atomic<int> active{0};
  std::atomic<int> max_active{0};
  std::atomic<int> runs{0};
  std::atomic<bool> timer_looked{true};
  const TimePoint start = h.clock.Now();
  std::string id = h.scheduler.ScheduleEvery(10ms, h.Now(), "test", "overlong", [&] {
    int now_active = ++active;
    int seen = max_active.load();
    while (now_active > seen && !max_active.compare_exchange_weak(seen, now_active)) {
    }
    // 60 ms of clock time, 10 at a time, each seen by the timer (and three idle workers).
    for (int i = 0; i < 6; ++i) {
      h.clock.Advance(10ms);
      if (!h.clock.AwaitWaiters(4)) timer_looked = false;
    }
    --active;
    ++runs;
  });
  REQUIRE(h.AdvanceUntil([&] { return runs.load() >= 4; }, 10ms));
  h.scheduler.Cancel(id);
  const double elapsed_ms = h.MillisSince(start);
  h.Settle();
  REQUIRE(active.load() == 0);
  CHECK(timer_looked.load());
  CHECK(max_active.load() == 1);
  // Overlapped due times were skipped, not queued up to run back to back later.
  CHECK(runs.load() <= elapsed_ms / 60.0 + 1);
}

TEST_CASE("Scheduler: ListShowsJobsInDueOrderWithTheirDetails", "[scheduler]") {
  Harness h(1);
  const WallTime now = h.Now();
  std::string late = h.scheduler.ScheduleAt(now + 3h, "invalidation", "tags user:1", [] {});
  std::string early = h.scheduler.ScheduleAt(now + 1h, "warming", "source users", [] {});
  std::string every = h.scheduler.ScheduleEvery(30s, now + 2h, "warming", "hot keys", [] {});

  std::vector<JobInfo> jobs = h.scheduler.List();
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
  Flag third_started;
  Flag release;
  Harness h(2);
  std::atomic<int> runs{0};
  std::string id = h.scheduler.ScheduleEvery(10ms, h.Now(), "test", "counted", [&] {
    if (++runs == 3) {
      third_started.Set();
      release.Wait();
    }
  });
  REQUIRE(h.AdvanceUntil([&] { return third_started.is_set(); }, 10ms));
  REQUIRE(runs.load() == 3);
  std::vector<JobInfo> jobs = h.scheduler.List();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == id);
  CHECK(jobs[0].running);
  CHECK(jobs[0].runs == 2);
  release.Set();
  h.Settle();
  std::vector<JobInfo> now = h.scheduler.List();
  REQUIRE(now.size() == 1);
  REQUIRE(now[0].runs >= 3);
  h.scheduler.Cancel(id);
}

TEST_CASE("Scheduler: ScheduleAtWithIdRejectsAnIdInUse", "[scheduler]") {
  Harness h(1);
  Scheduler& scheduler = h.scheduler;
  std::atomic<int> runs{0};
  REQUIRE(scheduler.ScheduleAtWithId("restored-1", h.Now() + 1h, "test", "a", [&] { ++runs; })
              .ok());
  Status duplicate =
      scheduler.ScheduleAtWithId("restored-1", h.Now(), "test", "b", [&] { ++runs; });
  CHECK(duplicate.code() == StatusCode::kInvalidArgument);
  std::string generated = scheduler.ScheduleAfter(2h, "test", "c", [] {});
  CHECK(scheduler.ScheduleAtWithId(generated, h.Now(), "test", "d", [&] { ++runs; }).code() ==
        StatusCode::kInvalidArgument);
  std::vector<JobInfo> jobs = scheduler.List();
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].description == "a");
  // Once the first job is gone its id may be restored again.
  CHECK(scheduler.Cancel("restored-1"));
  CHECK(scheduler.ScheduleAtWithId("restored-1", h.Now(), "test", "e", [&] { ++runs; }).ok());
  h.Settle();
  REQUIRE(runs.load() == 1);
}

TEST_CASE("Scheduler: ScheduleAtWithIdRejectsAnIdThatIsNotUrlSafe", "[scheduler]") {
  Harness h(1);
  Scheduler& scheduler = h.scheduler;
  const WallTime later = h.Now() + 1h;
  CHECK(scheduler.ScheduleAtWithId("", later, "test", "", [] {}).code() ==
        StatusCode::kInvalidArgument);
  CHECK(scheduler.ScheduleAtWithId("a/b", later, "test", "", [] {}).code() ==
        StatusCode::kInvalidArgument);
  CHECK(scheduler.ScheduleAtWithId(std::string(65, 'a'), later, "test", "", [] {}).code() ==
        StatusCode::kInvalidArgument);
  CHECK(scheduler.ScheduleAtWithId("Ok_id-1.~", later, "test", "", [] {}).ok());
}

TEST_CASE("Scheduler: OnFinishedGetsTheIdOfEachFinishedOneShotJob", "[scheduler]") {
  Harness h(2);
  Scheduler& scheduler = h.scheduler;
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
  std::string periodic = scheduler.ScheduleEvery(10ms, h.Now(), "test", "tick", [&] { ++ticks; });
  REQUIRE(h.AdvanceUntil(
      [&] {
        std::lock_guard lock(mu);
        return !finished.empty() && ticks.load() >= 3;
      },
      10ms));
  scheduler.Cancel(periodic);
  h.Settle();
  CHECK_FALSE(called_before_run_returned.load());
  std::lock_guard lock(mu);
  CHECK(finished == std::vector<std::string>{id});
}

TEST_CASE("Scheduler: JobsScheduledOrCancelledFromInsideAJobWork", "[scheduler]") {
  Harness h(1);
  Scheduler& scheduler = h.scheduler;
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
  REQUIRE(h.AdvanceUntil([&] { return child_runs.load() == 2; }, 10ms));
  CHECK(cancelled_victim.load());
  h.AdvanceBy(400ms, 10ms);
  CHECK(victim_runs.load() == 0);
}

TEST_CASE("Scheduler: StopWaitsForRunningJobsAndRunsNothingAfter", "[scheduler]") {
  Flag started;
  Harness h(2);
  Scheduler& scheduler = h.scheduler;
  std::atomic<bool> stop_was_called{false};
  std::atomic<bool> finished{false};
  std::atomic<int> later_runs{0};
  scheduler.ScheduleAfter(100ms, "test", "later", [&] { ++later_runs; });
  scheduler.ScheduleEvery(10ms, h.Now() + 100ms, "test", "periodic", [&] { ++later_runs; });
  h.Settle();  // every thread is up and waits
  scheduler.ScheduleAfter(0ms, "test", "slow", [&] {
    started.Set();
    // Runs on until Stop has woken the timer and the idle worker: no thread waits on the
    // clock any more (until then the idle worker does).
    const auto bound = std::chrono::steady_clock::now() + test::kRealTimeBound;
    while (h.clock.AwaitWaiters(1, 0ms) && std::chrono::steady_clock::now() < bound) {
      std::this_thread::sleep_for(1ms);
    }
    stop_was_called = !h.clock.AwaitWaiters(1, 0ms);
    finished = true;
  });
  REQUIRE(started.Wait());
  scheduler.Stop();
  CHECK(stop_was_called.load());
  CHECK(finished.load());
  scheduler.Stop();  // idempotent
  scheduler.ScheduleAfter(0ms, "test", "after stop", [&] { ++later_runs; });
  h.clock.Advance(300ms);
  CHECK_FALSE(h.clock.AwaitWaiters(1, 0ms));  // no scheduler thread is left
  CHECK(later_runs.load() == 0);
}

TEST_CASE("Scheduler: StopFromInsideAJobDoesNotDeadlock", "[scheduler]") {
  std::atomic<int> runs{0};
  {
    Flag stopped;
    Harness h(1);
    h.scheduler.ScheduleAfter(0ms, "test", "stopper", [&] {
      h.scheduler.Stop();
      ++runs;
      stopped.Set();
    });
    h.scheduler.ScheduleAfter(200ms, "test", "after", [&] { ++runs; });
    REQUIRE(stopped.Wait());
    REQUIRE(runs.load() == 1);
    h.clock.Advance(300ms);
  }
  CHECK(runs.load() == 1);
}

TEST_CASE("Scheduler: ManyJobsWithRandomDueTimesAllRunExactlyOnce", "[scheduler]") {
  constexpr int kJobs = 10'000;
  Harness h(4);
  Scheduler& scheduler = h.scheduler;
  std::vector<std::atomic<int>> runs(kJobs);
  std::atomic<int> total{0};
  std::atomic<int> finished{0};
  scheduler.OnFinished([&](const std::string&) { ++finished; });
  std::mt19937 random(42);
  std::uniform_int_distribution<int> delay_us(0, 200'000);
  const WallTime now = h.Now();
  for (int i = 0; i < kJobs; ++i) {
    scheduler.ScheduleAt(now + std::chrono::microseconds(delay_us(random)), "test", "many",
                         [&runs, &total, i] {
                           ++runs[i];
                           ++total;
                         });
    h.clock.Advance(10us);  // jobs come due while others are being scheduled
  }
  REQUIRE(h.AdvanceUntil([&] { return finished.load() == kJobs; }, 5ms));
  h.Settle();
  CHECK(total.load() == kJobs);
  int wrong = 0;
  for (const auto& count : runs) wrong += count.load() != 1;
  CHECK(wrong == 0);
  CHECK(scheduler.List().empty());
}

TEST_CASE("Scheduler: ThrowingJobCountsAsFailedAndTheWorkerKeepsRunning", "[scheduler]") {
  Harness h(1);
  Scheduler& scheduler = h.scheduler;
  std::atomic<int> finished{0};
  scheduler.OnFinished([&](const std::string&) { ++finished; });
  std::atomic<int> runs{0};
  scheduler.ScheduleAfter(0ms, "test", "throws", [] { throw std::runtime_error("boom"); });
  scheduler.ScheduleAfter(0ms, "test", "throws int", [] { throw 7; });
  scheduler.ScheduleAfter(20ms, "test", "fine", [&] { ++runs; });
  REQUIRE(h.AdvanceUntil([&] { return runs.load() == 1 && finished.load() == 3; }, 10ms));
  CHECK(scheduler.failed_runs() == 2);
}

TEST_CASE("Scheduler: KindStatsCountRunsFailuresAndTimePerKind", "[scheduler]") {
  Harness h(1);
  Scheduler& scheduler = h.scheduler;
  std::atomic<int> finished{0};
  scheduler.OnFinished([&](const std::string&) { ++finished; });
  scheduler.ScheduleAfter(0ms, "warming", "slow", [&] { h.clock.Advance(30ms); });
  scheduler.ScheduleAfter(0ms, "invalidation", "throws", [] { throw std::runtime_error("x"); });
  scheduler.ScheduleAfter(0ms, "invalidation", "fine", [] {});
  h.Settle();
  REQUIRE(finished.load() == 3);
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

TEST_CASE("Scheduler: WallClockJumpingForwardRunsThePassedJobs", "[scheduler]") {
  Harness h(2);
  std::atomic<int> runs{0};
  h.scheduler.ScheduleAt(h.Now() + 1h, "test", "in an hour", [&] { ++runs; });
  h.Settle();
  const TimePoint start = h.clock.Now();
  h.clock.JumpWall(2h);
  h.Settle();
  CHECK(runs.load() == 0);  // setting the time wakes nothing: the timer's next look sees it
  REQUIRE(h.AdvanceUntil([&] { return runs.load() == 1; }, 100ms, 5s));
  CHECK(h.MillisSince(start) < 1500.0);
}

TEST_CASE("Scheduler: WallClockJumpingBackDoesNotStallAPeriodicJob", "[scheduler]") {
  Harness h(2);
  std::atomic<int> runs{0};
  h.scheduler.ScheduleEvery(50ms, h.Now(), "test", "tick", [&] { ++runs; });
  REQUIRE(h.AdvanceUntil([&] { return runs.load() >= 2; }, 10ms));
  h.clock.JumpWall(-std::chrono::duration_cast<Duration>(1h));
  const int before = runs.load();
  REQUIRE(h.AdvanceUntil([&] { return runs.load() >= before + 3; }, 10ms, 5s));
  std::vector<JobInfo> jobs = h.scheduler.List();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].due <= h.Now() + 1s);
}

}  // namespace
}  // namespace tiercache
