#pragma once

#include "workload.h"

namespace tierbench {

// Checks that a gRPC channel to the server becomes ready within `timeout_s`.
ProbeResult ProbeGrpc(const Config& config, double timeout_s);

// Runs one phase over gRPC: `connections` outstanding calls of tiercache.v1.Cache Get/Set,
// spread over a few channels (each its own TCP connection), driven through the async
// CompletionQueue API by `EffectiveThreads` threads, one queue each. Returns the merged
// statistics.
ThreadStats RunGrpc(const Workload& workload, const Phase& phase);

// How many channels RunGrpc opens.
int GrpcChannelCount(const Config& config);

}  // namespace tierbench
