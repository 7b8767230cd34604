#pragma once

#include <vector>

#include "config/tiers_config.h"
#include "core/status.h"
#include "core/tiered_cache.h"

namespace tiercache {

// Builds the lower tiers named by the `tiers:` list, in order. Connecting happens in the
// background; only settings a backend rejects (a malformed URL, say) fail here.
Result<std::vector<TieredCache::LowerTier>> MakeLowerTiers(
    const std::vector<config::TierConfig>& configs);

}  // namespace tiercache
