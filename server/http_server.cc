#include "server/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <ctime>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "server/http_message.h"
#include "server/listen_socket.h"

namespace tiercache {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Each I/O thread runs its own io_context and owns the connections it was handed, so a
// connection's handlers never run concurrently and need no strand; the executor type is
// concrete, not type-erased, which keeps per-operation overhead down.
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Acceptor = net::basic_socket_acceptor<tcp, Executor>;
using Stream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;

namespace {

http_api::Method MethodOf(http::verb verb) {
  switch (verb) {
    case http::verb::get: return http_api::Method::kGet;
    case http::verb::head: return http_api::Method::kHead;
    case http::verb::put: return http_api::Method::kPut;
    case http::verb::post: return http_api::Method::kPost;
    case http::verb::delete_: return http_api::Method::kDelete;
    default: return http_api::Method::kOther;
  }
}

// The Date header value (RFC 9110 asks origin servers with a clock to send one), made
// at most once a second per I/O thread.
std::string_view HttpDate() {
  thread_local std::time_t cached_second = -1;
  thread_local char text[40];
  thread_local size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return std::string_view(text, length);
}

class Session;

// What every session shares: options, router, counters, and the registry used to
// reach idle connections at shutdown.
struct ServerState {
  ServerState(HttpServerOptions o, const http_api::Router& r, ConnectionMetrics& c)
      : options(std::move(o)), router(r), connections(c) {}

  HttpServerOptions options;
  const http_api::Router& router;
  ConnectionMetrics& connections;
  std::atomic<bool> draining{false};

  std::mutex sessions_mu;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket&& socket, ServerState& state) : stream_(std::move(socket)), state_(state) {
    state_.connections.open.fetch_add(1, std::memory_order_relaxed);
  }

  ~Session() {
    {
      std::lock_guard lock(state_.sessions_mu);
      state_.sessions.erase(this);
    }
    state_.connections.open.fetch_sub(1, std::memory_order_relaxed);
  }

  // Runs on the session's own I/O thread.
  void Start() {
    {
      std::lock_guard lock(state_.sessions_mu);
      state_.sessions.emplace(this, weak_from_this());
    }
    // Accepted while the listener was closing: Shutdown's sweep may have missed it.
    if (state_.draining.load(std::memory_order_acquire)) draining_ = true;
    DoRead();
  }

  Executor executor() { return stream_.get_executor(); }

