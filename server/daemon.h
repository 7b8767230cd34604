#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string_view>

#include "config/config.h"
#include "core/cache_service.h"
#include "core/change_feed.h"
#include "core/expiry_sweeper.h"
#include "core/instance_coherence.h"
#include "core/key_stats.h"
#include "core/l1_store.h"
#include "core/response_cache.h"
#include "core/scheduled_invalidations.h"
#include "core/scheduler.h"
#include "core/stats_history.h"
#include "core/stats_sampler.h"
#include "core/status.h"
#include "core/tiered_cache.h"
#include "core/warming.h"
#include "server/grpc_server.h"
#include "server/resp/resp_server.h"
#include "server/http_router.h"
#include "server/http_server.h"

namespace tiercache {

// tiercached: every part of the daemon, wired from one config. The members are declared
// in the order they start, so they stop in reverse: whatever calls into a member from a
// thread of its own (a front end, the change feed, the sampler, scheduled jobs, the
// coherence bus) is declared after it and so is gone before it.
class Daemon {
 public:
  // Builds every part; connecting to the lower tiers goes on in the background. Fails
  // only on settings a backend rejects (a malformed URL, say), naming them.
  static Result<std::unique_ptr<Daemon>> Create(const config::Config& config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Restores scheduled invalidations and the hot set, starts the coherence channel, the
  // change feed, warming, sampling and the front ends, then turns ready. kUnavailable if a listener
  // can't bind (the daemon is then stopped).
  Status Start();
  // Turns unready, lets the front ends finish what is in flight (up to the shutdown
  // timeout), flushes the write-behind queues into their tiers, and saves the hot set
  // (l1.hot_set). `why` is logged.
  void Drain(std::string_view why);

 private:
  // What Create builds before the daemon: the parts whose settings can be refused.
  struct Backends {
    std::vector<TieredCache::LowerTier> lower_tiers;
    std::unique_ptr<CoherenceBus> bus;
    std::unique_ptr<JobStore> job_store;
    std::unique_ptr<ChangeFeed> change_feed;
    std::vector<std::shared_ptr<Origin>> origins;  // one per proxy route
  };
  // Runs `stop` when destroyed: stops what calls into the members declared before it.
  struct StopFirst {
    std::function<void()> stop;
    ~StopFirst() { stop(); }
  };

  Daemon(const config::Config& config, Backends backends);
  // The hot set a graceful stop saved, back into L1 (l1.hot_set), before the front ends open.
  void RestoreHotSetNow();
  void SaveHotSetNow();
  void OnDatabaseChange(const std::string& payload);

  const config::Config config_;
  std::unique_ptr<KeyStats> key_stats_;  // with monitoring on
  L1Store l1_;
  TieredCache cache_;
  ExpirySweeper sweeper_;
  std::unique_ptr<InstanceCoherence> coherence_;  // with a coherence channel
  std::unique_ptr<JobStore> job_store_;           // where scheduled invalidations persist
  Scheduler scheduler_;
  WarmingEngine warming_;
  StatsHistory history_;
  CacheService service_;
  // With proxy.listen: the caching reverse proxy. Before stop_jobs_: what the lower tiers
  // answer while they stop still reaches it.
  std::unique_ptr<ResponseCache> proxy_cache_;
  // Its listener, before stop_jobs_ too: the answers the lower tiers give while they stop
  // reach sessions of its, which must still be there (they are never sent: its I/O threads
  // stopped in Drain).
  http_api::Router proxy_router_;
  std::unique_ptr<HttpServer> proxy_;  // with proxy.listen
  // Warming runs, scheduled jobs, the lower tiers' answers and the coherence bus call into
  // the service: they end before it goes.
  StopFirst stop_jobs_;
  std::unique_ptr<ChangeFeed> change_feed_;  // with invalidation.listen
  StatsSampler sampler_;
  std::atomic<bool> ready_{false};
  http_api::Router router_;
  HttpServer http_;
  GrpcServer grpc_;
  std::unique_ptr<RespServer> resp_;  // unless server.resp_listen is off
};

}  // namespace tiercache
