#pragma once

// The one place tierctl talks gRPC: a blocking client of tiercache.v1.Cache with a deadline
// on every call. Only protobuf messages cross this header; gRPC's own headers stay in
// client.cc.

#include <chrono>
#include <memory>
#include <string>

#include "tiercache/v1/cache.pb.h"

namespace tierctl {

// How a call ended.
struct CallStatus {
  // The gRPC status code (0 is OK) and its name ("NOT_FOUND").
  int code = 0;
  std::string code_name = "OK";
  std::string message;
  // True when the call failed because no connection to the server could be made (refused,
  // unresolvable, or not connected before the deadline), as opposed to the server
  // answering with an error.
  bool unreachable = false;

  bool ok() const { return code == 0; }
  bool unimplemented() const { return code_name == "UNIMPLEMENTED"; }
};

template <class Response>
struct Reply {
  CallStatus status;
  Response response;
};

// A client of one tiercached. Not thread-safe; tierctl makes one call at a time.
class Client {
 public:
  // `target` is HOST:PORT (a gRPC target); every call gets `timeout` as its deadline, and
  // names namespace `ns` (x-cache-namespace) unless it is empty.
  Client(const std::string& target, std::chrono::milliseconds timeout, std::string ns = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& target() const;

  Reply<tiercache::v1::GetResponse> Get(const tiercache::v1::GetRequest& request);
  Reply<tiercache::v1::SetResponse> Set(const tiercache::v1::SetRequest& request);
  Reply<tiercache::v1::DeleteResponse> Delete(const tiercache::v1::DeleteRequest& request);
  Reply<tiercache::v1::InvalidateResponse> Invalidate(
      const tiercache::v1::InvalidateRequest& request);
  Reply<tiercache::v1::ClearResponse> Clear();
  Reply<tiercache::v1::StatusResponse> Status(bool include_metrics = false);
  Reply<tiercache::v1::ScheduleInvalidationResponse> ScheduleInvalidation(
      const tiercache::v1::ScheduleInvalidationRequest& request);
  Reply<tiercache::v1::ListJobsResponse> ListJobs();
  Reply<tiercache::v1::CancelJobResponse> CancelJob(const tiercache::v1::CancelJobRequest& request);
  Reply<tiercache::v1::WarmResponse> Warm(const tiercache::v1::WarmRequest& request);
  Reply<tiercache::v1::ListNamespacesResponse> ListNamespaces();
  Reply<tiercache::v1::Namespace> BumpNamespace(const std::string& name);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tierctl
