// tiercached: loads the config, builds the L1 store and the service facade, starts the
// HTTP and gRPC front ends, and runs until SIGTERM or SIGINT, then drains and exits 0.

#include <signal.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "config/config.h"
#include "config/config_loader.h"
#include "core/cache_service.h"
#include "core/instance_coherence.h"
#include "core/l1_store.h"
#include "core/scheduled_invalidations.h"
#include "core/scheduler.h"
#include "core/stats_history.h"
#include "core/stats_sampler.h"
#include "server/change_notification.h"
#include "server/config_json.h"
#include "server/grpc_server.h"
#include "server/http_router.h"
#include "server/http_server.h"
#include "server/logging.h"
#include "server/routes.h"
#include "server/tier_factory.h"

namespace tiercache {
namespace {

constexpr size_t kSweepBudgetPerShard = 4096;

// Applies TIERCACHE_*_LISTEN, then the flags, over the config's listen addresses.
void ApplyListenOverrides(config::Config& cfg, const std::string& http_flag,
                          const std::string& grpc_flag) {
  const auto apply = [](config::ListenAddress& target, const char* env, const std::string& flag,
                        std::string_view flag_name) {
    if (const char* value = std::getenv(env); value && *value) {
      try {
        target = config::ParseListenAddress(value);
      } catch (const config::ConfigError& e) {
        throw config::ConfigError(std::string(env) + ": " + e.what());
      }
    }
    if (!flag.empty()) {
      try {
        target = config::ParseListenAddress(flag);
      } catch (const config::ConfigError& e) {
        throw config::ConfigError(std::string(flag_name) + ": " + e.what());
      }
    }
  };
  apply(cfg.server.http_listen, "TIERCACHE_HTTP_LISTEN", http_flag, "--http-listen");
  apply(cfg.server.grpc_listen, "TIERCACHE_GRPC_LISTEN", grpc_flag, "--grpc-listen");
}

// Reclaims expired entries nobody touches, so memory follows expiry even when idle.
class ExpirySweeper {
 public:
  ExpirySweeper(L1Store& store, Duration interval)
      : thread_([&store, interval](std::stop_token stop) {
          std::mutex mu;
          std::condition_variable_any cv;
          std::unique_lock lock(mu);
          // wait_for returns the predicate's value, false on timeout and on stop alike.
          while (!cv.wait_for(lock, stop, interval, [&stop] { return stop.stop_requested(); })) {
            store.ReclaimExpired(kSweepBudgetPerShard);
          }
        }) {}

 private:
  std::jthread thread_;
};

// Unique enough between the instances sharing a Redis: host name and process id.
std::string DefaultInstanceId() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "host");
  return std::string(host) + "-" + std::to_string(::getpid());
}

// A notification from the application's database: the model's rules, applied to every tier.
void ApplyChangeNotification(CacheService& service, const std::string& payload) {
  auto change = ParseChangeNotification(payload);
  if (!change.ok()) {
    spdlog::warn("database change ignored: {}: {}", change.status().message(), payload);
    return;
  }
  InvalidateRequest request;
  request.model = std::move(change).value();
  service.Invalidate(Frontend::kInternal, request, [payload](Result<InvalidateResult> r) {
    if (!r.ok()) {
      spdlog::warn("database change {} not applied: {}", payload, r.status().message());
    } else {
      spdlog::debug("database change {} invalidated {}", payload, r->total());
    }
  });
}

