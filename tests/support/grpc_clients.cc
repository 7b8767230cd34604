#include "tests/support/grpc_clients.h"

namespace tiercache::test {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<tiercache::v1::Cache::Stub> MakeCacheStub(const std::string& target) {
  return tiercache::v1::Cache::NewStub(MakeChannel(target));
}

std::unique_ptr<grpc::ClientContext> MakeContext(std::chrono::milliseconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

HealthClient::HealthClient(const std::string& target)
    : stub_(grpc::health::v1::Health::NewStub(MakeChannel(target))) {}

HealthClient::Result HealthClient::Check(const std::string& service) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  Result result;
  result.status = stub_->Check(MakeContext().get(), request, &response);
  result.serving = response.status();
  return result;
}

}  // namespace tiercache::test
