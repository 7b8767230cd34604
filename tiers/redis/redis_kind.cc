#include "tiers/redis/redis_kind.h"

#include "core/coherence_bus.h"
#include "tiers/redis/redis_coherence_bus.h"
#include "tiers/redis/redis_tier.h"
#include "tiers/redis/redis_tier_options.h"

namespace tiercache {
namespace {

using Settings = TierSettingsOf<RedisTierOptions>;

class RedisKind final : public TierKind {
 public:
  std::string_view name() const override { return "redis"; }

  std::shared_ptr<const TierSettings> Read(const SettingsReader& section) const override {
    RedisTierOptions r;
    section.Read({
        {"url", [&](const Setting& s) { r.url = s.Text(); }},
        {"database", [&](const Setting& s) { r.database = static_cast<int>(s.Count(0, 65535)); }},
        {"key_prefix", [&](const Setting& s) { r.key_prefix = s.Text(); }},
        {"pool_size",
         [&](const Setting& s) { r.pool_size = static_cast<unsigned>(s.Count(1, 256)); }},
        {"connect_timeout", [&](const Setting& s) { r.connect_timeout = s.PositiveDuration(); }},
        {"command_timeout", [&](const Setting& s) { r.command_timeout = s.PositiveDuration(); }},
        {"sweep_interval", [&](const Setting& s) { r.sweep_interval = s.PositiveDuration(); }},
        {"max_queued", [&](const Setting& s) { r.max_queued = s.Count(1); }},
    });
    return std::make_shared<Settings>(std::move(r));
  }

  Result<std::unique_ptr<Tier>> Build(std::string_view tier_name,
                                      const TierSettings& settings) const override {
    RedisTierOptions o = Of(settings);
    o.name = std::string(tier_name);
    return MakeRedisTier(std::move(o));
  }

  void Show(const TierSettings& settings, SettingsWriter& out) const override {
    const RedisTierOptions& r = Of(settings);
    out.Url("url", r.url);
    out.Count("database", static_cast<uint64_t>(r.database));
    out.Text("key_prefix", r.key_prefix);
    out.Count("pool_size", r.pool_size);
    out.Duration("connect_timeout", r.connect_timeout);
    out.Duration("command_timeout", r.command_timeout);
    out.Duration("sweep_interval", r.sweep_interval);
    out.Count("max_queued", r.max_queued);
  }

  bool OffersCoherenceBus() const override { return true; }

  // Over the tier's own server, database and timeouts.
  Result<std::unique_ptr<CoherenceBus>> MakeCoherenceBus(const TierSettings& settings,
                                                         std::string_view channel) const override {
    const RedisTierOptions& r = Of(settings);
    RedisCoherenceOptions o;
    o.url = r.url;
    o.database = r.database;
    o.connect_timeout = r.connect_timeout;
    o.command_timeout = r.command_timeout;
    o.channel = std::string(channel);
    return MakeRedisCoherenceBus(std::move(o));
  }

 private:
  static const RedisTierOptions& Of(const TierSettings& settings) {
    return static_cast<const Settings&>(settings).options;
  }
};

}  // namespace

const TierKind& RedisTierKind() {
  static const RedisKind kind;
  return kind;
}

}  // namespace tiercache
