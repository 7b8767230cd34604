#pragma once

#include <string>
#include <vector>

#include "core/l1_store.h"
#include "core/stats_history.h"
#include "core/tiered_cache.h"

namespace tiercache {

// The document of GET /v1/stats/history: `samples` oldest first (null where a sample had
// nothing to measure), and `tiers`, every tier's health now (L1 first).
std::string StatsHistoryToJson(const std::vector<StatsSample>& samples, size_t capacity,
                               const L1Stats& l1, const std::vector<LowerTierStatus>& tiers);

}  // namespace tiercache
