#include "tiers/postgres/work_queue.h"

namespace tiercache::postgres {

namespace {

void FailAll(std::deque<std::unique_ptr<Task>> tasks, const Status& status) {
  for (auto& task : tasks) task->Fail(status);
}

}  // namespace

WorkQueue::WorkQueue(std::string label, size_t capacity)
    : label_(std::move(label)), capacity_(capacity), last_error_(label_ + ": not connected yet") {}

Status WorkQueue::NotConnectedLocked() const {
  return Status::Unavailable("PostgreSQL is not connected: " + last_error_);
}

std::deque<std::unique_ptr<Task>> WorkQueue::TakeAllLocked() {
  std::deque<std::unique_ptr<Task>> all;
  all.swap(tasks_);
  return all;
}

void WorkQueue::Submit(std::unique_ptr<Task> task) { Enqueue(std::move(task), /*is_new=*/true); }

void WorkQueue::Requeue(std::unique_ptr<Task> task) { Enqueue(std::move(task), /*is_new=*/false); }

void WorkQueue::Enqueue(std::unique_ptr<Task> task, bool is_new) {
  Status refused;
  {
    MutexLock lock(mu_);
    if (stopped_) {
      refused = Status::Unavailable(label_ + ": the tier is shutting down");
    } else if (connected_ == 0 && first_attempt_done_) {
      refused = NotConnectedLocked();
    } else if (is_new && tasks_.size() >= capacity_) {
      // A task coming back for another step was admitted once already: it is never refused.
      refused = Status::Unavailable(label_ + ": " + std::to_string(tasks_.size()) +
                                    " operations already waiting for a connection");
    } else {
      tasks_.push_back(std::move(task));
    }
  }
  if (!refused.ok()) return task->Fail(std::move(refused));
  wake_.Signal();
}

std::unique_ptr<Task> WorkQueue::Take() {
  MutexLock lock(mu_);
  if (tasks_.empty()) return nullptr;
  std::unique_ptr<Task> task = std::move(tasks_.front());
  tasks_.pop_front();
  if (!tasks_.empty()) wake_.Signal();
  return task;
}

void WorkQueue::ConnectionUp() {
  MutexLock lock(mu_);
  ++connected_;
  first_attempt_done_ = true;
}

void WorkQueue::ConnectionDown(const Status& error) {
  std::deque<std::unique_ptr<Task>> orphans;
  Status status;
  {
    MutexLock lock(mu_);
    if (connected_ > 0) --connected_;
    last_error_ = error.message();
    if (connected_ > 0) return;
    orphans = TakeAllLocked();
    status = NotConnectedLocked();
  }
  FailAll(std::move(orphans), status);
}

void WorkQueue::ConnectFailed(const Status& error) {
  std::deque<std::unique_ptr<Task>> orphans;
  Status status;
  {
    MutexLock lock(mu_);
    last_error_ = error.message();
    // Tasks queued while the very first attempt was under way fail with it.
    const bool first = !first_attempt_done_;
    first_attempt_done_ = true;
    if (!first || connected_ > 0) return;
    orphans = TakeAllLocked();
    status = NotConnectedLocked();
  }
  FailAll(std::move(orphans), status);
}

void WorkQueue::Stop() {
  std::deque<std::unique_ptr<Task>> orphans;
  {
    MutexLock lock(mu_);
    stopped_ = true;
    orphans = TakeAllLocked();
  }
  FailAll(std::move(orphans), Status::Unavailable(label_ + ": the tier is shutting down"));
}

}  // namespace tiercache::postgres