int Run(const config::Config& cfg) {
  const unsigned io_threads =
      cfg.server.io_threads > 0 ? cfg.server.io_threads
                                : std::max(1u, std::thread::hardware_concurrency() / 2);

  std::unique_ptr<KeyStats> key_stats;
  if (cfg.monitoring.enabled) {
    key_stats = std::make_unique<KeyStats>(cfg.monitoring.key_patterns,
                                           cfg.monitoring.max_patterns);
  }
  L1Store l1(cfg.l1, cfg.strategies.adaptive, Clock::System(), key_stats.get(),
             cfg.monitoring.miss_history);
  auto lower = MakeLowerTiers(cfg.tiers);
  if (!lower.ok()) {
    spdlog::error("{}", lower.status().message());
    return 1;
  }
  TieredCache cache(l1, cfg.l1.ttl_factor, std::move(lower).value(), cfg.tier_health,
                    Clock::System(),
                    [](std::string_view tier, TierState state, std::string_view error) {
                      if (state == TierState::kDown) {
                        spdlog::warn("tier {} is down: {}", tier, error);
                      } else if (state == TierState::kDegraded) {
                        spdlog::warn("tier {} is degraded: {}", tier, error);
                      } else {
                        spdlog::info("tier {} is up", tier);
                      }
                    });
  CacheService service(cfg.limits, cfg.strategies, cache, cfg.invalidation.models);
  service.SetMonitoring(cfg.monitoring.enabled);
  service.SetConfigJson(EffectiveConfigJson(cfg).dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace));

  auto bus = MakeCoherenceBus(cfg);
  if (!bus.ok()) {
    spdlog::error("{}", bus.status().message());
    return 1;
  }
  std::unique_ptr<InstanceCoherence> coherence;
  if (*bus) {
    CoherenceOptions options;
    options.instance_id = cfg.coherence.instance_id.empty() ? DefaultInstanceId()
                                                            : cfg.coherence.instance_id;
    options.max_staleness = cfg.coherence.max_staleness;
    coherence = std::make_unique<InstanceCoherence>(cache, **bus, options);
    service.SetChangePublisher([c = coherence.get()](CoherenceMessage::Kind kind,
                                                     std::vector<std::string> items) {
      c->Publish(kind, std::move(items));
    });
    service.SetCoherenceStats([c = coherence.get()] { return c->stats(); });
    coherence->Start();
    spdlog::info("coherence: instance {} on channel {}", options.instance_id,
                 cfg.coherence.channel);
  }

  auto feed = MakeChangeFeed(cfg);
  if (!feed.ok()) {
    spdlog::error("{}", feed.status().message());
    return 1;
  }
  if (*feed) {
    (*feed)->Start(
        [&service](std::string payload) { ApplyChangeNotification(service, payload); },
        [channel = cfg.invalidation.listen->channel](bool listening) {
          if (listening) {
            spdlog::info("listening for database changes on {}", channel);
          } else {
            spdlog::warn("not listening for database changes on {}: reconnecting", channel);
          }
        });
  }
  // The bus and the feed call into `coherence` and `service` from their own threads: they
  // stop first, whichever way Run returns.
  struct StopFeedsFirst {
    std::unique_ptr<ChangeFeed>& feed;
    std::unique_ptr<CoherenceBus>& bus;
    ~StopFeedsFirst() {
      feed.reset();
      bus.reset();
    }
  } stop_feeds_first{*feed, *bus};

  // Scheduled invalidations, kept in the first PostgreSQL tier's database when there is one.
  auto store = MakeJobStore(cfg);
  if (!store.ok()) {
    spdlog::error("{}", store.status().message());
    return 1;
  }
  std::unique_ptr<JobStore> job_store = std::move(store).value();
  Scheduler scheduler(cfg.scheduler, Clock::System());
  ScheduledInvalidations scheduled(service, scheduler, job_store.get());
  WarmingEngine warming(cache, scheduler, cfg.warming.max_concurrent_runs, Clock::System(),
                        coherence ? WarmingEngine::Publisher(
                                        [c = coherence.get()](CoherenceMessage::Kind kind,
                                                              std::vector<std::string> items) {
                                          c->Publish(kind, std::move(items));
                                        })
                                  : WarmingEngine::Publisher());
  if (Status s = AddWarmSources(cfg, cache, warming); !s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  warming.YieldToServing([&service] { return service.request_metrics().total(); },
                         cfg.warming.busy_requests_per_second, cfg.warming.busy_share);
  service.SetWarmingStatus([&warming] { return warming.Sources(); });
  service.SetScheduler(&scheduler);
  // Jobs call into `scheduled`, `warming` and `service`: warming runs are told to end and
  // the scheduler stops (waiting for what runs) before any of them goes.
  struct StopSchedulerFirst {
    WarmingEngine& warming;
    Scheduler& scheduler;
    ~StopSchedulerFirst() {
      warming.Stop();
      scheduler.Stop();
    }
  } stop_scheduler_first{warming, scheduler};
  if (job_store) {
    auto restored = scheduled.Restore(std::chrono::seconds(5));
    if (restored.ok()) {
      if (*restored > 0) spdlog::info("restored {} scheduled invalidation(s)", *restored);
    } else {
      spdlog::warn("scheduled invalidations not restored: {}", restored.status().message());
    }
  }
  warming.Start();
  // The dashboard's last 15 minutes, one sample a second; the sampler's thread stops
  // before the service and the tiers it reads go away.
  StatsHistory history;
  StatsSampler sampler(service, history, Clock::System());
  sampler.Start();
  std::atomic<bool> ready{false};

  http_api::Router router;
  http_api::RegisterKeyRoutes(router, service);
  http_api::RegisterAdminRoutes(router, service, ready);
  http_api::RegisterJobRoutes(router, scheduled, scheduler);
  http_api::RegisterWarmRoutes(router, service, warming);
  http_api::RegisterDashboardRoutes(router, service, history);

  HttpServerOptions http_options;
  http_options.host = cfg.server.http_listen.host;
  http_options.port = cfg.server.http_listen.port;
  http_options.io_threads = io_threads;
  http_options.max_connections = cfg.server.max_connections;
  http_options.idle_timeout = cfg.server.idle_timeout;
  http_options.max_request_body_bytes = cfg.limits.max_request_body_bytes;
  // A maximal key, fully percent-encoded, must fit in the request line.
  http_options.max_header_bytes =
      static_cast<uint32_t>(std::max<uint64_t>(16 * 1024, 3 * cfg.limits.max_key_bytes + 8192));
  HttpServer http(http_options, router, service.connection_metrics(Frontend::kHttp));

  GrpcServerOptions grpc_options;
  grpc_options.address = cfg.server.grpc_listen.ToString();
  grpc_options.max_message_bytes = cfg.limits.max_request_body_bytes;
  grpc_options.idle_timeout = cfg.server.idle_timeout;
  GrpcServer grpc(grpc_options, service, GrpcJobs{&scheduled, &scheduler, &warming});

  if (Status s = http.Start(); !s.ok()) {
    spdlog::error("http: {}", s.message());
    return 1;
  }
  if (Status s = grpc.Start(); !s.ok()) {
    spdlog::error("grpc: {}", s.message());
    http.Shutdown(Duration::zero());
    return 1;
  }
  ExpirySweeper sweeper(l1, cfg.l1.sweep_interval);

  ready.store(true, std::memory_order_release);
  std::string tier_names = "L1";
  for (const auto& t : cfg.tiers) tier_names += " > " + t.name;
  spdlog::info("tiercached {} serving HTTP on {} and gRPC on {} ({} I/O threads, tiers {}, "
               "L1: {} shards, {} entries, {} bytes)",
               TIERCACHE_VERSION, cfg.server.http_listen.ToString(),
               cfg.server.grpc_listen.ToString(), io_threads, tier_names, l1.shard_count(),
               cfg.l1.max_entries, cfg.l1.max_bytes);
  sd_notify(0, "READY=1\nSTATUS=serving");

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal_number = 0;
  sigwait(&signals, &signal_number);

  spdlog::info("received {}, draining (up to {:.1f} s)", strsignal(signal_number),
               ToSeconds(cfg.server.shutdown_timeout));
  sd_notify(0, "STOPPING=1\nSTATUS=draining");
  ready.store(false, std::memory_order_release);
  std::thread grpc_stop([&] { grpc.Shutdown(cfg.server.shutdown_timeout); });
  http.Shutdown(cfg.server.shutdown_timeout);
  grpc_stop.join();
  // Every write acknowledged so far is in L1 and, for async tiers, in a write-behind
  // queue: flush them before the tiers go away.
  if (const uint64_t left = cache.FlushWriteBehind(cfg.server.shutdown_timeout); left > 0) {
    spdlog::error("write-behind: {} writes could not be flushed before the shutdown timeout",
                  left);
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace
}  // namespace tiercache

int main(int argc, char** argv) {
  using namespace tiercache;

  CLI::App app{"tiercached: multi-tier cache server (L1 memory, Redis, PostgreSQL)"};
  std::string config_path;
  std::string check_path;
  std::string http_listen;
  std::string grpc_listen;
  bool version = false;
  app.add_option("--config", config_path,
                 "YAML config file; without it the embedded default runs (L1 only, "
                 "HTTP 127.0.0.1:8080, gRPC 127.0.0.1:50051)");
  app.add_option("--check-config", check_path, "Validate FILE, print the result, exit 0 or 1");
  app.add_option("--http-listen", http_listen,
                 "HTTP listen address HOST:PORT (overrides the config and TIERCACHE_HTTP_LISTEN)");
  app.add_option("--grpc-listen", grpc_listen,
                 "gRPC listen address HOST:PORT (overrides the config and TIERCACHE_GRPC_LISTEN)");
  app.add_flag("--version", version, "Print the version and exit");
  CLI11_PARSE(app, argc, argv);

  if (version) {
    std::cout << "tiercached " << TIERCACHE_VERSION << "\n";
    return 0;
  }
  if (!check_path.empty()) {
    try {
      config::LoadConfigFile(check_path);
      std::cout << check_path << ": OK\n";
      return 0;
    } catch (const config::ConfigError& e) {
      std::cerr << e.what() << "\n";
      return 1;
    }
  }

  config::Config cfg;
  try {
    if (!config_path.empty()) cfg = config::LoadConfigFile(config_path);
    ApplyListenOverrides(cfg, http_listen, grpc_listen);
  } catch (const config::ConfigError& e) {
    std::cerr << "tiercached: " << e.what() << "\n";
    return 1;
  }
  SetUpLogging(cfg.logging.level,
               cfg.logging.format == config::LogFormat::kJson ? LogStyle::kJson : LogStyle::kText);

  // Block the stop signals before any thread starts, so every thread inherits the mask
  // and only Run's sigwait receives them. A peer closing a socket must not kill us.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    return Run(cfg);
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}
