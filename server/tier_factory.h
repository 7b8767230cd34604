#pragma once

#include <memory>
#include <vector>

#include "config/config.h"
#include "config/tiers_config.h"
#include "core/change_feed.h"
#include "core/coherence_bus.h"
#include "core/scheduled_invalidations.h"
#include "core/warming.h"
#include "core/status.h"
#include "core/tiered_cache.h"

namespace tiercache {

// Builds the lower tiers named by the `tiers:` list, in order. Connecting happens in the
// background; only settings a backend rejects (a malformed URL, say) fail here.
Result<std::vector<TieredCache::LowerTier>> MakeLowerTiers(
    const std::vector<config::TierConfig>& configs);

// The coherence channel `coherence:` asks for (by default over the first Redis tier's
// server), or nullptr when it is off.
Result<std::unique_ptr<CoherenceBus>> MakeCoherenceBus(const config::Config& config);

// Where scheduled invalidations are kept: the first PostgreSQL tier's database, or
// nullptr (memory only) without one.
Result<std::unique_ptr<JobStore>> MakeJobStore(const config::Config& config);

// Adds the sources of `warming.sources` to `engine`: kInvalidArgument naming the source
// whose settings its backend rejects.
Status AddWarmSources(const config::Config& config, TieredCache& cache, WarmingEngine& engine);

// The database change feed of `invalidation.listen`, or nullptr when none is configured.
Result<std::unique_ptr<ChangeFeed>> MakeChangeFeed(const config::Config& config);

}  // namespace tiercache
