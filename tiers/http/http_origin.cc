#include "tiers/http/http_origin.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <deque>
#include <mutex>
#include <thread>

#include "tiers/http/base_url.h"
#include "tiers/http/beast_client.h"

namespace tiercache {

using namespace http_client;

namespace {

bool Idempotent(http::verb verb) {
  return verb == http::verb::get || verb == http::verb::head ||
         verb == http::verb::options || verb == http::verb::put ||
         verb == http::verb::delete_ || verb == http::verb::trace;
}

class HttpOrigin;

// One connection to the origin, open or being opened; owned by the pool while idle and by
// the exchange using it otherwise. Only the origin's I/O thread touches it.
struct Connection {
  explicit Connection(Executor ex) : stream(ex) {}
  Stream stream;
  beast::flat_buffer buffer;
};

// One request on its way: written, answered, then the connection goes back to the pool.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(HttpOrigin& origin, OriginRequest request, Callback<Result<OriginResponse>> done);
  void Start();

 private:
  void Connect();
  void OnConnect(beast::error_code ec);
  void Write();
  void OnWrite(beast::error_code ec);
  void OnHeader(beast::error_code ec);
  void OnBody(beast::error_code ec);
  // A reused connection that failed before any of the answer came: the origin closed it
  // while idle. Replaced once, if the request may be sent twice.
  bool RetryFresh(const beast::error_code& ec);
  void Fail(Status status);
  Status IoError(const beast::error_code& ec, std::string_view during) const;

  HttpOrigin& origin_;
  http::request<http::string_body> request_;
  Callback<Result<OriginResponse>> done_;
  std::unique_ptr<Connection> conn_;
  std::optional<http::response_parser<http::string_body>> parser_;
  bool reused_ = false;
  bool answered_ = false;
  TimePoint deadline_;
};

class HttpOrigin final : public Origin, public std::enable_shared_from_this<HttpOrigin> {
 public:
  HttpOrigin(HttpOriginOptions options, BaseUrl url)
      : options_(std::move(options)),
        url_(std::move(url)),
        work_(net::make_work_guard(ioc_)),
        thread_([this] { ioc_.run(); }) {}

  // Requests under way are dropped unanswered: their clients are gone by now (the proxy's
  // listener stops first).
  ~HttpOrigin() override { Stop(); }

  void Stop() override {
    std::lock_guard lock(stop_mu_);
    if (!thread_.joinable()) return;
    work_.reset();
    ioc_.stop();
    thread_.join();
  }

  void Fetch(OriginRequest request, Callback<Result<OriginResponse>> done) override {
    auto exchange = std::make_shared<Exchange>(*this, std::move(request), std::move(done));
    net::post(ioc_, [exchange] { exchange->Start(); });
  }

  const HttpOriginOptions& options() const { return options_; }
  const BaseUrl& url() const { return url_; }
  Executor executor() { return ioc_.get_executor(); }

  std::unique_ptr<Connection> TakeIdle() {
    if (idle_.empty()) return nullptr;
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return conn;
  }
  void GiveBack(std::unique_ptr<Connection> conn) {
    if (idle_.size() >= options_.max_idle_connections) return;
    conn->stream.expires_never();
    idle_.push_back(std::move(conn));
  }
  // Resolved once and kept: an origin is a name in the configuration, and a failed
  // connect resolves it again.
  const tcp::resolver::results_type* Resolved() const { return resolved_ ? &*resolved_ : nullptr; }
  void SetResolved(tcp::resolver::results_type r) { resolved_ = std::move(r); }
  void ForgetResolved() { resolved_.reset(); }

 private:
  const HttpOriginOptions options_;
  const BaseUrl url_;
  net::io_context ioc_{1};
  net::executor_work_guard<Executor> work_;
  std::deque<std::unique_ptr<Connection>> idle_;  // I/O thread only
  std::optional<tcp::resolver::results_type> resolved_;
  std::mutex stop_mu_;
  std::thread thread_;
};

Exchange::Exchange(HttpOrigin& origin, OriginRequest request,
                   Callback<Result<OriginResponse>> done)
    : origin_(origin), done_(std::move(done)) {
  const http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) {
    request_.method_string(request.method);
  } else {
    request_.method(verb);
  }
  request_.target(origin.url().prefix + request.target);
  request_.version(11);
  for (auto& [name, value] : request.headers) request_.insert(name, value);
  // A Host the caller passed on is the client's; without one, the origin's own.
  if (request_.find(http::field::host) == request_.end()) {
    request_.set(http::field::host, origin.url().host_header);
  }
  request_.keep_alive(true);
  request_.body() = std::move(request.body);
  if (!request_.body().empty() || verb == http::verb::post || verb == http::verb::put ||
      verb == http::verb::patch) {
    request_.prepare_payload();
  }
}

void Exchange::Start() {
  deadline_ = std::chrono::steady_clock::now() +
              std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                  origin_.options().timeout);
  conn_ = origin_.TakeIdle();
  if (conn_) {
    reused_ = true;
    return Write();
  }
  Connect();
}

