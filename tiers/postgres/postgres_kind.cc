#include "tiers/postgres/postgres_kind.h"

#include "core/scheduled_invalidations.h"
#include "tiers/postgres/postgres_job_store.h"
#include "tiers/postgres/postgres_tier.h"
#include "tiers/postgres/postgres_tier_options.h"

namespace tiercache {
namespace {

using Settings = TierSettingsOf<PostgresTierOptions>;

class PostgresKind final : public TierKind {
 public:
  std::string_view name() const override { return "postgres"; }

  std::shared_ptr<const TierSettings> Read(const SettingsReader& section) const override {
    PostgresTierOptions p;
    section.Read({
        {"dsn", [&](const Setting& s) { p.dsn = s.Text(); }},
        // 56, not PostgreSQL's 63: the tier names its indexes after the table plus a suffix.
        {"table", [&](const Setting& s) { p.table = s.Identifier(56); }},
        {"pool_size",
         [&](const Setting& s) { p.pool_size = static_cast<unsigned>(s.Count(1, 256)); }},
        {"connect_timeout", [&](const Setting& s) { p.connect_timeout = s.PositiveDuration(); }},
        {"command_timeout", [&](const Setting& s) { p.command_timeout = s.PositiveDuration(); }},
        {"sweep_interval", [&](const Setting& s) { p.sweep_interval = s.PositiveDuration(); }},
        {"sweep_batch", [&](const Setting& s) { p.sweep_batch = s.Count(1); }},
        {"max_queued", [&](const Setting& s) { p.max_queued = s.Count(1); }},
    });
    return std::make_shared<Settings>(std::move(p));
  }

  Result<std::unique_ptr<Tier>> Build(std::string_view tier_name,
                                      const TierSettings& settings) const override {
    PostgresTierOptions o = Of(settings);
    o.name = std::string(tier_name);
    return MakePostgresTier(std::move(o));
  }

  void Show(const TierSettings& settings, SettingsWriter& out) const override {
    const PostgresTierOptions& p = Of(settings);
    out.PostgresDsn("dsn", p.dsn);
    out.Text("table", p.table);
    out.Count("pool_size", p.pool_size);
    out.Duration("connect_timeout", p.connect_timeout);
    out.Duration("command_timeout", p.command_timeout);
    out.Duration("sweep_interval", p.sweep_interval);
    out.Count("sweep_batch", p.sweep_batch);
    out.Count("max_queued", p.max_queued);
  }

  bool OffersJobStore() const override { return true; }

  // The table <table>_jobs (deploy/sql/002_jobs.sql) in the tier's database.
  Result<std::unique_ptr<JobStore>> MakeJobStore(const TierSettings& settings) const override {
    return MakePostgresJobStore(Of(settings));
  }

 private:
  static const PostgresTierOptions& Of(const TierSettings& settings) {
    return static_cast<const Settings&>(settings).options;
  }
};

}  // namespace

const TierKind& PostgresTierKind() {
  static const PostgresKind kind;
  return kind;
}

}  // namespace tiercache
