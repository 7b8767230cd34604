#include "core/view_warm_source.h"

#include <future>

#include "core/response_cache.h"

namespace tiercache {

namespace {

class ViewWarmSource final : public WarmSource {
 public:
  ViewWarmSource(ResponseCache& proxy, ViewWarmOptions options)
      : proxy_(proxy), options_(std::move(options)) {
    if (options_.variants.empty()) options_.variants.emplace_back();
  }

  std::string_view kind() const override { return "view"; }

  Status Run(WarmSink& sink) override {
    for (const ViewWarmOptions::Path& path : options_.paths) {
      for (const HeaderList& variant : options_.variants) {
        if (sink.cancelled()) return Status::Ok();
        sink.Attempted();
        ProxyRequest request;
        request.method = "GET";
        request.target = path.path;
        request.headers = path.headers;
        request.headers.insert(request.headers.end(), variant.begin(), variant.end());
        RemoveHeader(request.headers, "cache-control");
        request.headers.emplace_back("Cache-Control", "no-cache");
        auto answer = std::make_shared<std::promise<ProxyResponse>>();
        auto future = answer->get_future();
        proxy_.Handle(std::move(request),
                      [answer](ProxyResponse r) { answer->set_value(std::move(r)); });
        // In slices, so that a stop does not wait for a slow origin.
        const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
        while (future.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready &&
               std::chrono::steady_clock::now() < deadline && !sink.cancelled()) {
        }
        if (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
          // The answer still comes, into the promise the callback keeps alive.
          if (sink.cancelled()) return Status::Ok();
          sink.Failed(path.path, Status::DeadlineExceeded("no answer through the proxy"));
          continue;
        }
        const ProxyResponse r = future.get();
        const std::string cache_status(FindHeader(r.headers, "cache-status").value_or(""));
        if (r.status >= 400) {
          sink.Failed(path.path, Status::Unavailable("HTTP " + std::to_string(r.status) + " (" +
                                                     cache_status + ")"));
        } else if (cache_status.find("; stored") == std::string::npos) {
          sink.Failed(path.path,
                      Status::InvalidArgument("the route did not store it (" + cache_status + ")"));
        } else {
          sink.Stored();
        }
      }
    }
    return Status::Ok();
  }

 private:
  ResponseCache& proxy_;
  ViewWarmOptions options_;
};

}  // namespace

Result<std::unique_ptr<WarmSource>> MakeViewWarmSource(ResponseCache& proxy,
                                                       ViewWarmOptions options) {
  if (options.paths.empty()) return Status::InvalidArgument("a view source needs paths");
  for (const auto& p : options.paths) {
    if (p.path.empty() || p.path.front() != '/') {
      return Status::InvalidArgument("path '" + p.path + "' must start with '/'");
    }
  }
  return std::unique_ptr<WarmSource>(new ViewWarmSource(proxy, std::move(options)));
}

}  // namespace tiercache
