#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config_error.h"
#include "config/listen_address.h"
#include "config/invalidation_config.h"
#include "core/key_stats.h"
#include "core/scheduler.h"
#include "config/tiers_config.h"
#include "config/warming_config.h"
#include "core/clock.h"
#include "core/l1_options.h"
#include "core/namespaces.h"
#include "core/proxy_options.h"
#include "core/limits.h"
#include "core/strategy_options.h"

namespace tiercache::config {

// The `server:` section: how the front ends accept connections.
struct ServerConfig {
  // Where the HTTP/REST front end listens. Loopback by default, so that a fresh install is
  // not reachable from the network until an operator chooses an address.
  ListenAddress http_listen{"127.0.0.1", 8080};
  // Where the gRPC front end listens; loopback by default for the same reason.
  ListenAddress grpc_listen{"127.0.0.1", 50051};
  // Where the Redis-protocol front end listens (redis-py, django-redis, redis-cli);
  // loopback by default, beside a local Redis's 6379. nullopt (an empty string in YAML, the
  // flag or the environment) turns it off.
  std::optional<ListenAddress> resp_listen = ListenAddress{"127.0.0.1", 6380};
  // Threads running HTTP I/O. 0 means half the CPU cores (at least one): a cache usually
  // shares its host with the clients it serves, and more I/O threads than free cores
  // raise tail latency (measured: p99 0.8 ms with 1 thread, 3.4 ms with 2, on 2 cores
  // shared with the load generator). Set it to the core count on a dedicated host. At
  // most 256.
  unsigned io_threads = 0;
  // Open connections allowed per front end; more are refused, which bounds memory and file
  // descriptors at the cost of turning clients away under a connection storm. At least 1.
  uint64_t max_connections = 10000;
  // A keep-alive connection with no request for this long is closed. Shorter frees idle
  // sockets sooner; longer saves clients reconnecting.
  Duration idle_timeout = std::chrono::seconds(60);
  // How long a graceful shutdown waits for in-flight requests (and write-behind queues)
  // before closing connections anyway.
  Duration shutdown_timeout = std::chrono::seconds(10);
};

enum class LogFormat : uint8_t {
  kText,  // one human-readable line per event
  kJson,  // one JSON object per line, for log collectors
};

// The `logging:` section.
struct LoggingConfig {
  // Least severe level logged: trace, debug, info, warn, error, critical or off.
  std::string level = "info";
  // How each event is written; json suits log collectors, text suits people.
  LogFormat format = LogFormat::kText;
};

// The whole daemon configuration, as read from one YAML file. Default-constructed it is the
// embedded default that `tiercached` runs without --config: L1 only, HTTP on
// 127.0.0.1:8080, gRPC on 127.0.0.1:50051. Sections owned by core reuse core's option
// structs, so each component takes its own `const XOptions&` and never sees YAML.
// `monitoring:`: what the daemon records about its own traffic.
struct MonitoringConfig {
  // Off: requests are neither timed nor counted, no per-pattern statistics (for
  // measuring what recording costs; status and /metrics then show zeros).
  bool enabled = true;
  // Named key patterns for the per-pattern statistics, tried in order; keys matching none
  // are grouped by their first ':'-separated segment.
  std::vector<KeyGroupPattern> key_patterns;
  size_t max_patterns = 100;    // series per family, "other" included
  size_t miss_history = 16384;  // keys remembered after expiry or eviction, to tell why a
                                // read missed
};

// The `proxy:` section: the caching reverse proxy in front of web apps.
struct ProxyConfig {
  // Where it listens (flag --proxy-listen, env TIERCACHE_PROXY_LISTEN); nullopt, the
  // default, turns it off.
  std::optional<ListenAddress> listen;
  ProxyOptions options;
};

struct Config {
  ServerConfig server;         // `server:`
  Limits limits;               // `limits:`
  L1Options l1;                // `l1:`
  StrategyOptions strategies;  // `strategies:`
  LoggingConfig logging;       // `logging:`
  // `tiers:`, the lower tiers in read order; empty runs L1 only.
  std::vector<TierConfig> tiers;
  TierHealthOptions tier_health;  // `tier_health:`
  InvalidationConfig invalidation;  // `invalidation:`
  CoherenceConfig coherence;        // `coherence:`
  SchedulerOptions scheduler;       // `scheduler:`
  WarmingConfig warming;            // `warming:`
  MonitoringConfig monitoring;      // `monitoring:`
  std::vector<NamespaceConfig> namespaces;  // `namespaces:`
  ProxyConfig proxy;                        // `proxy:`
};

}  // namespace tiercache::config
