#include "server/tier_factory.h"

#include "tiers/postgres/postgres_tier.h"
#include "tiers/redis/redis_tier.h"

namespace tiercache {

namespace {

Result<std::unique_ptr<Tier>> MakeTier(const config::TierConfig& c) {
  if (c.type == config::TierType::kRedis) {
    RedisTierOptions o;
    o.name = c.name;
    o.url = c.redis.url;
    o.database = c.redis.database;
    o.key_prefix = c.redis.key_prefix;
    o.pool_size = c.redis.pool_size;
    o.connect_timeout = c.redis.connect_timeout;
    o.command_timeout = c.redis.command_timeout;
    o.sweep_interval = c.redis.sweep_interval;
    o.max_queued = c.redis.max_queued;
    return MakeRedisTier(std::move(o));
  }
  PostgresTierOptions o;
  o.name = c.name;
  o.dsn = c.postgres.dsn;
  o.table = c.postgres.table;
  o.pool_size = c.postgres.pool_size;
  o.connect_timeout = c.postgres.connect_timeout;
  o.command_timeout = c.postgres.command_timeout;
  o.sweep_interval = c.postgres.sweep_interval;
  o.sweep_batch = c.postgres.sweep_batch;
  o.max_queued = c.postgres.max_queued;
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
