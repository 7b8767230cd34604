#pragma once

#include "core/backend_kind.h"

namespace tiercache {

// The `redis` tier kind: settings RedisTierOptions (redis_tier_options.h), built by
// MakeRedisTier; offers the coherence bus over the tier's server (redis_coherence_bus.h).
const TierKind& RedisTierKind();

}  // namespace tiercache