void Exchange::Connect() {
  conn_ = std::make_unique<Connection>(origin_.executor());
  conn_->stream.expires_after(origin_.options().connect_timeout);
  if (const auto* resolved = origin_.Resolved()) {
    return conn_->stream.async_connect(
        *resolved, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
          self->OnConnect(ec);
        });
  }
  auto resolver = std::make_shared<Resolver>(origin_.executor());
  resolver->async_resolve(
      origin_.url().host, origin_.url().port,
      [self = shared_from_this(), resolver](beast::error_code ec,
                                            tcp::resolver::results_type results) {
        if (ec) {
          return self->Fail(Status::Unavailable("cannot resolve " + self->origin_.url().host +
                                                ": " + ec.message()));
        }
        self->origin_.SetResolved(results);
        self->conn_->stream.async_connect(
            results, [self](beast::error_code ec2, const tcp::endpoint&) { self->OnConnect(ec2); });
      });
}

void Exchange::OnConnect(beast::error_code ec) {
  if (ec) {
    origin_.ForgetResolved();
    if (ec == beast::error::timeout) {
      return Fail(Status::DeadlineExceeded("connect to " + origin_.url().host_header +
                                           " took over " +
                                           SecondsText(origin_.options().connect_timeout)));
    }
    return Fail(Status::Unavailable("cannot connect to " + origin_.url().host_header + ": " +
                                    ec.message()));
  }
  beast::error_code opt_ec;
  conn_->stream.socket().set_option(tcp::no_delay(true), opt_ec);
  Write();
}

void Exchange::Write() {
  conn_->stream.expires_at(deadline_);
  http::async_write(conn_->stream, request_,
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->OnWrite(ec);
                    });
}

void Exchange::OnWrite(beast::error_code ec) {
  if (ec) {
    if (RetryFresh(ec)) return;
    return Fail(IoError(ec, "send"));
  }
  parser_.emplace();
  parser_->body_limit(origin_.options().max_body_bytes);
  parser_->header_limit(origin_.options().max_header_bytes);
  parser_->skip(request_.method() == http::verb::head);
  // The header first: Beast 1.74 loses a Content-Length over the body limit when the
  // header and body are parsed in one eager pass (boostorg/beast#2183).
  http::async_read_header(conn_->stream, conn_->buffer, *parser_,
                          [self = shared_from_this()](beast::error_code ec2, size_t) {
                            self->OnHeader(ec2);
                          });
}

void Exchange::OnHeader(beast::error_code ec) {
  if (ec) {
    if (!parser_->got_some() && RetryFresh(ec)) return;
    return Fail(IoError(ec, "response"));
  }
  // An interim answer (100 Continue, 103 Early Hints): the final one follows.
  const unsigned status = parser_->get().result_int();
  if (status >= 100 && status < 200 && status != 101) {
    parser_.emplace();
    parser_->body_limit(origin_.options().max_body_bytes);
    parser_->header_limit(origin_.options().max_header_bytes);
    parser_->skip(request_.method() == http::verb::head);
    return http::async_read_header(conn_->stream, conn_->buffer, *parser_,
                                   [self = shared_from_this()](beast::error_code ec2, size_t) {
                                     self->OnHeader(ec2);
                                   });
  }
  if (parser_->is_done()) return OnBody({});
  http::async_read(conn_->stream, conn_->buffer, *parser_,
                   [self = shared_from_this()](beast::error_code ec2, size_t) {
                     self->OnBody(ec2);
                   });
}

void Exchange::OnBody(beast::error_code ec) {
  if (ec) return Fail(IoError(ec, "response"));
  http::response<http::string_body> res = parser_->release();
  OriginResponse out;
  out.status = res.result_int();
  for (const auto& field : res.base()) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  RemoveHopByHop(out.headers);
  out.body = std::move(res.body());
  if (res.keep_alive() && res.result_int() >= 200) {
    origin_.GiveBack(std::move(conn_));
  } else {
    conn_.reset();
  }
  answered_ = true;
  done_(std::move(out));
}

bool Exchange::RetryFresh(const beast::error_code& ec) {
  if (!reused_ || ec == beast::error::timeout || !Idempotent(request_.method())) return false;
  reused_ = false;
  conn_.reset();
  Connect();
  return true;
}

Status Exchange::IoError(const beast::error_code& ec, std::string_view during) const {
  if (ec == beast::error::timeout) {
    return Status::DeadlineExceeded("no complete response within " +
                                    SecondsText(origin_.options().timeout));
  }
  if (ec == http::error::body_limit) {
    return Status::TooLarge("response body over " +
                            std::to_string(origin_.options().max_body_bytes) + " bytes");
  }
  if (ec == http::error::header_limit) {
    return Status::TooLarge("response header over " +
                            std::to_string(origin_.options().max_header_bytes) + " bytes");
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == net::error::eof || ec == net::error::connection_reset) {
    return Status::Unavailable("the origin closed the connection during the " +
                               std::string(during));
  }
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    return Status::InvalidArgument("malformed response from the origin: " + ec.message());
  }
  return Status::Unavailable(std::string(during) + ": " + ec.message());
}

void Exchange::Fail(Status status) {
  conn_.reset();
  if (answered_) return;
  answered_ = true;
  done_(std::move(status));
}

}  // namespace

Result<std::shared_ptr<Origin>> MakeHttpOrigin(HttpOriginOptions options) {
  auto url = ParseBaseUrl(options.base_url);
  if (!url.ok()) return url.status();
  return std::shared_ptr<Origin>(std::make_shared<HttpOrigin>(std::move(options), std::move(*url)));
}

}  // namespace tiercache
