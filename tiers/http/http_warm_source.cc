#include "tiers/http/http_warm_source.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <exception>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>

#include "core/content_type.h"
#include "core/model_rules.h"
#include "tiers/http/base_url.h"
#include "tiers/http/beast_client.h"

namespace tiercache {

using namespace http_client;

namespace {

using Resolved = tcp::resolver::results_type;

// How often a wait (I/O, backoff, resolution) looks whether the run should stop.
constexpr auto kPollInterval = std::chrono::milliseconds(20);
constexpr unsigned kMaxAttempts = 100;
constexpr unsigned kMaxConcurrency = 64;
constexpr uint32_t kMaxResponseHeaderBytes = 64 * 1024;
// Doubling stops here, so a large max_attempts cannot overflow the wait.
constexpr Duration kMaxBackoff = std::chrono::hours(1);

std::string ToUpper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// One endpoint, checked and with its templates filled.
struct PreparedEndpoint {
  std::string path;    // as written: what Failed names
  std::string target;  // the origin's prefix, then path
  http::verb verb;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string key;
  std::vector<std::string> tags;
};

Result<http::verb> ParseMethod(std::string_view method) {
  static constexpr std::pair<std::string_view, http::verb> kMethods[] = {
      {"GET", http::verb::get},     {"HEAD", http::verb::head},
      {"POST", http::verb::post},   {"PUT", http::verb::put},
      {"PATCH", http::verb::patch}, {"DELETE", http::verb::delete_},
      {"OPTIONS", http::verb::options}};
  const std::string upper = ToUpper(method);
  for (const auto& [name, verb] : kMethods) {
    if (upper == name) return verb;
  }
  return Status::InvalidArgument("method '" + std::string(method) +
                                 "' is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
}

Result<PreparedEndpoint> PrepareEndpoint(const HttpWarmEndpoint& endpoint,
                                         const HttpWarmOptions& options, const BaseUrl& origin,
                                         size_t index) {
  const std::string where = "endpoints[" + std::to_string(index) + "]" +
                            (endpoint.path.empty() ? "" : " (" + endpoint.path + ")");
  const auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(where + ": " + why);
  };
  if (endpoint.path.empty() || endpoint.path.front() != '/') {
    return bad("path must start with '/'");
  }
  if (!std::all_of(endpoint.path.begin(), endpoint.path.end(), IsTargetChar)) {
    return bad("path holds a space, control or non-ASCII byte or '#' (percent-encode it)");
  }
  PreparedEndpoint prepared;
  prepared.path = endpoint.path;
  prepared.target = origin.prefix + endpoint.path;
  auto verb = ParseMethod(endpoint.method);
  if (!verb.ok()) return bad(verb.status().message());
  prepared.verb = *verb;
  for (const auto& [name, value] : endpoint.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return bad("header name '" + name + "' is not an HTTP token");
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return bad("header " + name + " holds CR, LF or NUL");
    }
  }
  prepared.headers = endpoint.headers;

  ModelFields fields{{"path", endpoint.path}};
  if (!endpoint.name.empty()) fields.emplace("name", endpoint.name);
  const auto fill = [&](std::string_view what,
                        const std::string& text) -> Result<std::string> {
    auto filled = FillTemplate(text, fields, /*quote=*/false);
    if (!filled.ok()) {
      return bad(std::string(what) + ": " + filled.status().message() +
                 " (templates know {path}, and {name} when the endpoint has a name)");
    }
    if (filled->empty()) return bad(std::string(what) + " '" + text + "' fills to nothing");
    return filled;
  };
  auto key = fill("key", endpoint.key.empty() ? options.key : endpoint.key);
  if (!key.ok()) return key.status();
  prepared.key = std::move(*key);
  for (const std::string& tag : endpoint.tags) {
    auto filled = fill("tag", tag);
    if (!filled.ok()) return filled.status();
    prepared.tags.push_back(std::move(*filled));
  }
  return prepared;
}

// The run's view of the sink: one caller at a time, and a stop flag that every worker
// sees once the sink refused an entry or said it is cancelled.
class SharedSink {
 public:
  explicit SharedSink(WarmSink& sink) : sink_(sink) {}

  // True once the run should stop. Asks the sink only when no other worker is inside it,
  // so a worker polling here is never held up by another one blocked in Put.
  bool ShouldStop() {
    if (stop_.load(std::memory_order_acquire)) return true;
    std::unique_lock lock(mu_, std::try_to_lock);
    if (lock.owns_lock() && sink_.cancelled()) stop_.store(true, std::memory_order_release);
    return stop_.load(std::memory_order_acquire);
  }

