#pragma once

#include <atomic>
#include <cstdint>

#include "core/key_pattern.h"
#include "core/status.h"
#include "core/tier.h"
#include "tiers/redis/redis_connection.h"
#include "tiers/redis/redis_layout.h"
#include "tiers/redis/redis_pool.h"

// The tier's keyspace walks, run on its maintenance thread: each SCANs a page of keys (COUNT
// 1000) at a time and acts on the page before asking for the next, so Redis is never busy
// with one of them for long and a walk stops early once `stopping` is set.
namespace tiercache::redis {

// UNLINKs every key under the prefix (entries and tag sets); the number of entries removed.
Result<uint64_t> ClearNamespace(Pool& pool, const Layout& layout,
                                const std::atomic<bool>& stopping);

// Removes, with the delete script (so their tag memberships go too), every entry whose key
// matches `pattern`; the number removed. The pattern is tested here, never by Redis.
Result<uint64_t> RemoveMatching(Pool& pool, const Layout& layout, const KeyPattern& pattern,
                                const std::atomic<bool>& stopping);

// Drops the memberships of expired entries from every tag set and measures what is left;
// also measures Redis's clock offset again.
Result<TagIndexStats> SweepTagSets(Pool& pool, const Layout& layout, ServerClock& clock,
                                   const std::atomic<bool>& stopping);

}  // namespace tiercache::redis