  // Called at shutdown: an idle connection closes now; a busy one after its response.
  void Drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->draining_ = true;
      if (self->reading_ && !self->parser_->got_some() && self->NothingPending()) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.cancel();
      }
    });
  }

 private:
  // True if no byte of a next request has arrived, in the buffer or the socket.
  bool NothingPending() {
    beast::error_code ec;
    return buffer_.size() == 0 && stream_.socket().available(ec) == 0;
  }

  void DoRead() {
    // While draining, a request that already arrived is still answered (with
    // Connection: close); only a connection with nothing pending is closed at once.
    if (draining_ && NothingPending()) return DoClose();
    parser_.emplace();
    parser_->body_limit(state_.options.max_request_body_bytes);
    parser_->header_limit(state_.options.max_header_bytes);
    reading_ = true;
    stream_.expires_after(state_.options.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    reading_ = false;
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      return DoClose();
    }
    if (ec) {
      // The request can't be read to its end, so the connection can't be reused.
      http_api::Response r;
      if (ec == http::error::body_limit) {
        r = http_api::ErrorResponse(413, "too_large",
                                    "request body exceeds the limit of " +
                                        std::to_string(state_.options.max_request_body_bytes) +
                                        " bytes (limits.max_request_body_bytes)");
      } else if (ec == http::error::header_limit) {
        r = http_api::ErrorResponse(413, "too_large", "request line and headers exceed " +
                                                          std::to_string(state_.options.max_header_bytes) +
                                                          " bytes");
      } else {
        if (!parser_->got_some()) return DoClose();
        r = http_api::ErrorResponse(400, "bad_request", "malformed HTTP request: " + ec.message());
      }
      unread_input_ = true;
      return Send(std::move(r), /*keep_alive=*/false, /*head=*/false);
    }

    http::request<http::string_body> req = parser_->release();
    http_api::Request request;
    request.method = MethodOf(req.method());
    request.target.assign(req.target().data(), req.target().size());
    if (auto it = req.find(http::field::content_type); it != req.end()) {
      request.content_type.assign(it->value().data(), it->value().size());
    }
    if (auto it = req.find(boost::beast::string_view(http_api::kNamespaceHeader.data(),
                                                     http_api::kNamespaceHeader.size()));
        it != req.end()) {
      request.ns.assign(it->value().data(), it->value().size());
    }
    if (auto it = req.find(http::field::if_none_match); it != req.end()) {
      request.if_none_match.assign(it->value().data(), it->value().size());
    }
    request.body = std::move(req.body());
    if (state_.options.keep_headers) {
      const auto method = req.method_string();
      request.method_name.assign(method.data(), method.size());
      for (const auto& field : req.base()) {
        const auto name = field.name_string();
        const auto value = field.value();
        request.headers.emplace_back(std::string(name.data(), name.size()),
                                     std::string(value.data(), value.size()));
      }
      beast::error_code peer_ec;
      const auto peer = stream_.socket().remote_endpoint(peer_ec);
      if (!peer_ec) request.peer = peer.address().to_string();
    }
    const bool head = request.method == http_api::Method::kHead;
    const bool wants_keep_alive = req.keep_alive();
    const unsigned version = req.version();
    // A response made on this thread is sent at once; one that comes later from a tier's
    // thread is handed back to this session's I/O thread.
    state_.router.Handle(request, [self = shared_from_this(), head, wants_keep_alive,
                                   version](http_api::Response response) {
      net::dispatch(self->stream_.get_executor(),
                    [self, head, wants_keep_alive, version,
                     response = std::move(response)]() mutable {
                      const bool keep_alive =
                          wants_keep_alive && !self->draining_ &&
                          !self->state_.draining.load(std::memory_order_relaxed);
                      self->Send(std::move(response), keep_alive, head, version);
                    });
    });
  }

  // Writes the status line and headers by hand into a buffer reused across requests,
  // then sends head and body in one gathered write: cheaper than a Beast serializer on
  // the hot path, and the cached value is sent straight from the shared buffer.
  void Send(http_api::Response&& response, bool keep_alive, bool head, unsigned version = 11) {
    response_ = std::move(response);
    const std::string_view payload = response_.payload();
    const auto reason = http::obsolete_reason(static_cast<http::status>(response_.status));
    head_.clear();
    head_.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    head_.append(std::to_string(response_.status)).append(" ");
    head_.append(reason.data(), reason.size()).append("\r\n");
    if (response_.server_headers) {
      head_.append("Server: tiercache\r\nDate: ").append(HttpDate()).append("\r\n");
    }
    if (!response_.content_type.empty()) {
      head_.append("Content-Type: ").append(response_.content_type).append("\r\n");
    }
    for (const auto& [name, value] : response_.headers) {
      head_.append(name).append(": ").append(value).append("\r\n");
    }
    if (response_.status != 204 && response_.status != 304) {
      head_.append("Content-Length: ").append(std::to_string(payload.size())).append("\r\n");
    }
    if (!keep_alive) {
      head_.append("Connection: close\r\n");
    } else if (version == 10) {
      head_.append("Connection: keep-alive\r\n");
    }
    head_.append("\r\n");

    std::array<net::const_buffer, 2> buffers = {
        net::buffer(head_),
        head || response_.status == 204 || response_.status == 304 ? net::const_buffer()
                                                                   : net::buffer(payload)};
    stream_.expires_after(state_.options.idle_timeout);
    net::async_write(stream_, buffers,
                     beast::bind_front_handler(&Session::OnWrite, shared_from_this(), keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, size_t) {
    response_ = {};
    if (!ec && unread_input_) return Linger();
    if (ec || !keep_alive) return DoClose();
    DoRead();
  }

  // After an error answered before the request was read to its end: closing with input
  // still unread would make the kernel reset the connection, which can destroy the answer
  // before the client reads it. So the sending side is shut and what still comes is read
  // and dropped, for a bounded time and amount, before the socket closes.
  void Linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(kLingerTime);
    DrainSome(0);
  }

  void DrainSome(size_t drained) {
    buffer_.clear();
    stream_.async_read_some(
        buffer_.prepare(16 * 1024),
        [self = shared_from_this(), drained](beast::error_code ec, size_t n) {
          if (ec || drained + n > kLingerBytes) return self->DoClose();
          self->DrainSome(drained + n);
        });
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  Stream stream_;
  ServerState& state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http_api::Response response_;  // owns the body bytes until the write ends
  std::string head_;              // status line and headers of the response being sent
  bool reading_ = false;
  bool draining_ = false;
  bool unread_input_ = false;  // an error was answered before the request's end was read

  static constexpr auto kLingerTime = std::chrono::seconds(2);
  static constexpr size_t kLingerBytes = size_t{1} << 20;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(std::vector<std::unique_ptr<net::io_context>>& iocs, ServerState& state)
      : iocs_(iocs), acceptor_(iocs[0]->get_executor()), retry_timer_(iocs[0]->get_executor()),
        state_(state) {}

  Status Listen(const tcp::endpoint& endpoint) { return tiercache::Listen(acceptor_, endpoint); }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void Start() {
    net::dispatch(acceptor_.get_executor(),
                  beast::bind_front_handler(&Listener::DoAccept, shared_from_this()));
  }

  void Stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->retry_timer_.cancel();
      self->acceptor_.close(ec);
    });
  }

 private:
  void DoAccept() {
    // Connections are dealt to the I/O threads in turn.
    net::io_context& target = *iocs_[next_++ % iocs_.size()];
    acceptor_.async_accept(target.get_executor(),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec, Socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Typically out of file descriptors: back off briefly instead of spinning.
      spdlog::warn("http: accept failed: {}", ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(50));
      retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) self->DoAccept();
      });
      return;
    }
    state_.connections.accepted.fetch_add(1, std::memory_order_relaxed);
    const auto open = state_.connections.open.load(std::memory_order_relaxed);
    if (open >= 0 && static_cast<uint64_t>(open) >= state_.options.max_connections) {
      Reject(std::move(socket));
    } else {
      beast::error_code opt_ec;
      socket.set_option(tcp::no_delay(true), opt_ec);
      auto session = std::make_shared<Session>(std::move(socket), state_);
      net::dispatch(session->executor(), [session] { session->Start(); });
    }
    DoAccept();
  }

  // Over the connection limit: a best-effort 503 without blocking, then close.
  void Reject(Socket socket) {
    state_.connections.rejected.fetch_add(1, std::memory_order_relaxed);
    static const std::string kResponse = [] {
      const std::string body =
          R"json({"error":{"code":"too_many_connections","message":"connection limit reached (server.max_connections)"}})json";
      return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
             "Connection: close\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    beast::error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(net::buffer(kResponse), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  std::vector<std::unique_ptr<net::io_context>>& iocs_;
  Acceptor acceptor_;
  net::basic_waitable_timer<std::chrono::steady_clock, net::wait_traits<std::chrono::steady_clock>,
                            Executor>
      retry_timer_;
  size_t next_ = 0;
  ServerState& state_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpServerOptions options, const http_api::Router& router, ConnectionMetrics& connections)
      : state{std::move(options), router, connections} {
    const unsigned n = std::max(1u, state.options.io_threads);
    for (unsigned i = 0; i < n; ++i) {
      // Hint 1: each io_context is run by exactly one thread, so Asio can skip locking.
      iocs.push_back(std::make_unique<net::io_context>(1));
      work.push_back(net::make_work_guard(*iocs.back()));
    }
  }

  // state outlives the io_contexts: handlers still queued when they are destroyed own
  // sessions whose destructors unregister from state.
  ServerState state;
  std::vector<std::unique_ptr<net::io_context>> iocs;
  std::vector<net::executor_work_guard<Executor>> work;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
};

