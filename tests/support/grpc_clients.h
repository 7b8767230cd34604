#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tiercache/v1/cache.grpc.pb.h"

namespace tiercache::test {

// An insecure channel to `target` ("127.0.0.1:Q") with no client-side message size
// limit, so that the server's limits are the ones tested.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target);

std::unique_ptr<tiercache::v1::Cache::Stub> MakeCacheStub(const std::string& target);

// A client context whose call fails with DEADLINE_EXCEEDED after `timeout`; every test
// call gets one, so that a hung server fails the test instead of hanging it.
std::unique_ptr<grpc::ClientContext> MakeContext(
    std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A client of the standard grpc.health.v1.Health service.
class HealthClient {
 public:
  explicit HealthClient(const std::string& target);

  struct Result {
    grpc::Status status;
    grpc::health::v1::HealthCheckResponse::ServingStatus serving =
        grpc::health::v1::HealthCheckResponse::UNKNOWN;
  };

  // Health/Check for `service` ("" asks about the server as a whole).
  Result Check(const std::string& service = "");

 private:
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
};

}  // namespace tiercache::test
