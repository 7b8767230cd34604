#pragma once

#include <atomic>

#include "core/cache_service.h"
#include "core/scheduled_invalidations.h"
#include "core/scheduler.h"
#include "core/stats_history.h"
#include "core/warming.h"
#include "server/http_router.h"

namespace tiercache::http_api {

// /v1/keys/{key}: GET, PUT, DELETE.
void RegisterKeyRoutes(Router& router, CacheService& service);

// /v1/invalidate, /v1/clear, /v1/status, /metrics, /healthz, /readyz. `ready` is false
// while the daemon starts or drains; /readyz follows it.
void RegisterAdminRoutes(Router& router, CacheService& service, const std::atomic<bool>& ready);
// POST /v1/warm: {"source": NAME} starts a run; {"entries": [...]} bulk-loads.
void RegisterWarmRoutes(Router& router, CacheService& service, WarmingEngine& warming);
// POST /v1/invalidations/scheduled, GET /v1/jobs, DELETE /v1/jobs/{id}.
void RegisterJobRoutes(Router& router, ScheduledInvalidations& invalidations,
                       Scheduler& scheduler);
// GET /v1/stats/history (the sampled history, oldest first, and the tiers' health now)
// and GET /dashboard (the page that charts it).
void RegisterDashboardRoutes(Router& router, CacheService& service, const StatsHistory& history);

}  // namespace tiercache::http_api
