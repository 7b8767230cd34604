#include "server/grpc_server.h"

#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <vector>

#include "server/exposition/prometheus_text.h"
#include "server/exposition/status_json.h"
#include "tiercache/v1/cache.grpc.pb.h"

namespace tiercache {

namespace v1 = ::tiercache::v1;

namespace {

// The one place where core's status codes become gRPC codes. Requests over a limit are
// INVALID_ARGUMENT: the caller must change the request, retrying can't help.
grpc::Status ToGrpc(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return grpc::Status::OK;
    case StatusCode::kNotFound: return grpc::Status(grpc::StatusCode::NOT_FOUND, s.message());
    case StatusCode::kInvalidArgument:
    case StatusCode::kTooLarge:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, s.message());
    case StatusCode::kUnavailable:
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, s.message());
    case StatusCode::kInternal: return grpc::Status(grpc::StatusCode::INTERNAL, s.message());
    case StatusCode::kDeadlineExceeded:
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, s.message());
  }
  return grpc::Status(grpc::StatusCode::UNKNOWN, s.message());
}

std::optional<StrategyKind> StrategyOf(v1::Strategy s) {
  switch (s) {
    case v1::STRATEGY_TTL: return StrategyKind::kTtl;
    case v1::STRATEGY_ADAPTIVE: return StrategyKind::kAdaptive;
    default: return std::nullopt;
  }
}

Result<InvalidateRequest> FromProto(const v1::InvalidateRequest& req) {
  InvalidateRequest request;
  request.keys.assign(req.keys().begin(), req.keys().end());
  request.tags.assign(req.tags().begin(), req.tags().end());
  if (!req.pattern().empty()) request.pattern = req.pattern();
  request.urls.assign(req.urls().begin(), req.urls().end());
  request.url_prefixes.assign(req.url_prefixes().begin(), req.url_prefixes().end());
  if (!req.model().empty()) {
    ModelInvalidation& model = request.model.emplace();
    model.model = req.model();
    if (!req.instance_id().empty()) model.fields["id"] = req.instance_id();
    for (const auto& [name, value] : req.fields()) model.fields[name] = value;
    if (!req.event().empty()) {
      auto event = ParseModelEvent(req.event());
      if (!event.ok()) return event.status();
      model.event = *event;
    }
  } else if (!req.instance_id().empty() || !req.event().empty() || !req.fields().empty()) {
    return Status::InvalidArgument("instance_id, event and fields need a model");
  }
  return request;
}