  void Attempted() {
    std::lock_guard lock(mu_);
    sink_.Attempted(1);
  }
  void Put(WarmEntry entry) {
    std::lock_guard lock(mu_);
    if (!sink_.Put(std::move(entry))) stop_.store(true, std::memory_order_release);
  }
  void Failed(std::string_view what, const Status& why) {
    std::lock_guard lock(mu_);
    sink_.Failed(what, why);
  }

 private:
  WarmSink& sink_;
  std::mutex mu_;
  std::atomic<bool> stop_{false};
};

bool IsTimeout(const beast::error_code& ec) { return ec == beast::error::timeout; }

// Fetches endpoints one after another over one kept-alive connection. One per thread.
class Fetcher {
 public:
  Fetcher(const HttpWarmOptions& options, const BaseUrl& origin, const Resolved& resolved,
          SharedSink& sink)
      : options_(options), origin_(origin), resolved_(resolved), sink_(sink) {}

  ~Fetcher() { Close(); }

  // One endpoint to its end: stored, reported failed, or left because the run stopped.
  void Fetch(const PreparedEndpoint& endpoint) {
    sink_.Attempted();
    Outcome outcome;
    unsigned attempt = 0;
    Duration wait = options_.backoff;
    for (;;) {
      ++attempt;
      try {
        outcome = Attempt(endpoint);
      } catch (const std::exception& e) {  // allocation or system failures inside Asio
        Close();
        outcome = {Kind::kFinal, Status::Internal(e.what()), {}};
      }
      if (outcome.kind != Kind::kRetry || attempt >= options_.max_attempts) break;
      if (!Sleep(wait)) return;
      wait = std::min(wait * 2, kMaxBackoff);
    }
    switch (outcome.kind) {
      case Kind::kStored:
        sink_.Put(WarmEntry{endpoint.key, std::move(outcome.body), endpoint.tags, options_.ttl,
                            std::move(outcome.content_type)});
        return;
      case Kind::kStopped:
        return;
      case Kind::kRetry:
      case Kind::kFinal: {
        std::string message = std::string(http::to_string(endpoint.verb)) + " " +
                              endpoint.target + ": " + outcome.status.message();
        if (attempt > 1) message += " (" + std::to_string(attempt) + " attempts)";
        sink_.Failed(endpoint.path, WithMessage(outcome.status.code(), std::move(message)));
        return;
      }
    }
  }

 private:
  enum class Kind { kStored, kRetry, kFinal, kStopped };
  struct Outcome {
    Kind kind = Kind::kFinal;
    Status status;
    std::string body;
    std::string content_type{};  // of a stored body; empty if absent or not storable
  };

  // Status has no public constructor from a code: rebuild one with a longer message.
  static Status WithMessage(StatusCode code, std::string message) {
    switch (code) {
      case StatusCode::kNotFound: return Status::NotFound(std::move(message));
      case StatusCode::kInvalidArgument: return Status::InvalidArgument(std::move(message));
      case StatusCode::kTooLarge: return Status::TooLarge(std::move(message));
      case StatusCode::kDeadlineExceeded: return Status::DeadlineExceeded(std::move(message));
      case StatusCode::kInternal: return Status::Internal(std::move(message));
      case StatusCode::kOk:
      case StatusCode::kUnavailable: break;
    }
    return Status::Unavailable(std::move(message));
  }

  Outcome IoFailure(const beast::error_code& ec, std::string_view during) {
    Close();
    if (sink_.ShouldStop()) return {Kind::kStopped, {}, {}};
    if (IsTimeout(ec)) {
      return {Kind::kRetry,
              Status::DeadlineExceeded("no complete answer within " + SecondsText(options_.timeout)),
              {}};
    }
    return {Kind::kRetry, Status::Unavailable(std::string(during) + ": " + ec.message()), {}};
  }

