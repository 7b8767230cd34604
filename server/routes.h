#pragma once

#include <atomic>

#include "core/frontend.h"
#include "core/service.h"
#include "server/http_router.h"

namespace tiercache {
class ResponseCache;
}

namespace tiercache::http_api {

// How the HTTP front end's requests are counted.
inline Frontend HttpFrontend() {
  static const Frontend http = Frontend::Named("http");
  return http;
}

// Route families, each a thin adapter over the one service seam: decode, one call, encode.

// /v1/keys/{key}: GET, PUT, DELETE.
void RegisterKeyRoutes(Router& router, Service& service);
// /v1/invalidate, /v1/clear, /v1/status, /metrics, /healthz, /readyz. `ready` is false
// while the daemon starts or drains; /readyz follows it.
void RegisterAdminRoutes(Router& router, Service& service, const std::atomic<bool>& ready);
// POST /v1/warm: {"source": NAME} starts a run; {"entries": [...]} bulk-loads.
void RegisterWarmRoutes(Router& router, Service& service);
// POST /v1/invalidations/scheduled, GET /v1/jobs, DELETE /v1/jobs/{id}.
void RegisterJobRoutes(Router& router, Service& service);
// GET /v1/stats/history (the sampled history, oldest first, and the tiers' health now)
// and GET /dashboard (the page that charts it).
void RegisterDashboardRoutes(Router& router, Service& service);
// The caching reverse proxy's listener: every method and path, relayed through `cache`.
void RegisterProxyRoutes(Router& router, ResponseCache& cache);

}  // namespace tiercache::http_api
