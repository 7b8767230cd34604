#pragma once

#include <atomic>

#include "core/cache_service.h"
#include "server/http_router.h"

namespace tiercache::http_api {

// /v1/keys/{key}: GET, PUT, DELETE.
void RegisterKeyRoutes(Router& router, CacheService& service);

// /v1/invalidate, /v1/clear, /v1/status, /metrics, /healthz, /readyz. `ready` is false
// while the daemon starts or drains; /readyz follows it.
void RegisterAdminRoutes(Router& router, CacheService& service, const std::atomic<bool>& ready);

}  // namespace tiercache::http_api