// A reactor finished with a status of core's, for the calls that answer nothing else.
// The namespace a call names (the x-cache-namespace metadata); empty if none.
std::string NamespaceOf(const grpc::CallbackServerContext* ctx) {
  const auto& metadata = ctx->client_metadata();
  const auto it = metadata.find("x-cache-namespace");
  return it == metadata.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

void ToProto(const NamespaceStatus& n, v1::Namespace* out) {
  out->set_name(n.name);
  out->set_prefix(n.prefix);
  out->set_version(n.version);
  out->set_reads(n.reads);
  out->set_hits(n.hits);
  out->set_writes(n.writes);
  out->set_deletes(n.deletes);
  out->set_bumps(n.bumps);
}

auto FinishWith(grpc::ServerUnaryReactor* reactor) {
  return [reactor](const tiercache::Status& s) { reactor->Finish(ToGrpc(s)); };
}

void ToProto(const std::vector<TierRemoval>& removals,
             google::protobuf::RepeatedPtrField<v1::TierRemoval>* out) {
  for (const auto& t : removals) {
    v1::TierRemoval* removal = out->Add();
    removal->set_tier(t.tier);
    removal->set_removed(t.removed);
    removal->set_error(t.error);
  }
}

void ToProto(const WarmSourceStatus& w, v1::WarmSourceStatus* out) {
  out->set_name(w.name);
  out->set_kind(w.kind);
  out->set_interval_seconds(ToSeconds(w.interval));
  out->set_runs(w.runs);
  out->set_failed_runs(w.failed_runs);
  out->set_attempted(w.attempted);
  out->set_written(w.written);
  out->set_failures(w.failures);
  out->set_success_rate(w.success_rate());
  out->set_running(w.last && w.last->running);
  if (w.next_run) out->set_next_run_unix_ms(UnixMillis(*w.next_run));
  if (w.last) {
    v1::WarmRun* run = out->mutable_last_run();
    run->set_started_unix_ms(UnixMillis(w.last->started));
    run->set_duration_seconds(ToSeconds(w.last->duration));
    run->set_attempted(w.last->attempted);
    run->set_written(w.last->written);
    run->set_failures(w.last->failures);
    run->set_ok(w.last->ok);
    run->set_error(w.last->error);
  }
}

// Each handler hands its reactor to the facade, which finishes it inline when L1 alone
// answers and from a tier's thread otherwise; no handler blocks on I/O.
class CacheServiceImpl final : public v1::Cache::CallbackService {
 public:
  // `tiercache::Service` in full: inside a generated gRPC service class, `Service` names
  // the generated base.
  explicit CacheServiceImpl(tiercache::Service& service) : service_(service) {}

  grpc::ServerUnaryReactor* ScheduleInvalidation(grpc::CallbackServerContext* ctx,
                                                 const v1::ScheduleInvalidationRequest* req,
                                                 v1::ScheduleInvalidationResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    auto request = FromProto(req->criteria());
    if (!request.ok()) {
      reactor->Finish(ToGrpc(request.status()));
      return reactor;
    }
    request->ns = NamespaceOf(ctx);
    service_.ScheduleInvalidation(GrpcServer::Id(), req->delay_seconds(),
                                  std::move(request).value(),
                                  [reactor, resp](Result<ScheduledJob> r) {
                                    if (r.ok()) resp->set_job_id(r->job_id);
                                    reactor->Finish(ToGrpc(r.status()));
                                  });
    return reactor;
  }

  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx, const v1::ListJobsRequest*,
                                     v1::ListJobsResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    for (const JobInfo& j : service_.ListJobs()) {
      v1::Job* job = resp->add_jobs();
      job->set_id(j.id);
      job->set_kind(j.kind);
      job->set_description(j.description);
      job->set_due_unix_ms(UnixMillis(j.due));
      job->set_period_seconds(ToSeconds(j.period));
      job->set_runs(j.runs);
    }
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* ctx,
                                      const v1::CancelJobRequest* req,
                                      v1::CancelJobResponse*) override {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(ToGrpc(service_.CancelJob(req->id())));
    return reactor;
  }

  // Warm {source}: starts a run (ABORTED if it is running already: the caller can follow
  // that run in Status.warming). Warm {entries}: the same bulk load as POST /v1/warm.
  grpc::ServerUnaryReactor* Warm(grpc::CallbackServerContext* ctx, const v1::WarmRequest* req,
                                 v1::WarmResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    if (req->source().empty() == (req->entries_size() == 0)) {
      reactor->Finish(
          ToGrpc(Status::InvalidArgument("expected exactly one of source and entries")));
      return reactor;
    }
    if (!req->source().empty()) {
      const tiercache::Status s = service_.StartWarm(req->source());
      if (s.code() == StatusCode::kUnavailable) {
        reactor->Finish(grpc::Status(grpc::StatusCode::ABORTED, s.message()));
      } else {
        if (s.ok()) resp->set_started(true);
        reactor->Finish(ToGrpc(s));
      }
      return reactor;
    }
    BulkLoad(*req, NamespaceOf(ctx), resp, reactor);
    return reactor;
  }

  grpc::ServerUnaryReactor* ListNamespaces(grpc::CallbackServerContext* ctx,
                                           const v1::ListNamespacesRequest*,
                                           v1::ListNamespacesResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    for (const auto& n : service_.ListNamespaces()) ToProto(n, resp->add_namespaces());
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* BumpNamespace(grpc::CallbackServerContext* ctx,
                                          const v1::BumpNamespaceRequest* req,
                                          v1::Namespace* resp) override {
    auto* reactor = ctx->DefaultReactor();
    service_.BumpNamespace(GrpcServer::Id(), req->name(),
                           [reactor, resp](Result<NamespaceStatus> bumped) {
                             if (bumped.ok()) ToProto(*bumped, resp);
                             reactor->Finish(ToGrpc(bumped.status()));
                           });
    return reactor;
  }

  // The key a call names, as stored: in the call's namespace, if it names one.
  Result<std::string> KeyOf(const grpc::CallbackServerContext* ctx, const std::string& key) {
    return service_.NamespacedKey(NamespaceOf(ctx), key);
  }

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx, const v1::GetRequest* req,
                                v1::GetResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    auto key = KeyOf(ctx, req->key());
    if (!key.ok()) {
      reactor->Finish(ToGrpc(key.status()));
      return reactor;
    }
    service_.Get(GrpcServer::Id(), *key, [reactor, resp](Result<Hit> hit) {
      if (hit.ok()) {
        resp->set_found(true);
        resp->set_value(hit->value->data(), hit->value->size());
        resp->set_tier(std::string(hit->tier));
        resp->set_ttl_seconds(ToSeconds(hit->ttl_left));
        if (hit->content_type) resp->set_content_type(*hit->content_type);
        reactor->Finish(grpc::Status::OK);
      } else if (hit.status().code() == StatusCode::kNotFound) {
        resp->set_found(false);
        reactor->Finish(grpc::Status::OK);
      } else {
        reactor->Finish(ToGrpc(hit.status()));
      }
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* Set(grpc::CallbackServerContext* ctx, const v1::SetRequest* req,
                                v1::SetResponse*) override {
    auto* reactor = ctx->DefaultReactor();
    if (req->ttl_seconds() < 0 || !std::isfinite(req->ttl_seconds())) {
      reactor->Finish(ToGrpc(Status::InvalidArgument("ttl_seconds must be 0 (default) or more")));
      return reactor;
    }
    if (!v1::Strategy_IsValid(req->strategy())) {
      reactor->Finish(ToGrpc(Status::InvalidArgument("unknown strategy")));
      return reactor;
    }
    auto key = KeyOf(ctx, req->key());
    if (!key.ok()) {
      reactor->Finish(ToGrpc(key.status()));
      return reactor;
    }
    SetRequest set;
    set.key = std::move(key).value();
    set.value = req->value();
    if (req->ttl_seconds() > 0) set.ttl = Seconds(req->ttl_seconds());
    set.tags.assign(req->tags().begin(), req->tags().end());
    set.strategy = StrategyOf(req->strategy());
    set.content_type = req->content_type();
    service_.Set(GrpcServer::Id(), std::move(set), FinishWith(reactor));
    return reactor;
  }

  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx,
                                   const v1::DeleteRequest* req, v1::DeleteResponse*) override {
    auto* reactor = ctx->DefaultReactor();
    auto key = KeyOf(ctx, req->key());
    if (!key.ok()) {
      reactor->Finish(ToGrpc(key.status()));
      return reactor;
    }
    service_.Delete(GrpcServer::Id(), *key, FinishWith(reactor));
    return reactor;
  }

  grpc::ServerUnaryReactor* Invalidate(grpc::CallbackServerContext* ctx,
                                       const v1::InvalidateRequest* req,
                                       v1::InvalidateResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    auto request = FromProto(*req);
    if (!request.ok()) {
      reactor->Finish(ToGrpc(request.status()));
      return reactor;
    }
    request->ns = NamespaceOf(ctx);
    service_.Invalidate(GrpcServer::Id(), *request,
                        [reactor, resp](Result<InvalidateResult> result) {
                          if (result.ok()) {
                            resp->set_invalidated(result->total());
                            resp->set_by_keys(result->by_keys);
                            resp->set_by_tags(result->by_tags);
                            resp->set_by_pattern(result->by_pattern);
                            ToProto(result->tiers, resp->mutable_tiers());
                            for (const auto& m : result->models) resp->add_models(m);
                          }
                          reactor->Finish(ToGrpc(result.status()));
                        });
    return reactor;
  }

  grpc::ServerUnaryReactor* Clear(grpc::CallbackServerContext* ctx, const v1::ClearRequest*,
                                  v1::ClearResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    service_.Clear(GrpcServer::Id(), [reactor, resp](Result<ClearResult> removed) {
      if (removed.ok()) {
        resp->set_removed(removed->total());
        ToProto(removed->tiers, resp->mutable_tiers());
      }
      reactor->Finish(ToGrpc(removed.status()));
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* ctx, const v1::StatusRequest* req,
                                   v1::StatusResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    const ServiceStatus status = service_.GetStatus(GrpcServer::Id());
    resp->set_version(status.version);
    resp->set_uptime_seconds(ToSeconds(status.uptime));
    v1::TierStatus* l1 = resp->add_tiers();
    l1->set_name("L1");
    l1->set_state("up");
    l1->set_entries(status.l1.entries);
    l1->set_bytes(status.l1.bytes);
    l1->set_max_entries(status.l1.max_entries);
    l1->set_max_bytes(status.l1.max_bytes);
    l1->set_hits(status.l1.hits);
    l1->set_misses(status.l1.misses);
    l1->set_evictions(status.l1.evictions);
    l1->set_expirations(status.l1.expirations);
    for (const LowerTierStatus& t : status.lower_tiers) {
      v1::TierStatus* lower = resp->add_tiers();
      lower->set_name(t.name);
      lower->set_state(std::string(TierStateName(t.state)));
      lower->set_hits(t.hits);
      lower->set_misses(t.misses);
      lower->set_kind(t.kind);
      lower->set_last_error(t.last_error);
      lower->set_round_trip_seconds(ToSeconds(t.round_trip));
      lower->set_errors(t.errors);
      if (t.write_behind) lower->set_write_behind_depth(t.write_behind->depth);
    }
    for (const WarmSourceStatus& w : status.warming) ToProto(w, resp->add_warming());
    resp->set_json(StatusToJson(status));
    if (req->include_metrics()) resp->set_metrics(RenderPrometheus(service_.Metrics()));
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  // Decodes the entries; the service checks and writes them.
  void BulkLoad(const v1::WarmRequest& req, const std::string& ns, v1::WarmResponse* resp,
                grpc::ServerUnaryReactor* reactor) {
    std::vector<SetRequest> requests;
    requests.reserve(static_cast<size_t>(req.entries_size()));
    for (int i = 0; i < req.entries_size(); ++i) {
      const v1::WarmEntry& e = req.entries(i);
      const std::optional<Duration> ttl = RequestSeconds(e.ttl_seconds());
      if (!ttl) {
        reactor->Finish(ToGrpc(Status::InvalidArgument(
            "entries[" + std::to_string(i) +
            "]: ttl_seconds must be 0 (default) or more, up to ten years")));
        return;
      }
      auto key = service_.NamespacedKey(ns, e.key());
      if (!key.ok()) {
        reactor->Finish(ToGrpc(key.status()));
        return;
      }
      SetRequest& r = requests.emplace_back();
      r.key = std::move(key).value();
      r.value = e.value();
      if (*ttl > Duration::zero()) r.ttl = *ttl;
      r.tags.assign(e.tags().begin(), e.tags().end());
      r.content_type = e.content_type();
    }
    service_.BulkLoad(GrpcServer::Id(), std::move(requests),
                      [resp, reactor](Result<uint64_t> loaded) {
                        if (loaded.ok()) resp->set_loaded(*loaded);
                        reactor->Finish(ToGrpc(loaded.status()));
                      });
  }

  tiercache::Service& service_;
};

}  // namespace

struct GrpcServer::Impl {
  Impl(GrpcServerOptions o, tiercache::Service& s) : options(std::move(o)), impl(s) {}
  GrpcServerOptions options;
  CacheServiceImpl impl;
  std::unique_ptr<grpc::Server> server;
};

Frontend GrpcServer::Id() {
  static const Frontend grpc = Frontend::Named("grpc");
  return grpc;
}

GrpcServer::GrpcServer(GrpcServerOptions options, Service& service)
    : impl_(std::make_unique<Impl>(std::move(options), service)) {
  Id();  // named from the start, so that /metrics shows its (zero) series before any call
}

GrpcServer::~GrpcServer() {
  if (impl_->server) Shutdown(std::chrono::seconds(0));
}

Status GrpcServer::Start() {
  // Debian's Abseil is built with mutex deadlock detection on, which records a lock-order
  // graph on every lock gRPC takes; off, gRPC serves noticeably more calls per core.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(impl_->options.address, grpc::InsecureServerCredentials(), &bound_port);
  builder.RegisterService(&impl_->impl);
  const int max_message = static_cast<int>(
      std::min<uint64_t>(impl_->options.max_message_bytes, std::numeric_limits<int>::max()));
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  impl_->options.idle_timeout)
                                                  .count()));
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || bound_port == 0) {
    impl_->server.reset();
    return Status::Unavailable("cannot listen for gRPC on " + impl_->options.address);
  }
  if (auto* health = impl_->server->GetHealthCheckService()) {
    health->SetServingStatus(true);
    health->SetServingStatus("tiercache.v1.Cache", true);
  }
  return Status::Ok();
}

void GrpcServer::Shutdown(Duration timeout) {
  if (!impl_->server) return;
  if (auto* health = impl_->server->GetHealthCheckService()) health->SetServingStatus(false);
  impl_->server->Shutdown(std::chrono::system_clock::now() +
                          std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout));
  impl_->server->Wait();
  impl_->server.reset();
}

}  // namespace tiercache
