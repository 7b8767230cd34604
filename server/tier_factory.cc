#include "server/tier_factory.h"

#include "core/hot_key_source.h"
#include "core/view_warm_source.h"
#include "tiers/http/http_warm_source.h"
#include "tiers/postgres/postgres_change_feed.h"
#include "tiers/postgres/sql_warm_source.h"
#include "tiers/redis/redis_coherence_bus.h"

namespace tiercache {

Result<std::vector<TieredCache::LowerTier>> MakeLowerTiers(
    const std::vector<config::TierConfig>& configs) {
  std::vector<TieredCache::LowerTier> tiers;
  for (const auto& c : configs) {
    auto tier = c.kind->Build(c.name, *c.settings);
    if (!tier.ok()) return Status::InvalidArgument("tier " + c.name + ": " + tier.status().message());
    tiers.push_back(TieredCache::LowerTier{std::move(tier).value(), c.options});
  }
  return tiers;
}

Result<std::unique_ptr<CoherenceBus>> MakeCoherenceBus(const config::Config& config) {
  const config::TierConfig* carrier = nullptr;
  for (const auto& t : config.tiers) {
    if (t.kind->OffersCoherenceBus()) {
      carrier = &t;
      break;
    }
  }
  const config::CoherenceConfig& c = config.coherence;
  if (!c.enabled.value_or(carrier != nullptr)) return std::unique_ptr<CoherenceBus>();
  Result<std::unique_ptr<CoherenceBus>> bus = std::unique_ptr<CoherenceBus>();
  if (!c.url.empty()) {
    RedisCoherenceOptions o;
    o.url = c.url;
    o.channel = c.channel;
    bus = MakeRedisCoherenceBus(std::move(o));
  } else if (carrier != nullptr) {
    bus = carrier->kind->MakeCoherenceBus(*carrier->settings, c.channel);
  } else {
    return Status::InvalidArgument("coherence: give a url, or configure a Redis tier");
  }
  if (!bus.ok()) return Status::InvalidArgument("coherence: " + bus.status().message());
  return bus;
}

Result<std::unique_ptr<JobStore>> MakeJobStore(const config::Config& config) {
  for (const auto& t : config.tiers) {
    if (t.kind->OffersJobStore()) {
      auto store = t.kind->MakeJobStore(*t.settings);
      if (!store.ok()) {
        return Status::InvalidArgument("tier " + t.name + ": " + store.status().message());
      }
      return store;
    }
  }
  return std::unique_ptr<JobStore>();
}

Status AddWarmSources(const config::Config& config, TieredCache& cache, WarmingEngine& engine,
                      ResponseCache* proxy) {
  for (const config::WarmSourceConfig& c : config.warming.sources) {
    const std::string where = "warming source " + c.options.name + ": ";
    if (c.type == config::WarmSourceType::kView && proxy == nullptr) {
      return Status::InvalidArgument(where + "a view source needs the caching proxy "
                                             "(proxy.listen and proxy.routes)");
    }
    Result<std::unique_ptr<WarmSource>> source =
        c.type == config::WarmSourceType::kSql    ? MakeSqlWarmSource(c.sql)
        : c.type == config::WarmSourceType::kHttp ? MakeHttpWarmSource(c.http)
        : c.type == config::WarmSourceType::kView ? MakeViewWarmSource(*proxy, c.view)
                                                  : MakeHotKeySource(cache, c.hot_top);
    if (!source.ok()) return Status::InvalidArgument(where + source.status().message());
    WarmSourceOptions options = c.options;
    options.default_ttl = c.ttl.value_or(config.strategies.default_timeout);
    if (Status s = engine.Add(std::move(options), std::move(source).value()); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::unique_ptr<ChangeFeed>> MakeChangeFeed(const config::Config& config) {
  const auto& listen = config.invalidation.listen;
  if (!listen) return std::unique_ptr<ChangeFeed>();
  PostgresChangeFeedOptions o;
  o.dsn = listen->dsn;
  o.channel = listen->channel;
  auto feed = MakePostgresChangeFeed(std::move(o));
  if (!feed.ok()) return Status::InvalidArgument("invalidation.listen: " + feed.status().message());
  return feed;
}

}  // namespace tiercache
