#pragma once

#include <memory>
#include <string>

#include "core/service.h"
#include "core/status.h"

namespace tiercache {

struct GrpcServerOptions {
  std::string address = "127.0.0.1:50051";  // host:port, [v6]:port
  uint64_t max_message_bytes = uint64_t{9} << 20;  // larger messages: RESOURCE_EXHAUSTED
  Duration idle_timeout = std::chrono::seconds(60);  // idle connections are closed after it
};

// The gRPC front end: service tiercache.v1.Cache over the service seam (core/service.h),
// and the standard grpc.health.v1.Health service. gRPC headers stay inside grpc_server.cc.
class GrpcServer {
 public:
  GrpcServer(GrpcServerOptions options, Service& service);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // How the gRPC front end's requests are counted.
  static Frontend Id();

  // kUnavailable if the address can't be bound.
  Status Start();
  // Health turns NOT_SERVING, new calls are refused, calls in flight get up to `timeout`.
  void Shutdown(Duration timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tiercache
