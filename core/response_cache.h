#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/frontend.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "core/origin.h"
#include "core/proxy_options.h"
#include "core/proxy_route.h"
#include "core/proxy_stats.h"
#include "core/shared_bytes.h"
#include "core/stored_response.h"
#include "core/tier.h"

namespace tiercache {

class Service;
struct InvalidateRequest;

// What the proxy answers a client: the body is a shared buffer (a cached entry, sent
// without a copy) from `body_offset` on.
struct ProxyResponse {
  unsigned status = 200;
  HeaderList headers;  // Date included; the front end adds Content-Length and Connection
  SharedBytes body;
  size_t body_offset = 0;

  std::string_view payload() const {
    return body ? std::string_view(*body).substr(body_offset) : std::string_view();
  }
};

// The caching reverse proxy (RFC 9111 as a shared cache, RFC 5861, RFC 9211's
// Cache-Status): a request is matched to a route, looked up through the service like any
// key (so L1, the lower tiers, tags, model rules and coherence all apply), fetched from the
// route's origin on a miss with one fetch per key at a time, and stored when HTTP caching
// and the route allow. Thread-safe; answers on the thread that completes the request.
class ResponseCache {
 public:
  // `origins` holds one origin per route, in the routes' order; `limits` are the
  // service's, which a response must fit to be stored.
  ResponseCache(ProxyOptions options, Service& service, const Limits& limits,
                std::vector<std::shared_ptr<Origin>> origins, const Clock& clock);
  ~ResponseCache();
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  void Handle(ProxyRequest request, Callback<ProxyResponse> done);
  // Stops the origins (nothing of theirs runs after it) and drops the requests still
  // waiting on them, unanswered: for a shutdown, once the proxy's listener is closed and
  // the lower tiers have answered what they had. Idempotent.
  void Stop();

  // The tags a purge of `path` (every stored variant, in every route that takes it)
  // invalidates.
  std::vector<std::string> UrlTags(std::string_view path) const;
  // Moves a request's urls into the tags and its url_prefixes into the pattern (joined with
  // one it already has) that remove what the proxy stored for them.
  void ResolvePurge(InvalidateRequest& request) const;

  std::vector<ProxyRouteStats> Stats() const;

 private:
  struct RouteState;
  struct Exchange;
  struct Flight;

  void Lookup(std::shared_ptr<Exchange> ex, std::string key, bool variant);
  void OnHit(std::shared_ptr<Exchange> ex, SharedBytes value, bool variant);
  void Fetch(std::shared_ptr<Exchange> ex, const char* reason);
  void OnOrigin(std::shared_ptr<Flight> flight, Result<OriginResponse> result,
                TimePoint sent, WallTime requested);
  // Forwards the request as it is and relays the answer, storing nothing. `bypassed`:
  // counted as a bypass (not for a collapsed request that could not share the answer).
  void Pass(std::shared_ptr<Exchange> ex, const char* fwd, bool bypassed = true);
  // Refetches a stale entry behind the answer already given (stale-while-revalidate).
  void Refresh(std::shared_ptr<Exchange> ex);
  OriginRequest ForOrigin(const Exchange& ex, bool for_cache) const;
  void Store(const Exchange& ex, const std::string& key, std::string bytes, Duration ttl,
             std::vector<std::string> tags);
  void Answer(const Exchange& ex, const DecodedResponse& stored, const SharedBytes& bytes,
              const std::string& cache_status) const;

  const ProxyOptions options_;
  Service& service_;
  const Limits service_limits_;
  const Clock& clock_;
  const Frontend frontend_;
  std::vector<std::unique_ptr<RouteState>> routes_;

  std::mutex flights_mu_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;  // by key
};

}  // namespace tiercache
