#pragma once

#include <cstdint>
#include <string>

#include "core/tier_options.h"
#include "tiers/postgres/postgres_tier_options.h"
#include "tiers/redis/redis_tier_options.h"

namespace tiercache::config {

enum class TierType : uint8_t { kRedis, kPostgres };

// One entry of the `tiers:` list: a lower tier below L1, in read order.
struct TierConfig {
  TierType type = TierType::kRedis;
  std::string name;  // "L2", "L3", ... by position unless set
  LowerTierOptions options;
  // The settings of its type; their `name` is set from `name` when the tier is made.
  RedisTierOptions redis;
  PostgresTierOptions postgres;
};

}  // namespace tiercache::config
