#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/tier_options.h"

namespace tiercache::config {

// Connection settings of a `type: redis` tier.
struct RedisSettings {
  // redis://[[user]:password@]host[:port][/db]
  std::string url = "redis://127.0.0.1:6379";
  // The database when the URL names none.
  int database = 0;
  // Every key the tier touches starts with it, so several applications can share one
  // Redis and clear removes only this one's keys.
  std::string key_prefix = "tiercache:";
  // Connections; each pipelines many requests, so a few suffice.
  unsigned pool_size = 2;
  Duration connect_timeout = std::chrono::seconds(1);
  // A command without an answer for this long fails, and counts towards marking the tier
  // down: this bounds what a hung Redis can add to a request.
  Duration command_timeout = std::chrono::milliseconds(250);
  // How often expired tag memberships are trimmed and the tag index measured.
  Duration sweep_interval = std::chrono::seconds(10);
  // Commands waiting for a connection at most; more fail at once.
  uint64_t max_queued = 100'000;
};

// Connection settings of a `type: postgres` tier.
struct PostgresSettings {
  // A libpq connection string or postgresql:// URI.
  std::string dsn = "host=127.0.0.1 port=5432 dbname=tiercache";
  // The table holding this server's entries (created at start); its namespace.
  std::string table = "tiercache_entries";
  unsigned pool_size = 4;
  Duration connect_timeout = std::chrono::seconds(2);
  Duration command_timeout = std::chrono::seconds(1);
  // How often expired rows are deleted and the tag index measured.
  Duration sweep_interval = std::chrono::seconds(10);
  // Rows deleted per sweep statement, so a sweep never holds long locks.
  uint64_t sweep_batch = 10'000;
  uint64_t max_queued = 100'000;
};

enum class TierType : uint8_t { kRedis, kPostgres };

// One entry of the `tiers:` list: a lower tier below L1, in read order.
struct TierConfig {
  TierType type = TierType::kRedis;
  std::string name;  // "L2", "L3", ... by position unless set
  LowerTierOptions options;
  RedisSettings redis;
  PostgresSettings postgres;
};

}  // namespace tiercache::config
