#pragma once

#include "workload.h"

namespace tierbench {

// Checks that a TCP connection to the server can be opened within `timeout_s`.
ProbeResult ProbeHttp(const Config& config, double timeout_s);

// Runs one phase over HTTP/1.1 keep-alive connections (one request in flight per
// connection), driven by Boost.Asio/Beast on `EffectiveThreads` threads, each thread owning
// an io_context and its share of the connections. Returns the merged statistics.
ThreadStats RunHttp(const Workload& workload, const Phase& phase);

}  // namespace tierbench
