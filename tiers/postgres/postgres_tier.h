#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "core/tier.h"
#include "tiers/postgres/postgres_tier_options.h"

namespace tiercache {

// Validates `options` (kInvalidArgument naming the bad setting) and starts the tier's
// threads. Never blocks on the network and succeeds while PostgreSQL is down: the threads
// connect, create or migrate the schema from deploy/sql/ and keep retrying in the background
// (backoff from 50 ms to 1 s). Operations issued during the very first connection attempt
// wait for it; after a failed attempt, until a connection is up again, every operation
// fails at once with kUnavailable and the last connection error.
Result<std::unique_ptr<Tier>> MakePostgresTier(PostgresTierOptions options);

}  // namespace tiercache
