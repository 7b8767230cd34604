#pragma once

#include <string>
#include <vector>

#include "core/service.h"

namespace tiercache {

// The document of GET /v1/stats/history: `samples` oldest first (null where a sample had
// nothing to measure), and `tiers`, every tier's health now (L1 first).
std::string StatsHistoryToJson(const HistorySnapshot& history);

}  // namespace tiercache
