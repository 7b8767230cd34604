#pragma once

#include <memory>
#include <vector>

#include "config/config.h"
#include "core/change_feed.h"
#include "core/coherence_bus.h"
#include "core/scheduled_invalidations.h"
#include "core/response_cache.h"
#include "core/warming.h"
#include "core/status.h"
#include "core/tiered_cache.h"

namespace tiercache {

// The daemon's wiring from config to the backends in tiers/. Tiers, the coherence bus over
// a tier and the job store are built by each tier's kind (core/backend_kind.h), whatever
// the kinds are; the warming sources, the change feed and a coherence url are known here.

// Builds the lower tiers named by the `tiers:` list, in order, each by its kind. Connecting
// happens in the background; only settings a backend rejects (a malformed URL, say) fail
// here.
Result<std::vector<TieredCache::LowerTier>> MakeLowerTiers(
    const std::vector<config::TierConfig>& configs);

// The coherence channel `coherence:` asks for (over its url, else over the server of the
// first tier whose kind offers a bus: today the first Redis tier), or nullptr when it is
// off.
Result<std::unique_ptr<CoherenceBus>> MakeCoherenceBus(const config::Config& config);

// Where scheduled invalidations are kept: the store of the first tier whose kind offers one
// (today the first PostgreSQL tier's database), or nullptr (memory only) without one.
Result<std::unique_ptr<JobStore>> MakeJobStore(const config::Config& config);

// Adds the sources of `warming.sources` to `engine`: kInvalidArgument naming the source
// whose settings its backend rejects. `proxy` (null without the caching proxy) serves the
// view sources.
Status AddWarmSources(const config::Config& config, TieredCache& cache, WarmingEngine& engine,
                      ResponseCache* proxy);

// The database change feed of `invalidation.listen`, or nullptr when none is configured.
Result<std::unique_ptr<ChangeFeed>> MakeChangeFeed(const config::Config& config);

}  // namespace tiercache