HttpServer::HttpServer(HttpServerOptions options, const http_api::Router& router,
                       ConnectionMetrics& connections)
    : impl_(std::make_unique<Impl>(std::move(options), router, connections)) {}

HttpServer::~HttpServer() {
  if (!impl_->threads.empty()) Shutdown(std::chrono::seconds(0));
}

Status HttpServer::Start() {
  const auto& options = impl_->state.options;
  auto endpoint = ListenEndpoint(options.host, options.port, "HTTP");
  if (!endpoint.ok()) return endpoint.status();
  impl_->listener = std::make_shared<Listener>(impl_->iocs, impl_->state);
  if (Status s = impl_->listener->Listen(*endpoint); !s.ok()) return s;
  impl_->listener->Start();
  for (auto& ioc : impl_->iocs) {
    impl_->threads.emplace_back([ctx = ioc.get()] { ctx->run(); });
  }
  return Status::Ok();
}

void HttpServer::Shutdown(Duration timeout) {
  if (impl_->threads.empty()) return;
  impl_->state.draining.store(true);
  if (impl_->listener) impl_->listener->Stop();
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(impl_->state.sessions_mu);
    for (auto& [ptr, weak] : impl_->state.sessions) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  for (auto& s : sessions) s->Drain();
  sessions.clear();

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (impl_->state.connections.open.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto left = impl_->state.connections.open.load();
  if (left > 0) spdlog::warn("http: {} connections still open at shutdown; closing them", left);
  impl_->work.clear();
  for (auto& ioc : impl_->iocs) ioc->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

uint16_t HttpServer::port() const { return impl_->listener ? impl_->listener->port() : 0; }

}  // namespace tiercache
