#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/scheduler.h"
#include "core/service.h"
#include "core/status.h"

namespace tiercache {

// A scheduled invalidation as kept in a JobStore.
struct StoredJob {
  std::string id;
  WallTime due;
  std::string request;  // EncodeInvalidateRequest
};

// Where pending scheduled invalidations survive a restart (tiers/postgres keeps them in
// L3's database). Operations answer on the store's thread and never block the caller.
class JobStore {
 public:
  virtual ~JobStore() = default;
  virtual void Save(StoredJob job, Callback<Status> done) = 0;
  virtual void Remove(std::string id, Callback<Status> done) = 0;
  virtual void LoadAll(Callback<Result<std::vector<StoredJob>>> done) = 0;
};

// A compact binary form of an invalidation request; Decode rejects anything else.
std::string EncodeInvalidateRequest(const InvalidateRequest& request);
Result<InvalidateRequest> DecodeInvalidateRequest(std::string_view bytes);

// Invalidations run later, once, on the scheduler, through `service` (as the daemon's own
// requests), and kept in the store (when there is one) from scheduling until they ran or
// were cancelled. The service checks a request before it is scheduled.
class ScheduledInvalidations {
 public:
  // `store` may be null: jobs then live in memory only.
  ScheduledInvalidations(Service& service, Scheduler& scheduler, JobStore* store);

  // kInvalidArgument for a negative delay.
  void Schedule(Duration delay, InvalidateRequest request, Callback<Result<ScheduledJob>> done);
  // Schedules again what the store holds; jobs that fell due meanwhile run at once.
  // Blocks for at most `timeout` (called once, at start). The jobs restored.
  Result<size_t> Restore(Duration timeout);
  // True if the job was pending (it will not run); the store forgets it.
  bool Cancel(std::string_view id);

  static constexpr std::string_view kKind = "invalidation";

 private:
  static std::string NewId();
  void Add(const std::string& id, WallTime due, InvalidateRequest request);
  std::function<void()> RunnerFor(std::string id, InvalidateRequest request);
  static std::string Describe(const InvalidateRequest& request);

  Service& service_;
  Scheduler& scheduler_;
  JobStore* const store_;
};

}  // namespace tiercache
