#include <memory>
#include <string>

#include "server/dashboard_page.h"
#include "server/routes.h"
#include "server/stats_history_json.h"

namespace tiercache::http_api {

namespace {

// The page may reach nothing but this server: inline script and style, data: icons, and
// fetches to its own origin. A page edit that pulls in anything else fails loudly in the
// browser (and in tests/e2e/dashboard_test.cc) instead of quietly calling out.
constexpr const char* kDashboardPolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

}  // namespace

void RegisterDashboardRoutes(Router& router, CacheService& service, const StatsHistory& history) {
  router.Add(Method::kGet, "/v1/stats/history", [&service, &history](Request&, std::string_view) {
    Response r;
    r.content_type = "application/json";
    r.headers.emplace_back("Cache-Control", "no-store");
    // Straight from the tiers rather than through GetStatus, which would count the
    // dashboard's polls as status requests in the very figures it shows.
    r.body = StatsHistoryToJson(history.Snapshot(), history.capacity(),
                                service.cache().l1().Stats(), service.cache().LowerTiers());
    return r;
  });

  // Built once: every request shares the same bytes.
  auto page = std::make_shared<const std::string>(DashboardPage());
  router.Add(Method::kGet, "/dashboard", [page](Request&, std::string_view) {
    Response r;
    r.content_type = "text/html; charset=utf-8";
    r.headers.emplace_back("Content-Security-Policy", kDashboardPolicy);
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.shared_body = page;
    return r;
  });
}

}  // namespace tiercache::http_api
