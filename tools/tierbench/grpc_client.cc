#include "grpc_client.h"

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <optional>
#include <thread>

#include "tiercache/v1/cache.grpc.pb.h"

namespace tierbench {
namespace {

namespace pb = tiercache::v1;

std::string Target(const Config& c) {
  // IPv6 literals need brackets in a gRPC target.
  if (c.host.find(':') != std::string::npos) return "[" + c.host + "]:" + c.port;
  return c.host + ":" + c.port;
}

std::shared_ptr<grpc::Channel> MakeChannel(const Config& c, int id) {
  grpc::ChannelArguments args;
  // A channel of its own subchannel pool opens its own TCP connection, even when other
  // channels point at the same address; the id keeps their arguments distinct too.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("tierbench.channel_id", id);
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, -1);
  args.SetInt(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, -1);
  return grpc::CreateCustomChannel(Target(c), grpc::InsecureChannelCredentials(), args);
}

struct Call {
  pb::Cache::Stub* stub = nullptr;
  std::optional<grpc::ClientContext> ctx;
  pb::GetRequest get_req;
  pb::GetResponse get_resp;
  pb::SetRequest set_req;
  pb::SetResponse set_resp;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<pb::GetResponse>> get_reader;
  std::unique_ptr<grpc::ClientAsyncResponseReader<pb::SetResponse>> set_reader;
  Op op{};
  TimePoint start;
};

class GrpcThread {
 public:
  GrpcThread(const Workload& w, const Phase& ph, std::vector<pb::Cache::Stub*> stubs, uint64_t seed)
      : w_(w), ph_(ph), ops_(*w.keys, w.config.read_ratio, seed) {
    // gRPC deadlines take system_clock time points.
    deadline_ = std::chrono::system_clock::now() +
                std::chrono::duration_cast<std::chrono::system_clock::duration>(ph.hard_stop - SteadyClock::now());
    for (size_t i = 0; i < stubs.size(); ++i) {
      calls_.push_back(std::make_unique<Call>());
      Call& c = *calls_.back();
      c.stub = stubs[i];
      c.set_req.set_value(w.value);
      c.set_req.set_ttl_seconds(w.config.ttl);
    }
  }

  void Run() {
    int active = 0;
    for (auto& c : calls_) {
      if (Issue(*c)) ++active;
    }
    void* tag = nullptr;
    bool ok = false;
    while (active > 0 && cq_.Next(&tag, &ok)) {
      Call& c = *static_cast<Call*>(tag);
      Complete(c, ok);
      if (!Issue(c)) --active;
    }
    cq_.Shutdown();
    while (cq_.Next(&tag, &ok)) {
    }
  }

  ThreadStats stats_;

 private:
  bool NextOp(Op& op) {
    return tierbench::NextOp(ph_, ops_, op);
  }

  bool Issue(Call& c) {
    if (!NextOp(c.op)) return false;
    c.ctx.emplace();
    // Calls still in flight at the hard stop end with DEADLINE_EXCEEDED (not counted).
    c.ctx->set_deadline(deadline_);
    key_.assign(w_.config.key_prefix);
    key_.append(std::to_string(c.op.key));
    c.start = SteadyClock::now();
    if (c.op.get) {
      c.get_req.set_key(key_);
      c.get_reader = c.stub->AsyncGet(&*c.ctx, c.get_req, &cq_);
      c.get_reader->Finish(&c.get_resp, &c.status, &c);
    } else {
      c.set_req.set_key(key_);
      c.set_reader = c.stub->AsyncSet(&*c.ctx, c.set_req, &cq_);
      c.set_reader->Finish(&c.set_resp, &c.status, &c);
    }
    return true;
  }

  void Complete(Call& c, bool ok) {
    const TimePoint now = SteadyClock::now();
    const bool counted =
        ph_.mode == Phase::Mode::kPrefill || (now >= ph_.measure_start && now < ph_.end);
    if (counted) {
      ThreadStats& s = stats_;
      (c.op.get ? s.gets : s.sets)++;
      if (!ok) {
        s.AddError("completion queue: call failed");
      } else if (!c.status.ok()) {
        s.AddError(std::string(c.op.get ? "Get " : "Set ") + StatusName(c.status.error_code()) +
                   (c.status.error_message().empty() ? "" : ": " + c.status.error_message()));
      } else {
        s.latency.Record(static_cast<uint64_t>((now - c.start).count()));
        if (c.op.get) {
          (c.get_resp.found() ? s.hits : s.misses)++;
        }
      }
    }
    c.get_reader.reset();
    c.set_reader.reset();
    c.ctx.reset();
  }

  static const char* StatusName(grpc::StatusCode code) {
    switch (code) {
      case grpc::OK: return "OK";
      case grpc::CANCELLED: return "CANCELLED";
      case grpc::UNKNOWN: return "UNKNOWN";
      case grpc::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
      case grpc::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
      case grpc::NOT_FOUND: return "NOT_FOUND";
      case grpc::ALREADY_EXISTS: return "ALREADY_EXISTS";
      case grpc::PERMISSION_DENIED: return "PERMISSION_DENIED";
      case grpc::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
      case grpc::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
      case grpc::ABORTED: return "ABORTED";
      case grpc::OUT_OF_RANGE: return "OUT_OF_RANGE";
      case grpc::UNIMPLEMENTED: return "UNIMPLEMENTED";
      case grpc::INTERNAL: return "INTERNAL";
      case grpc::UNAVAILABLE: return "UNAVAILABLE";
      case grpc::DATA_LOSS: return "DATA_LOSS";
      case grpc::UNAUTHENTICATED: return "UNAUTHENTICATED";
      default: return "status";
    }
  }

  const Workload& w_;
  const Phase& ph_;
  OpSource ops_;
  grpc::CompletionQueue cq_;
  std::vector<std::unique_ptr<Call>> calls_;
  std::chrono::system_clock::time_point deadline_;
  std::string key_;
};

}  // namespace

int GrpcChannelCount(const Config& c) {
  if (c.grpc_channels > 0) return std::min(c.grpc_channels, c.connections);
  return std::min(c.connections, std::max(4, EffectiveThreads(c)));
}

ProbeResult ProbeGrpc(const Config& config, double timeout_s) {
  ProbeResult r;
  auto channel = MakeChannel(config, -1);
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  if (!channel->WaitForConnected(deadline)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", timeout_s);
    r.error = "cannot connect to " + Target(config) + " (gRPC channel not ready within " + buf + " s)";
    return r;
  }
  r.ok = true;
  return r;
}

ThreadStats RunGrpc(const Workload& workload, const Phase& phase) {
  const Config& c = workload.config;
  const int nchannels = GrpcChannelCount(c);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<pb::Cache::Stub>> stubs;
  for (int i = 0; i < nchannels; ++i) {
    channels.push_back(MakeChannel(c, i));
    stubs.push_back(pb::Cache::NewStub(channels.back()));
  }
  // Call i goes to thread i % threads and channel i % channels.
  const int nthreads = EffectiveThreads(c);
  std::vector<std::vector<pb::Cache::Stub*>> per_thread(nthreads);
  for (int i = 0; i < c.connections; ++i) per_thread[i % nthreads].push_back(stubs[i % nchannels].get());
  std::vector<std::unique_ptr<GrpcThread>> threads;
  for (int i = 0; i < nthreads; ++i) {
    threads.push_back(std::make_unique<GrpcThread>(workload, phase, per_thread[i],
                                                   phase.seed * 1000003 + static_cast<uint64_t>(i)));
  }
  return RunAndMerge(threads);
}

}  // namespace tierbench
