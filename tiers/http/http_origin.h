#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/origin.h"
#include "core/status.h"

namespace tiercache {

struct HttpOriginOptions {
  std::string base_url;  // "http://host[:port][/prefix]"
  Duration connect_timeout = std::chrono::seconds(5);
  Duration timeout = std::chrono::seconds(30);  // from sending until the whole response
  uint32_t max_idle_connections = 64;           // kept open between requests
  uint64_t max_body_bytes = uint64_t{64} << 20;
  uint32_t max_header_bytes = 64 * 1024;
};

// The caching proxy's origin: HTTP/1.1 over a pool of keep-alive connections (Beast, one
// I/O thread per origin). A kept connection the origin closed meanwhile is replaced once,
// for a request nothing of which was answered yet, when the method is idempotent.
// kInvalidArgument for a bad base_url.
Result<std::shared_ptr<Origin>> MakeHttpOrigin(HttpOriginOptions options);

}  // namespace tiercache
