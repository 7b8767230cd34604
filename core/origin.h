#pragma once

#include <memory>
#include <string>

#include "core/http_headers.h"
#include "core/shared_bytes.h"
#include "core/status.h"
#include "core/tier.h"

namespace tiercache {

// A request as the proxy forwards it to a web app.
struct OriginRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as the client sent them (the origin adds its prefix)
  HeaderList headers;  // end-to-end fields; the origin sets Host and the connection's own
  std::string body;
};

struct OriginResponse {
  unsigned status = 200;
  HeaderList headers;  // as received, hop-by-hop fields removed
  std::string body;
};

// A web app behind the caching reverse proxy (tiers/http's pool of keep-alive
// connections is the real one). Errors: kUnavailable when the origin cannot be reached or
// closes early, kDeadlineExceeded when it does not answer within its timeout, kTooLarge
// past the response size limits, kInvalidArgument for a response that is not HTTP.
// Thread-safe; answers on its own thread.
class Origin {
 public:
  virtual ~Origin() = default;
  virtual void Fetch(OriginRequest request, Callback<Result<OriginResponse>> done) = 0;
  // Drops the requests under way unanswered and sends no more; returns once none of its
  // callbacks runs. For a shutdown; later Fetches are dropped too.
  virtual void Stop() = 0;
};

}  // namespace tiercache
