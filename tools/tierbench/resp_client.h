#pragma once

#include "workload.h"

namespace tierbench {

// Runs one phase over the Redis protocol (GET key / SET key value [PX ms]), one request in
// flight per connection, on `EffectiveThreads` threads each owning an io_context and its
// share of the connections, as RunHttp does. A TCP probe is ProbeHttp's.
ThreadStats RunResp(const Workload& workload, const Phase& phase);

}  // namespace tierbench
