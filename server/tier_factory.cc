#include "server/tier_factory.h"

#include "tiers/postgres/postgres_tier.h"
#include "tiers/redis/redis_tier.h"

namespace tiercache {

namespace {

Result<std::unique_ptr<Tier>> MakeTier(const config::TierConfig& c) {
  if (c.type == config::TierType::kRedis) {
    RedisTierOptions o = c.redis;
    o.name = c.name;
    return MakeRedisTier(std::move(o));
  }
  PostgresTierOptions o = c.postgres;
  o.name = c.name;
  return MakePostgresTier(std::move(o));
}

}  // namespace

Result<std::vector<TieredCache::LowerTier>> MakeLowerTiers(
    const std::vector<config::TierConfig>& configs) {
  std::vector<TieredCache::LowerTier> tiers;
  for (const auto& c : configs) {
    auto tier = MakeTier(c);
    if (!tier.ok()) return Status::InvalidArgument("tier " + c.name + ": " + tier.status().message());
    tiers.push_back(TieredCache::LowerTier{std::move(tier).value(), c.options});
  }
  return tiers;
}

}  // namespace tiercache
