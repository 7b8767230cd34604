#include "server/daemon.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/hot_set.h"
#include "server/config_json.h"
#include "server/routes.h"
#include "server/tier_factory.h"
#include "tiers/http/http_origin.h"
#include "tiers/postgres/change_notification.h"

namespace tiercache {

namespace {

void LogTierState(std::string_view tier, TierState state, std::string_view error) {
  if (state == TierState::kDown) {
    spdlog::warn("tier {} is down: {}", tier, error);
  } else if (state == TierState::kDegraded) {
    spdlog::warn("tier {} is degraded: {}", tier, error);
  } else {
    spdlog::info("tier {} is up", tier);
  }
}

unsigned IoThreads(const config::ServerConfig& server) {
  return server.io_threads > 0 ? server.io_threads
                               : std::max(1u, std::thread::hardware_concurrency() / 2);
}

HttpServerOptions HttpOptions(const config::Config& cfg) {
  HttpServerOptions o;
  o.host = cfg.server.http_listen.host;
  o.port = cfg.server.http_listen.port;
  o.io_threads = IoThreads(cfg.server);
  o.max_connections = cfg.server.max_connections;
  o.idle_timeout = cfg.server.idle_timeout;
  o.max_request_body_bytes = cfg.limits.max_request_body_bytes;
  // A maximal key, fully percent-encoded, must fit in the request line.
  o.max_header_bytes =
      static_cast<uint32_t>(std::max<uint64_t>(16 * 1024, 3 * cfg.limits.max_key_bytes + 8192));
  return o;
}

GrpcServerOptions GrpcOptions(const config::Config& cfg) {
  GrpcServerOptions o;
  o.address = cfg.server.grpc_listen.ToString();
  o.max_message_bytes = cfg.limits.max_request_body_bytes;
  o.idle_timeout = cfg.server.idle_timeout;
  return o;
}

RespServerOptions RespOptions(const config::Config& cfg) {
  RespServerOptions o;
  o.host = cfg.server.resp_listen->host;
  o.port = cfg.server.resp_listen->port;
  o.io_threads = IoThreads(cfg.server);
  o.max_connections = cfg.server.max_connections;
  o.idle_timeout = cfg.server.idle_timeout;
  o.limits = cfg.limits;
  o.default_timeout = cfg.strategies.default_timeout;
  o.max_timeout = cfg.strategies.max_timeout;
  o.version = TIERCACHE_VERSION;
  return o;
}

HttpServerOptions ProxyServerOptions(const config::Config& cfg) {
  HttpServerOptions o = HttpOptions(cfg);
  o.host = cfg.proxy.listen->host;
  o.port = cfg.proxy.listen->port;
  o.keep_headers = true;
  return o;
}

ServiceOptions ServiceOptionsOf(const config::Config& cfg) {
  ServiceOptions o;
  o.limits = cfg.limits;
  o.strategies = cfg.strategies;
  o.model_rules = cfg.invalidation.models;
  o.monitoring = cfg.monitoring.enabled;
  o.config_json =
      EffectiveConfigJson(cfg).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  o.namespaces = cfg.namespaces;
  return o;
}

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::Create(const config::Config& cfg) {
  Backends b;
  auto lower = MakeLowerTiers(cfg.tiers);
  if (!lower.ok()) return lower.status();
  b.lower_tiers = std::move(lower).value();
  auto bus = MakeCoherenceBus(cfg);
  if (!bus.ok()) return bus.status();
  b.bus = std::move(bus).value();
  // Scheduled invalidations, kept in the first PostgreSQL tier's database when there is one.
  auto store = MakeJobStore(cfg);
  if (!store.ok()) return store.status();
  b.job_store = std::move(store).value();
  auto feed = MakeChangeFeed(cfg);
  if (!feed.ok()) return feed.status();
  b.change_feed = std::move(feed).value();
  if (cfg.proxy.listen) {
    for (size_t i = 0; i < cfg.proxy.options.routes.size(); ++i) {
      const ProxyRoute& route = cfg.proxy.options.routes[i];
      HttpOriginOptions o;
      o.base_url = route.origin;
      o.connect_timeout = route.connect_timeout;
      o.timeout = route.origin_timeout;
      o.max_idle_connections = route.max_idle_connections;
      o.max_body_bytes = cfg.proxy.options.max_body_bytes;
      o.max_header_bytes = cfg.proxy.options.max_origin_header_bytes;
      auto origin = MakeHttpOrigin(std::move(o));
      if (!origin.ok()) {
        return Status::InvalidArgument("proxy.routes[" + std::to_string(i) + "].origin: " +
                                       origin.status().message());
      }
      b.origins.push_back(std::move(origin).value());
    }
  }
  std::unique_ptr<Daemon> daemon(new Daemon(cfg, std::move(b)));
  if (Status s = AddWarmSources(cfg, daemon->cache_, daemon->warming_,
                                daemon->proxy_cache_.get());
      !s.ok()) {
    return s;
  }
  return daemon;
}

Daemon::Daemon(const config::Config& cfg, Backends backends)
    : config_(cfg),
      key_stats_(cfg.monitoring.enabled ? std::make_unique<KeyStats>(cfg.monitoring.key_patterns,
                                                                     cfg.monitoring.max_patterns)
                                        : nullptr),
      l1_(cfg.l1, cfg.strategies.adaptive, Clock::System(), key_stats_.get(),
          cfg.monitoring.miss_history),
      cache_(l1_, cfg.l1.ttl_factor, std::move(backends.lower_tiers), cfg.tier_health,
             Clock::System(), &LogTierState),
      sweeper_(l1_, cfg.l1.sweep_interval),
      coherence_(backends.bus ? std::make_unique<InstanceCoherence>(
                                    cache_, std::move(backends.bus),
                                    CoherenceOptions{cfg.coherence.instance_id,
                                                     cfg.coherence.max_staleness})
                              : nullptr),
      job_store_(std::move(backends.job_store)),
      scheduler_(cfg.scheduler, Clock::System()),
      warming_(cache_, scheduler_, cfg.warming.max_concurrent_runs, Clock::System(),
               coherence_.get()),
      service_(ServiceOptionsOf(cfg), cache_,
               ServiceParts{&scheduler_, job_store_.get(), &warming_, coherence_.get(),
                            &history_}),
      proxy_cache_(cfg.proxy.listen
                       ? std::make_unique<ResponseCache>(cfg.proxy.options, service_, cfg.limits,
                                                         std::move(backends.origins),
                                                         Clock::System())
                       : nullptr),
      proxy_(proxy_cache_ ? std::make_unique<HttpServer>(ProxyServerOptions(cfg), proxy_router_,
                                                         service_.Connections(
                                                             Frontend::Named("proxy")))
                          : nullptr),
      stop_jobs_{[this] {
        warming_.Stop();
        scheduler_.Stop();
        // Operations still in flight in the lower tiers answer now, while the service and
        // the coherence bus they report to exist; then the bus, which calls into both.
        cache_.StopLowerTiers();
        if (coherence_) coherence_->Stop();
        // Last: what the tiers answered above may have sent requests to the origins.
        if (proxy_cache_) proxy_cache_->Stop();
      }},
      change_feed_(std::move(backends.change_feed)),
      sampler_(service_, history_, Clock::System()),
      http_(HttpOptions(cfg), router_, service_.Connections(http_api::HttpFrontend())),
      grpc_(GrpcOptions(cfg), service_),
      resp_(cfg.server.resp_listen ? std::make_unique<RespServer>(RespOptions(cfg), service_)
                                   : nullptr) {
  cache_.SetNegativeCaching(cfg.strategies.negative);
  warming_.YieldToServing([this] { return service_.request_metrics().total(); },
                          cfg.warming.busy_requests_per_second, cfg.warming.busy_share);
  http_api::RegisterKeyRoutes(router_, service_);
  http_api::RegisterAdminRoutes(router_, service_, ready_);
  http_api::RegisterJobRoutes(router_, service_);
  http_api::RegisterWarmRoutes(router_, service_);
  http_api::RegisterDashboardRoutes(router_, service_);
  if (proxy_cache_) {
    http_api::RegisterProxyRoutes(proxy_router_, *proxy_cache_);
    service_.SetProxyStats([this] { return proxy_cache_->Stats(); });
    service_.SetProxyPurge([this](InvalidateRequest& r) { proxy_cache_->ResolvePurge(r); });
  }
}

Daemon::~Daemon() = default;

void Daemon::OnDatabaseChange(const std::string& payload) {
  auto change = ParseChangeNotification(payload);
  if (!change.ok()) {
    spdlog::warn("database change ignored: {}: {}", change.status().message(), payload);
    return;
  }
  InvalidateRequest request;
  request.model = std::move(change).value();
  service_.Invalidate(Frontend::Internal(), request, [payload](Result<InvalidateResult> r) {
    if (!r.ok()) {
      spdlog::warn("database change {} not applied: {}", payload, r.status().message());
    } else {
      spdlog::debug("database change {} invalidated {}", payload, r->total());
    }
  });
}

Status Daemon::Start() {
  if (!config_.namespaces.empty()) {
    // Before serving: the versions other instances (or the last run) moved to.
    if (Status s = service_.LoadNamespaceVersions(std::chrono::seconds(5)); !s.ok()) {
      spdlog::warn("namespace versions not read from tier {}: {}; starting from the configured "
                   "ones", cache_.CounterTier().value_or("?"), s.message());
    }
    for (const auto& ns : service_.ListNamespaces()) {
      spdlog::info("namespace {}: prefix '{}', version {}", ns.name, ns.prefix, ns.version);
    }
  }
  if (coherence_) {
    coherence_->SetRemoteListener(
        [this](const CoherenceMessage& m) { service_.ApplyRemoteNamespaceVersion(m); });
    coherence_->Start();
    spdlog::info("coherence: instance {} on channel {}", coherence_->instance_id(),
                 config_.coherence.channel);
  }
  if (change_feed_) {
    change_feed_->Start([this](std::string payload) { OnDatabaseChange(payload); },
                        [channel = config_.invalidation.listen->channel](bool listening) {
                          if (listening) {
                            spdlog::info("listening for database changes on {}", channel);
                          } else {
                            spdlog::warn("not listening for database changes on {}: reconnecting",
                                         channel);
                          }
                        });
  }
  if (job_store_) {
    auto restored = service_.RestoreScheduledInvalidations(std::chrono::seconds(5));
    if (restored.ok()) {
      if (*restored > 0) spdlog::info("restored {} scheduled invalidation(s)", *restored);
    } else {
      spdlog::warn("scheduled invalidations not restored: {}", restored.status().message());
    }
  }
  // Before the front ends open: the first requests find L1 as warm as the last stop left it.
  if (!config_.l1.hot_set.path.empty()) RestoreHotSetNow();
  warming_.Start();
  // The dashboard's last 15 minutes, one sample a second.
  sampler_.Start();

  if (Status s = http_.Start(); !s.ok()) return Status::Unavailable("http: " + s.message());
  if (Status s = grpc_.Start(); !s.ok()) {
    http_.Shutdown(Duration::zero());
    return Status::Unavailable("grpc: " + s.message());
  }
  if (resp_) {
    if (Status s = resp_->Start(); !s.ok()) {
      grpc_.Shutdown(Duration::zero());
      http_.Shutdown(Duration::zero());
      return Status::Unavailable("resp: " + s.message());
    }
  }
  if (proxy_) {
    if (Status s = proxy_->Start(); !s.ok()) {
      if (resp_) resp_->Shutdown(Duration::zero());
      grpc_.Shutdown(Duration::zero());
      http_.Shutdown(Duration::zero());
      return Status::Unavailable("proxy: " + s.message());
    }
    spdlog::info("caching proxy on {} with {} route(s)", config_.proxy.listen->ToString(),
                 config_.proxy.options.routes.size());
  }
  ready_.store(true, std::memory_order_release);
  std::string tier_names = "L1";
  for (const auto& t : config_.tiers) tier_names += " > " + t.name;
  spdlog::info("tiercached {} serving HTTP on {}, gRPC on {} and RESP on {} ({} I/O threads, "
               "tiers {}, L1: {} shards, {} entries, {} bytes)",
               TIERCACHE_VERSION, config_.server.http_listen.ToString(),
               config_.server.grpc_listen.ToString(),
               config_.server.resp_listen ? config_.server.resp_listen->ToString() : "(off)",
               IoThreads(config_.server),
               tier_names, l1_.shard_count(), config_.l1.max_entries, config_.l1.max_bytes);
  sd_notify(0, "READY=1\nSTATUS=serving");
  return Status::Ok();
}

void Daemon::Drain(std::string_view why) {
  const Duration timeout = config_.server.shutdown_timeout;
  spdlog::info("{}, draining (up to {:.1f} s)", why, ToSeconds(timeout));
  sd_notify(0, "STOPPING=1\nSTATUS=draining");
  ready_.store(false, std::memory_order_release);
  std::thread grpc_stop([&] { grpc_.Shutdown(timeout); });
  std::thread resp_stop([&] {
    if (resp_) resp_->Shutdown(timeout);
  });
  std::thread proxy_stop([&] {
    if (proxy_) proxy_->Shutdown(timeout);
  });
  http_.Shutdown(timeout);
  grpc_stop.join();
  resp_stop.join();
  proxy_stop.join();
  // Every write acknowledged so far is in L1 and, for async tiers, in a write-behind
  // queue: flush them before the tiers go away.
  if (const uint64_t left = cache_.FlushWriteBehind(timeout); left > 0) {
    spdlog::error("write-behind: {} writes could not be flushed before the shutdown timeout",
                  left);
  }
  if (!config_.l1.hot_set.path.empty()) SaveHotSetNow();
}

void Daemon::RestoreHotSetNow() {
  const HotSetOptions& options = config_.l1.hot_set;
  std::optional<HotSetReport> report =
      RestoreHotSet(cache_, Clock::System(), options, config_.limits);
  if (!report) {
    spdlog::info("hot set: no snapshot at {}, L1 starts empty", options.path);
    return;
  }
  if (!report->error.empty()) {
    spdlog::warn("hot set: snapshot not restored: {}", report->error);
  } else {
    spdlog::info("hot set: {} of {} entries restored from {} in {:.3f} s ({} missing, {} failed{})",
                 report->restored, report->in_snapshot,
                 report->from_values ? "the snapshot's values" : "the lower tiers",
                 ToSeconds(report->took), report->missing, report->failed,
                 report->timed_out ? ", stopped at l1.hot_set.restore_timeout" : "");
  }
  // The snapshot's keys are stored under the versions its stop had.
  service_.RaiseNamespaceVersions(report->versions);
  service_.SetHotSetReport(std::move(*report));
}

void Daemon::SaveHotSetNow() {
  const auto started = std::chrono::steady_clock::now();
  // Values only when no lower tier holds them: otherwise the next start reads them there,
  // getting what the tiers hold then instead of what this instance last saw.
  const bool with_values = !cache_.has_lower_tiers();
  auto saved = SaveHotSet(l1_, Clock::System(), config_.l1.hot_set, with_values,
                          service_.namespaces().Versions());
  if (!saved.ok()) {
    spdlog::error("hot set: not saved: {}", saved.status().message());
    return;
  }
  spdlog::info("hot set: {} most read entries saved to {} ({}) in {:.3f} s", *saved,
               config_.l1.hot_set.path, with_values ? "keys and values" : "keys",
               ToSeconds(std::chrono::steady_clock::now() - started));
}

}  // namespace tiercache