  Outcome Attempt(const PreparedEndpoint& endpoint) {
    const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    http::request<http::empty_body> req{endpoint.verb, endpoint.target, 11};
    req.set(http::field::host, origin_.host_header);
    req.set(http::field::user_agent, "tiercache/" TIERCACHE_VERSION);
    for (const auto& [name, value] : endpoint.headers) req.set(name, value);
    if (endpoint.verb == http::verb::post || endpoint.verb == http::verb::put ||
        endpoint.verb == http::verb::patch) {
      req.content_length(0);
    }
    req.keep_alive(true);

    // A kept connection the origin has closed since fails before any answer: open a new
    // one once, without using an attempt.
    bool reused = open_;
    for (;;) {
      if (!open_) {
        stream_.expires_at(deadline);
        const beast::error_code ec = RunIo([&](auto handler) {
          stream_.async_connect(resolved_, std::move(handler));
        });
        if (ec) return IoFailure(ec, "connect");
        open_ = true;
        buffer_.clear();
        beast::error_code opt_ec;
        stream_.socket().set_option(tcp::no_delay(true), opt_ec);
      }
      stream_.expires_at(deadline);
      beast::error_code ec =
          RunIo([&](auto handler) { http::async_write(stream_, req, std::move(handler)); });
      if (ec) {
        if (reused && !IsTimeout(ec) && !sink_.ShouldStop()) {
          Close();
          reused = false;
          continue;
        }
        return IoFailure(ec, "send");
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit(options_.max_body_bytes);
      parser.header_limit(kMaxResponseHeaderBytes);
      parser.skip(endpoint.verb == http::verb::head);
      // The header first: Beast 1.74 loses a Content-Length over the body limit when the
      // header and body are parsed in one eager pass (boostorg/beast#2183).
      ec = RunIo([&](auto handler) {
        http::async_read_header(stream_, buffer_, parser, std::move(handler));
      });
      if (!ec && !parser.is_done()) {
        ec = RunIo(
            [&](auto handler) { http::async_read(stream_, buffer_, parser, std::move(handler)); });
      }
      if (ec == http::error::body_limit ||
          (!ec && parser.get().body().size() > options_.max_body_bytes)) {
        Close();
        return {Kind::kFinal,
                Status::TooLarge("body over max_body_bytes (" +
                                 std::to_string(options_.max_body_bytes) + ")"),
                {}};
      }
      if (ec) {
        if (reused && !parser.got_some() && !IsTimeout(ec) && !sink_.ShouldStop()) {
          Close();
          reused = false;
          continue;
        }
        return IoFailure(ec, "response");
      }
      http::response<http::string_body> res = parser.release();
      if (!res.keep_alive()) Close();
      return Classify(res);
    }
  }

  static Outcome Classify(http::response<http::string_body>& res) {
    const unsigned code = res.result_int();
    if (code >= 200 && code < 300) {
      // Kept with the body, so readers get it back; one that could not be sent back as a
      // header value unchanged (control or non-ASCII bytes, over 255 bytes) is left out.
      std::string type(res[http::field::content_type]);
      if (!ValidateContentType(type).ok()) type.clear();
      return {Kind::kStored, {}, std::move(res.body()), std::move(type)};
    }
    std::string text = "HTTP " + std::to_string(code);
    if (!res.reason().empty()) text += " " + std::string(res.reason());
    if (code >= 500) return {Kind::kRetry, Status::Unavailable(std::move(text)), {}};
    if (code == 404 || code == 410) return {Kind::kFinal, Status::NotFound(std::move(text)), {}};
    if (code == 413) return {Kind::kFinal, Status::TooLarge(std::move(text)), {}};
    if (code >= 400) return {Kind::kFinal, Status::InvalidArgument(std::move(text)), {}};
    if (code >= 300) text += " (redirects are not followed)";
    return {Kind::kFinal, Status::Unavailable(std::move(text)), {}};
  }

  // Starts one asynchronous operation and runs this thread's io_context until it completes.
  // The stream's own timer bounds it; if the run is told to stop meanwhile, the operation
  // is cancelled (it then completes with operation_aborted).
  template <class Start>
  beast::error_code RunIo(Start&& start) {
    bool done = false;
    beast::error_code result;
    start([&done, &result](beast::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    ioc_.restart();
    bool cancelled = false;
    while (!done) {
      ioc_.run_one_for(kPollInterval);
      if (!done && !cancelled && sink_.ShouldStop()) {
        stream_.cancel();
        cancelled = true;
      }
    }
    return result;
  }

  // Waits `d` unless the run stops first (false then).
  bool Sleep(Duration d) {
    const auto until = std::chrono::steady_clock::now() + d;
    for (;;) {
      if (sink_.ShouldStop()) return false;
      const auto now = std::chrono::steady_clock::now();
      if (now >= until) return true;
      std::this_thread::sleep_for(std::min<Duration>(until - now, kPollInterval));
    }
  }

  void Close() {
    if (!open_) return;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    open_ = false;
  }

  const HttpWarmOptions& options_;
  const BaseUrl& origin_;
  const Resolved& resolved_;
  SharedSink& sink_;
  net::io_context ioc_{1};
  Stream stream_{ioc_.get_executor()};
  beast::flat_buffer buffer_;
  bool open_ = false;
};

class HttpWarmSource final : public WarmSource {
 public:
  HttpWarmSource(HttpWarmOptions options, BaseUrl origin, std::vector<PreparedEndpoint> endpoints)
      : options_(std::move(options)),
        origin_(std::move(origin)),
        endpoints_(std::move(endpoints)) {}

  std::string_view kind() const override { return "http"; }

  Status Run(WarmSink& sink) override {
    SharedSink shared(sink);
    if (shared.ShouldStop()) return Status::Ok();
    Result<Resolved> resolved = Resolve(shared);
    if (!resolved.ok()) return resolved.status();
    if (shared.ShouldStop()) return Status::Ok();

    std::atomic<size_t> next{0};
    const auto work = [&] {
      Fetcher fetcher(options_, origin_, *resolved, shared);
      while (!shared.ShouldStop()) {
        const size_t i = next.fetch_add(1);
        if (i >= endpoints_.size()) return;
        fetcher.Fetch(endpoints_[i]);
      }
    };
    const size_t threads = std::min<size_t>(options_.concurrency, endpoints_.size());
    std::vector<std::thread> helpers;
    try {
      for (size_t i = 1; i < threads; ++i) helpers.emplace_back(work);
    } catch (const std::system_error&) {
      // No more threads to be had: the ones started and this one share the endpoints.
    }
    work();
    for (std::thread& t : helpers) t.join();
    return Status::Ok();
  }

 private:
  // The origin's addresses, within `timeout`. kUnavailable if the name does not resolve;
  // an empty, OK result when the run was stopped meanwhile.
  Result<Resolved> Resolve(SharedSink& sink) const {
    net::io_context ioc{1};
    Resolver resolver(ioc.get_executor());
    bool done = false;
    beast::error_code result;
    Resolved resolved;
    resolver.async_resolve(origin_.host, origin_.port, tcp::resolver::numeric_service,
                           [&](const beast::error_code& ec, Resolved r) {
                             result = ec;
                             resolved = std::move(r);
                             done = true;
                           });
    const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    bool cancelled = false;
    bool timed_out = false;
    while (!done) {
      ioc.run_one_for(kPollInterval);
      if (done || cancelled) continue;
      timed_out = std::chrono::steady_clock::now() >= deadline;
      if (timed_out || sink.ShouldStop()) {
        resolver.cancel();
        cancelled = true;
      }
    }
    if (cancelled && !timed_out) return Resolved();
    if (timed_out && result) {
      return Status::Unavailable("http warming: resolving " + origin_.host + " took over " +
                                 SecondsText(options_.timeout));
    }
    if (result) {
      return Status::Unavailable("http warming: cannot resolve " + origin_.host + ": " +
                                 result.message());
    }
    if (resolved.empty()) {
      return Status::Unavailable("http warming: " + origin_.host + " has no address");
    }
    return resolved;
  }

  const HttpWarmOptions options_;
  const BaseUrl origin_;
  const std::vector<PreparedEndpoint> endpoints_;
};

}  // namespace

Result<std::unique_ptr<WarmSource>> MakeHttpWarmSource(HttpWarmOptions options) {
  auto origin = ParseBaseUrl(options.base_url);
  if (!origin.ok()) return origin.status();
  if (options.endpoints.empty()) {
    return Status::InvalidArgument("endpoints: an http source needs at least one endpoint");
  }
  if (options.max_attempts < 1 || options.max_attempts > kMaxAttempts) {
    return Status::InvalidArgument("max_attempts must be 1 to " + std::to_string(kMaxAttempts));
  }
  if (options.timeout <= Duration::zero()) {
    return Status::InvalidArgument("timeout must be more than 0");
  }
  if (options.backoff < Duration::zero() || options.backoff > kMaxBackoff) {
    return Status::InvalidArgument("backoff must be 0 to 1 hour");
  }
  if (options.ttl && *options.ttl <= Duration::zero()) {
    return Status::InvalidArgument("ttl must be more than 0");
  }
  if (options.max_body_bytes == 0) {
    return Status::InvalidArgument("max_body_bytes must be more than 0");
  }
  if (options.concurrency < 1 || options.concurrency > kMaxConcurrency) {
    return Status::InvalidArgument("concurrency must be 1 to " + std::to_string(kMaxConcurrency));
  }
  std::vector<PreparedEndpoint> endpoints;
  std::set<std::string_view> keys;
  for (size_t i = 0; i < options.endpoints.size(); ++i) {
    auto prepared = PrepareEndpoint(options.endpoints[i], options, *origin, i);
    if (!prepared.ok()) return prepared.status();
    endpoints.push_back(std::move(*prepared));
  }
  for (const PreparedEndpoint& e : endpoints) {
    if (!keys.insert(e.key).second) {
      return Status::InvalidArgument("endpoints: two endpoints fill the key '" + e.key +
                                     "' (give them distinct key templates or names)");
    }
  }
  return std::unique_ptr<WarmSource>(
      std::make_unique<HttpWarmSource>(std::move(options), std::move(*origin), std::move(endpoints)));
}

}  // namespace tiercache
