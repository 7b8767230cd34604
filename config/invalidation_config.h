#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/model_rules.h"

namespace tiercache::config {

// `invalidation:`: what model invalidations remove.
struct InvalidationConfig {
  // `invalidation.models`, checked at load (core/model_rules.h): a cycle among related
  // models or a broken template stops the start.
  ModelRules models;
  // `invalidation.listen`: notifications from an application's PostgreSQL (a trigger from
  // deploy/sql/notify/) turned into model invalidations. Off unless a dsn is given.
  struct Listen {
    std::string dsn;
    std::string channel = "tiercache_invalidate";
  };
  std::optional<Listen> listen;
};

// `coherence:`: keeps the L1 of instances sharing the lower tiers coherent over Redis
// pub/sub (core/instance_coherence.h).
struct CoherenceConfig {
  // Unset: on when a Redis tier is configured.
  std::optional<bool> enabled;
  // Empty: the first Redis tier's URL.
  std::string url;
  std::string channel = "tiercache:coherence";
  // While the channel is down, the longest L1 keeps anything.
  Duration max_staleness = std::chrono::seconds(1);
  // Empty: host name and process id.
  std::string instance_id;
};

}  // namespace tiercache::config
