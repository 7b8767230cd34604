#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/http_headers.h"
#include "core/warm_source.h"

namespace tiercache {

class ResponseCache;

// A `view` warming source: paths requested through the caching proxy, each once per
// variant (a set of request headers: a language, a user's cookie), so that what is stored
// is exactly what clients with those headers will hit.
struct ViewWarmOptions {
  struct Path {
    std::string path;    // origin-form target: "/dashboard?tab=1"
    HeaderList headers;  // sent with every variant
  };
  std::vector<Path> paths;
  std::vector<HeaderList> variants;  // none: each path once, with its own headers only
  Duration timeout = std::chrono::seconds(60);  // one request, from sending to its answer
};

// Each request asks for a fresh copy (Cache-Control: no-cache), which the proxy fetches and
// stores; a response the route may not store, an error status or no answer within the
// timeout counts as that item failing. kInvalidArgument for a path that is not one.
Result<std::unique_ptr<WarmSource>> MakeViewWarmSource(ResponseCache& proxy,
                                                       ViewWarmOptions options);

}  // namespace tiercache
