#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/view_warm_source.h"
#include "core/warming.h"
#include "tiers/http/http_warm_options.h"
#include "tiers/postgres/sql_warm_options.h"

namespace tiercache::config {

enum class WarmSourceType : uint8_t { kSql, kHttp, kHot, kView };

// One entry of `warming.sources`: when and where (options), and what, by type.
struct WarmSourceConfig {
  WarmSourceType type = WarmSourceType::kSql;
  WarmSourceOptions options;  // options.default_ttl: the source's `ttl`, else the default
  std::optional<Duration> ttl;
  SqlWarmOptions sql;
  HttpWarmOptions http;
  size_t hot_top = 1000;  // `top` of a hot source: the keys it promotes
  ViewWarmOptions view;   // a view source: paths requested through the caching proxy
};

// `warming:`.
struct WarmingConfig {
  // Sources running at once; a run that finds none free waits a second and tries again.
  unsigned max_concurrent_runs = 1;
  // While the front ends serve at least this many requests a second, runs yield: one
  // batch in flight, writing about busy_share of the time (0: never yield).
  uint64_t busy_requests_per_second = 1000;
  double busy_share = 0.25;
  std::vector<WarmSourceConfig> sources;
};

}  // namespace tiercache::config
