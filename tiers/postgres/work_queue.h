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

// A task for a connection thread: one operation of the tier, or a removal or sweep over many
// rows, done in steps.
class Task {
 public:
  virtual ~Task() = default;
  // Runs one bounded step on a live connection. True once the task has answered its caller
  // (with its result or an error); false if it wants another step later.
  virtual bool Step(PgConnection& conn) = 0;
  // Answers the caller with `status`; the task will not run (or run on).
  virtual void Fail(Status status) = 0;
};

// Tasks waiting for the connection threads that serve them. A task waits only while at
// least one of those threads has a live connection, or during the very first connection
// attempt (so that a tier is usable as soon as it is made): otherwise, or when the queue
// is full or stopping, it fails at once, so a dead backend costs its callers nothing. Tasks
// are failed outside the lock, on the thread that made them fail.
class WorkQueue {
 public:
  // `label` (host:port) starts the messages of tasks failed here.
  WorkQueue(std::string label, size_t capacity);

  // Queues `task`, or fails it at once with kUnavailable.
  void Submit(std::unique_ptr<Task> task);
  // Queues again, at the back, a task that wants another step.
  void Requeue(std::unique_ptr<Task> task);
  // The oldest task, or nullptr. Signals wake_fd() again if more are waiting, so that
  // another idle thread picks them up.
  std::unique_ptr<Task> Take();

  // A thread's connection came up.
  void ConnectionUp();
  // A thread's connection went down because of `error`. When none is left, every queued task
  // fails: waiting for a reconnect could take longer than any caller wants to wait.
  void ConnectionDown(const Status& error);
  // A connection attempt failed: why the tasks failing at once meanwhile fail.
  void ConnectFailed(const Status& error);
  // Fails every queued task, and every later one.
  void Stop();

  // Readable when tasks may be waiting; a thread about to look for one clears it first.
  int wake_fd() const { return wake_.fd(); }
  void ClearWake() const { wake_.Clear(); }

 private:
  // Queues `task` at the back; a new one only within capacity.
  void Enqueue(std::unique_ptr<Task> task, bool is_new);
  Status NotConnectedLocked() const TC_REQUIRES(mu_);
  std::deque<std::unique_ptr<Task>> TakeAllLocked() TC_REQUIRES(mu_);

  const std::string label_;
  const size_t capacity_;
  backend::EventFd wake_;
  Mutex mu_;
  std::deque<std::unique_ptr<Task>> tasks_ TC_GUARDED_BY(mu_);
  unsigned connected_ TC_GUARDED_BY(mu_) = 0;  // threads with a live connection
  std::string last_error_ TC_GUARDED_BY(mu_);
  bool stopped_ TC_GUARDED_BY(mu_) = false;
  bool first_attempt_done_ TC_GUARDED_BY(mu_) = false;
};

}  // namespace tiercache::postgres
