// The `tiers:` list: defaults by position, per-type settings, and clear errors.

#include <catch2/catch.hpp>

#include "tests/config/load_yaml.h"
#include "tiers/postgres/postgres_tier_options.h"
#include "tiers/redis/redis_tier_options.h"

namespace tiercache::config {
namespace {

using namespace std::chrono_literals;

TEST_CASE("TiersTakeTheSeedTtlFactorsByPosition", "[config][tiers]") {
  const Config c = Load("tiers:\n  - type: redis\n  - type: postgres\n");
  REQUIRE(c.tiers.size() == 2);
  CHECK(c.tiers[0].name == "L2");
  CHECK(c.tiers[0].kind->name() == "redis");
  CHECK(c.tiers[0].options.ttl_factor == 1.0);
  CHECK(c.tiers[1].name == "L3");
  CHECK(c.tiers[1].kind->name() == "postgres");
  CHECK(c.tiers[1].options.ttl_factor == 10.0);
  CHECK(c.tiers[1].options.write_mode == WriteMode::kSync);
  // With lower tiers L1 keeps a tenth of the lifetime, unless told otherwise.
  CHECK(c.l1.ttl_factor == 0.1);
  CHECK(Load("l1: {ttl_factor: 0.5}\ntiers: [{type: redis}]\n").l1.ttl_factor == 0.5);
  CHECK(Load("").l1.ttl_factor == 1.0);
}

TEST_CASE("TierSettingsAreRead", "[config][tiers]") {
  const Config c = Load(R"(tiers:
  - type: redis
    name: cache-redis
    url: redis://10.0.0.5:6380/2
    key_prefix: "app:"
    pool_size: 4
    command_timeout: 100ms
    required: true
  - type: postgres
    dsn: host=db dbname=cache
    table: cache_entries
    write_mode: async
    ttl_factor: 20
    write_behind: {capacity: 5000, batch_size: 250, overflow: drop_newest}
tier_health: {interval: 500ms}
)");
  const TierConfig& r = c.tiers[0];
  CHECK(r.name == "cache-redis");
  CHECK(SettingsOf<RedisTierOptions>(r).url == "redis://10.0.0.5:6380/2");
  CHECK(SettingsOf<RedisTierOptions>(r).key_prefix == "app:");
  CHECK(SettingsOf<RedisTierOptions>(r).pool_size == 4);
  CHECK(SettingsOf<RedisTierOptions>(r).command_timeout == 100ms);
  CHECK(r.options.required);
  const TierConfig& p = c.tiers[1];
  CHECK(SettingsOf<PostgresTierOptions>(p).dsn == "host=db dbname=cache");
  CHECK(SettingsOf<PostgresTierOptions>(p).table == "cache_entries");
  CHECK(p.options.write_mode == WriteMode::kAsync);
  CHECK(p.options.ttl_factor == 20.0);
  CHECK(p.options.write_behind.capacity == 5000);
  CHECK(p.options.write_behind.batch_size == 250);
  CHECK(p.options.write_behind.overflow == OverflowPolicy::kDropNewest);
  CHECK(c.tier_health.interval == 500ms);
}

TEST_CASE("TierErrorsNameTheSetting", "[config][tiers]") {
  CHECK(ErrorOf("tiers:\n  - url: redis://x\n") ==
        "test.yaml:2:5: tiers[0]: every tier needs a type: redis or postgres");
  CHECK(ErrorOf("tiers:\n  - type: memcached\n") ==
        "test.yaml:2:11: tiers[0].type: expected one of: redis, postgres; got 'memcached'");
  // A key of the other backend is unknown here.
  CHECK_THAT(ErrorOf("tiers:\n  - type: redis\n    dsn: host=x\n"),
             Catch::StartsWith("test.yaml:3:5: unknown key 'dsn' in 'tiers[0]'"));
  CHECK(ErrorOf("tiers:\n  - {type: postgres, table: \"drop table\"}\n") ==
        "test.yaml:2:29: tiers[0].table: must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, "
        "at most 56 characters), got 'drop table'");
  CHECK(ErrorOf("tiers:\n  - {type: redis, name: L1}\n") ==
        "test.yaml:2:25: tiers[0].name: L1 is the in-memory tier; choose another name");
  CHECK(ErrorOf("tiers:\n  - {type: redis}\n  - {type: redis, name: L2}\n") ==
        "test.yaml:3:5: tiers[1]: duplicate tier name 'L2'");
  CHECK_THAT(ErrorOf("tiers:\n  - {type: redis, write_mode: later}\n"),
             Catch::Contains("tiers[0].write_mode: expected one of: sync, async"));
  CHECK_THAT(ErrorOf("tiers:\n  - {type: redis, write_behind: {capacity: 10, batch_size: 20}}\n"),
             Catch::Contains("batch_size (20) must not exceed capacity (10)"));
  CHECK_THAT(ErrorOf("tiers: {type: redis}\n"), Catch::Contains("expected a list of tiers"));
}

}  // namespace
}  // namespace tiercache::config
