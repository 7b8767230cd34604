#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "server/dashboard_page.h"
#include "server/http_status_map.h"
#include "server/routes.h"
#include "server/exposition/stats_history_json.h"
#include "server/url.h"

namespace tiercache::http_api {

namespace {

// The page may reach nothing but this server: inline script and style, data: icons, and
// fetches to its own origin. A page edit that pulls in anything else fails loudly in the
// browser (and in tests/e2e/dashboard_test.cc) instead of quietly calling out.
constexpr const char* kDashboardPolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

// The query of GET /v1/stats/history: nothing, or since=UNIX_MS (the newest sample the
// poller holds; a whole history is ~200 KB and milliseconds of an I/O thread to render,
// one new sample a few hundred bytes).
std::variant<std::optional<WallTime>, Response> ParseSince(std::string_view query) {
  auto params = ParseQuery(query);
  if (!params) return BadRequest("malformed percent-encoding in the query string");
  std::optional<WallTime> since;
  for (const auto& [name, value] : *params) {
    if (name != "since") {
      return BadRequest("unknown query parameter '" + name + "' (expected since)");
    }
    int64_t ms = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), ms);
    // Past 2255 a time in nanoseconds no longer fits in 64 bits.
    if (error != std::errc() || end != value.data() + value.size() || ms < 0 ||
        ms > 9'000'000'000'000) {
      return BadRequest("since must be a time in milliseconds since the Unix epoch, got '" +
                        value + "'");
    }
    since = WallTime(std::chrono::milliseconds(ms));
  }
  return since;
}

}  // namespace

void RegisterDashboardRoutes(Router& router, Service& service) {
  router.Add(Method::kGet, "/v1/stats/history", [&service](Request& req, std::string_view) {
    auto since = ParseSince(SplitTarget(req.target).second);
    if (auto* error = std::get_if<Response>(&since)) return std::move(*error);
    const auto& after = std::get<std::optional<WallTime>>(since);
    Response r;
    r.content_type = "application/json";
    r.headers.emplace_back("Cache-Control", "no-store");
    // Not through GetStatus, which would count the dashboard's polls as status requests
    // in the very figures it shows.
    r.body = StatsHistoryToJson(service.History(after));
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
