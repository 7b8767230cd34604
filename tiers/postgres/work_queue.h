#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>

#include "core/status.h"
#include "core/thread_annotations.h"
#include "tiers/common/event_fd.h"
#include "tiers/postgres/pg_connection.h"

namespace tiercache::postgres {

// Work for a connection thread: one operation of the tier, or a bulk job done in steps.
class Job {
 public:
  virtual ~Job() = default;
  // Runs one bounded step on a live connection. True once the job has answered its caller
  // (with its result or an error); false if it wants another step later.
  virtual bool Step(PgConnection& conn) = 0;
  // Answers the caller with `status`; the job will not run (or run on).
  virtual void Fail(Status status) = 0;
};

// Jobs waiting for the connection threads that serve them. A job waits only while at
// least one of those threads has a live connection, or during the very first connection
// attempt (so that a tier is usable as soon as it is made): otherwise, or when the queue
// is full or stopping, it fails at once, so a dead backend costs its callers nothing. Jobs are failed
// outside the lock, on the thread that made them fail.
class WorkQueue {
 public:
  // `label` (host:port) starts the messages of jobs failed here.
  WorkQueue(std::string label, size_t capacity);

  // Queues `job`, or fails it at once with kUnavailable.
  void Submit(std::unique_ptr<Job> job);
  // Queues again, at the back, a job that wants another step.
  void Requeue(std::unique_ptr<Job> job);
  // The oldest job, or nullptr. Signals wake_fd() again if more are waiting, so that
  // another idle thread picks them up.
  std::unique_ptr<Job> Take();

  // A thread's connection came up.
  void ConnectionUp();
  // A thread's connection went down because of `error`. When none is left, every queued job
  // fails: waiting for a reconnect could take longer than any caller wants to wait.
  void ConnectionDown(const Status& error);
  // A connection attempt failed: why the jobs failing at once meanwhile fail.
  void ConnectFailed(const Status& error);
  // Fails every queued job, and every later one.
  void Stop();

  // Readable when jobs may be waiting; a thread about to look for one clears it first.
  int wake_fd() const { return wake_.fd(); }
  void ClearWake() const { wake_.Clear(); }

 private:
  // Queues `job` at the back; a new one only within capacity.
  void Enqueue(std::unique_ptr<Job> job, bool is_new);
  Status NotConnectedLocked() const TC_REQUIRES(mu_);
  std::deque<std::unique_ptr<Job>> TakeAllLocked() TC_REQUIRES(mu_);

  const std::string label_;
  const size_t capacity_;
  backend::EventFd wake_;
  Mutex mu_;
  std::deque<std::unique_ptr<Job>> jobs_ TC_GUARDED_BY(mu_);
  unsigned connected_ TC_GUARDED_BY(mu_) = 0;  // threads with a live connection
  std::string last_error_ TC_GUARDED_BY(mu_);
  bool stopped_ TC_GUARDED_BY(mu_) = false;
  bool first_attempt_done_ TC_GUARDED_BY(mu_) = false;
};

}  // namespace tiercache::postgres
