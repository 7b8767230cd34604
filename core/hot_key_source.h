#pragma once

#include <cstddef>
#include <memory>

#include "core/tiered_cache.h"
#include "core/warm_source.h"

namespace tiercache {

// The `hot` warming source: reads the `top` keys most read from the lower tiers lately
// (TieredCache::HotLowerTierKeys), so that those L1 no longer holds are copied back into
// it with their tags and remaining lifetime, the way any read promotes. A key already in L1
// counts as stored; one no tier holds any more, as a failure.
std::unique_ptr<WarmSource> MakeHotKeySource(TieredCache& cache, size_t top);

}  // namespace tiercache
