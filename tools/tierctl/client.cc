#include "client.h"

#include <grpcpp/grpcpp.h>

#include "tiercache/v1/cache.grpc.pb.h"

namespace tierctl {
namespace {

namespace v1 = tiercache::v1;

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

}  // namespace

struct Client::Impl {
  std::string target;
  std::chrono::milliseconds timeout;
  std::string ns;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Cache::Stub> stub;

  // Makes one call of `method` with the deadline, mapping its status.
  template <class Request, class Response, class Method>
  Reply<Response> Call(Method method, const Request& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    if (!ns.empty()) context.AddMetadata("x-cache-namespace", ns);
    Reply<Response> reply;
    const grpc::Status status = (stub.get()->*method)(&context, request, &reply.response);
    reply.status.code = static_cast<int>(status.error_code());
    reply.status.code_name = CodeName(status.error_code());
    reply.status.message = status.error_message();
    // A server that answered (even with UNAVAILABLE while it shuts down) leaves the channel
    // READY; a failed or still pending connection does not.
    if ((status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) &&
        channel->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY) {
      reply.status.unreachable = true;
    }
    return reply;
  }
};

Client::Client(const std::string& target, std::chrono::milliseconds timeout, std::string ns)
    : impl_(std::make_unique<Impl>()) {
  impl_->target = target;
  impl_->timeout = timeout;
  impl_->ns = std::move(ns);
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, -1);
  impl_->channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  impl_->stub = v1::Cache::NewStub(impl_->channel);
}

Client::~Client() = default;

const std::string& Client::target() const { return impl_->target; }

Reply<v1::GetResponse> Client::Get(const v1::GetRequest& request) {
  return impl_->Call<v1::GetRequest, v1::GetResponse>(&v1::Cache::Stub::Get, request);
}

Reply<v1::SetResponse> Client::Set(const v1::SetRequest& request) {
  return impl_->Call<v1::SetRequest, v1::SetResponse>(&v1::Cache::Stub::Set, request);
}

Reply<v1::DeleteResponse> Client::Delete(const v1::DeleteRequest& request) {
  return impl_->Call<v1::DeleteRequest, v1::DeleteResponse>(&v1::Cache::Stub::Delete, request);
}

Reply<v1::InvalidateResponse> Client::Invalidate(const v1::InvalidateRequest& request) {
  return impl_->Call<v1::InvalidateRequest, v1::InvalidateResponse>(&v1::Cache::Stub::Invalidate,
                                                                    request);
}

Reply<v1::ClearResponse> Client::Clear() {
  return impl_->Call<v1::ClearRequest, v1::ClearResponse>(&v1::Cache::Stub::Clear,
                                                          v1::ClearRequest());
}

Reply<v1::StatusResponse> Client::Status(bool include_metrics) {
  v1::StatusRequest request;
  request.set_include_metrics(include_metrics);
  return impl_->Call<v1::StatusRequest, v1::StatusResponse>(&v1::Cache::Stub::Status, request);
}

Reply<v1::ScheduleInvalidationResponse> Client::ScheduleInvalidation(
    const v1::ScheduleInvalidationRequest& request) {
  return impl_->Call<v1::ScheduleInvalidationRequest, v1::ScheduleInvalidationResponse>(
      &v1::Cache::Stub::ScheduleInvalidation, request);
}

Reply<v1::ListJobsResponse> Client::ListJobs() {
  return impl_->Call<v1::ListJobsRequest, v1::ListJobsResponse>(&v1::Cache::Stub::ListJobs,
                                                                v1::ListJobsRequest());
}

Reply<v1::CancelJobResponse> Client::CancelJob(const v1::CancelJobRequest& request) {
  return impl_->Call<v1::CancelJobRequest, v1::CancelJobResponse>(&v1::Cache::Stub::CancelJob,
                                                                  request);
}

Reply<v1::WarmResponse> Client::Warm(const v1::WarmRequest& request) {
  return impl_->Call<v1::WarmRequest, v1::WarmResponse>(&v1::Cache::Stub::Warm, request);
}

Reply<v1::ListNamespacesResponse> Client::ListNamespaces() {
  return impl_->Call<v1::ListNamespacesRequest, v1::ListNamespacesResponse>(
      &v1::Cache::Stub::ListNamespaces, v1::ListNamespacesRequest());
}

Reply<v1::Namespace> Client::BumpNamespace(const std::string& name) {
  v1::BumpNamespaceRequest request;
  request.set_name(name);
  return impl_->Call<v1::BumpNamespaceRequest, v1::Namespace>(&v1::Cache::Stub::BumpNamespace,
                                                             request);
}

}  // namespace tierctl
