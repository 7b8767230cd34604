#pragma once

#include <string_view>

namespace tiercache::http_api {

// The HTML of GET /dashboard: server/assets/dashboard.html, embedded at build time by
// cmake/EmbedAsset.cmake (one self-contained page: inline CSS and JS, no outside requests).
std::string_view DashboardPage();

}  // namespace tiercache::http_api
