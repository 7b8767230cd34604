#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "core/tier.h"
#include "tiers/redis/redis_tier_options.h"

namespace tiercache {

// Validates `options` (kInvalidArgument naming the bad setting) and starts the tier's
// threads. Never blocks on the network and succeeds while Redis is down: connections are
// made in the background and retried with backoff from 50 ms to 1 s. Operations issued
// before the first attempt of a connection has finished wait for it; after a failed
// attempt they fail at once with kUnavailable and the last connection error until a
// connection is up again.
Result<std::unique_ptr<Tier>> MakeRedisTier(RedisTierOptions options);

}  // namespace tiercache
