#pragma once

#include <memory>
#include <string>

#include "core/cache_service.h"
#include "core/scheduled_invalidations.h"
#include "core/scheduler.h"
#include "core/status.h"
#include "core/warming.h"

namespace tiercache {

struct GrpcServerOptions {
  std::string address = "127.0.0.1:50051";  // host:port, [v6]:port
  uint64_t max_message_bytes = uint64_t{9} << 20;  // larger messages: RESOURCE_EXHAUSTED
  Duration idle_timeout = std::chrono::seconds(60);  // idle connections are closed after it
};

// Scheduled work the gRPC front end lists and changes; null members answer as if none.
struct GrpcJobs {
  ScheduledInvalidations* invalidations = nullptr;
  Scheduler* scheduler = nullptr;
  // Runs warming sources for rpc Warm {source}; null: every source is NOT_FOUND.
  WarmingEngine* warming = nullptr;
};

// The gRPC front end: service tiercache.v1.Cache over the CacheService facade, and the
// standard grpc.health.v1.Health service. gRPC headers stay inside grpc_server.cc.
class GrpcServer {
 public:
  GrpcServer(GrpcServerOptions options, CacheService& service, GrpcJobs jobs = {});
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // kUnavailable if the address can't be bound.
  Status Start();
  // Health turns NOT_SERVING, new calls are refused, calls in flight get up to `timeout`.
  void Shutdown(Duration timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tiercache
