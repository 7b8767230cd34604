#include "http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <cstdio>
#include <limits>
#include <optional>
#include <thread>

namespace tierbench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
// Sockets and timers bound to the concrete io_context executor (no type-erased executor
// on every completion).
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>,
                                         asio::io_context::executor_type>;

std::string PercentEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::vector<tcp::endpoint> Resolve(const Config& config) {
  asio::io_context io;
  tcp::resolver resolver(io);
  std::vector<tcp::endpoint> eps;
  for (const auto& r : resolver.resolve(config.host, config.port)) eps.push_back(r.endpoint());
  return eps;
}

class HttpThread;

class HttpConn {
 public:
  explicit HttpConn(HttpThread& t);
  void Start() { Next(); }

 private:
  void Next();
  void Connect();
  void OnConnect(const beast::error_code& ec);
  void Send();
  void OnWrite(const beast::error_code& ec);
  void OnRead(const beast::error_code& ec);
  void TransportError(const char* where, const beast::error_code& ec);
  void Close();
  void Finish();

  HttpThread& t_;
  Socket sock_;
  Timer backoff_;
  beast::flat_buffer buf_;
  http::request<http::string_body> get_req_;
  http::request<http::string_body> put_req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::string target_;
  Op op_{};
  bool have_op_ = false;
  bool connected_ = false;
  int failures_ = 0;  // transport failures in a row
  TimePoint start_;
};

class HttpThread {
 public:
  HttpThread(const Workload& w, const Phase& ph, const std::vector<tcp::endpoint>& eps,
             int connections, uint64_t seed)
      : w_(w),
        ph_(ph),
        endpoints_(eps),
        ops_(*w.keys, w.config.read_ratio, seed),
        stop_timer_(io_.get_executor()),
        path_prefix_("/v1/keys/" + PercentEncode(w.config.key_prefix)) {
    if (w.config.ttl > 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "?ttl=%.9g", w.config.ttl);
      put_query_ = buf;
    }
    for (int i = 0; i < connections; ++i) conns_.push_back(std::make_unique<HttpConn>(*this));
    active_ = connections;
  }

  void Run() {
    stop_timer_.expires_at(ph_.hard_stop);
    stop_timer_.async_wait([this](const beast::error_code& ec) {
      if (!ec) io_.stop();  // abandon whatever is still in flight
    });
    for (auto& c : conns_) c->Start();
    io_.run();
  }

  // The next operation for a connection; false once the phase is over for it.
  bool NextOp(Op& op) {
    return tierbench::NextOp(ph_, ops_, op);
  }

  bool Counted(TimePoint now) const {
    return ph_.mode == Phase::Mode::kPrefill || (now >= ph_.measure_start && now < ph_.end);
  }
  bool PhaseOver() const {
    return ph_.mode == Phase::Mode::kTimed && SteadyClock::now() >= ph_.end;
  }

  void ConnDone() {
    if (--active_ == 0) stop_timer_.cancel();
  }

  void BuildTarget(std::string& target, const Op& op) const {
    target.assign(path_prefix_);
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, op.key);
    target.append(digits, end);
    if (!op.get) target.append(put_query_);
  }

  asio::io_context io_{1};
  const Workload& w_;
  const Phase& ph_;
  const std::vector<tcp::endpoint>& endpoints_;
  ThreadStats stats_;
  OpSource ops_;
  Timer stop_timer_;
  std::string path_prefix_;
  std::string put_query_;
  std::vector<std::unique_ptr<HttpConn>> conns_;
  int active_ = 0;
};

HttpConn::HttpConn(HttpThread& t)
    : t_(t), sock_(t.io_.get_executor()), backoff_(t.io_.get_executor()) {
  // Beast reads at most the buffer's free capacity (at least 512 bytes) per receive; a
  // roomy buffer keeps large bodies from taking hundreds of small reads.
  buf_.reserve(64 * 1024);
  const std::string& host = t.w_.config.server;
  get_req_.version(11);
  get_req_.method(http::verb::get);
  get_req_.set(http::field::host, host);
  get_req_.set(http::field::user_agent, "tierbench");
  get_req_.keep_alive(true);
  put_req_.version(11);
  put_req_.method(http::verb::put);
  put_req_.set(http::field::host, host);
  put_req_.set(http::field::user_agent, "tierbench");
  put_req_.set(http::field::content_type, "application/octet-stream");
  put_req_.keep_alive(true);
  put_req_.body() = t.w_.value;
  put_req_.prepare_payload();
}

void HttpConn::Next() {
  if (!have_op_) {
    if (!t_.NextOp(op_)) return Finish();
    have_op_ = true;
  }
  if (!connected_) return Connect();
  Send();
}

void HttpConn::Connect() {
  asio::async_connect(sock_, t_.endpoints_,
                      [this](const beast::error_code& ec, const tcp::endpoint&) { OnConnect(ec); });
}

void HttpConn::OnConnect(const beast::error_code& ec) {
  if (ec) return TransportError("connect", ec);
  connected_ = true;
  beast::error_code ignored;
  sock_.set_option(tcp::no_delay(true), ignored);
  buf_.clear();
  Send();
}

void HttpConn::Send() {
  auto& req = op_.get ? get_req_ : put_req_;
  t_.BuildTarget(target_, op_);
  req.target(target_);
  start_ = SteadyClock::now();
  http::async_write(sock_, req, [this](const beast::error_code& ec, size_t) { OnWrite(ec); });
}

void HttpConn::OnWrite(const beast::error_code& ec) {
  if (ec) return TransportError("write", ec);
  parser_.emplace();
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  http::async_read(sock_, buf_, *parser_,
                   [this](const beast::error_code& e, size_t) { OnRead(e); });
}

void HttpConn::OnRead(const beast::error_code& ec) {
  if (ec) return TransportError("read", ec);
  const TimePoint now = SteadyClock::now();
  const auto& res = parser_->get();
  const unsigned status = res.result_int();
  if (t_.Counted(now)) {
    ThreadStats& s = t_.stats_;
    s.latency.Record(static_cast<uint64_t>((now - start_).count()));
    if (op_.get) {
      s.gets++;
      if (status == 200) {
        s.hits++;
      } else if (status == 404) {
        s.misses++;
      } else {
        s.AddError("GET status " + std::to_string(status));
      }
    } else {
      s.sets++;
      if (status < 200 || status > 299) s.AddError("PUT status " + std::to_string(status));
    }
  }
  have_op_ = false;
  failures_ = 0;
  if (!res.keep_alive()) Close();
  parser_.reset();
  Next();
}

// A failed connect, write or read: the operation counts as attempted and failed, the
// connection is reopened, after a growing pause if failures repeat.
void HttpConn::TransportError(const char* where, const beast::error_code& ec) {
  if (ec == asio::error::operation_aborted) return;
  const TimePoint now = SteadyClock::now();
  if (t_.Counted(now)) {
    ThreadStats& s = t_.stats_;
    (op_.get ? s.gets : s.sets)++;
    s.AddError(std::string(where) + ": " + ec.message());
  }
  have_op_ = false;
  Close();
  parser_.reset();
  ++failures_;
  // The prefill gives a connection up after a few failures in a row (they are counted).
  if (t_.ph_.mode == Phase::Mode::kPrefill && failures_ >= 5) return Finish();
  if (failures_ == 1) return Next();
  const int shift = std::min(failures_, 7);
  backoff_.expires_after(std::chrono::milliseconds(4 << shift));  // 16 ms .. 512 ms
  backoff_.async_wait([this](const beast::error_code& e) {
    if (!e) Next();
  });
}

void HttpConn::Close() {
  beast::error_code ignored;
  sock_.shutdown(tcp::socket::shutdown_both, ignored);
  sock_.close(ignored);
  connected_ = false;
}

void HttpConn::Finish() {
  Close();
  t_.ConnDone();
}

}  // namespace

ProbeResult ProbeHttp(const Config& config, double timeout_s) {
  ProbeResult r;
  std::vector<tcp::endpoint> eps;
  try {
    eps = Resolve(config);
  } catch (const std::exception& e) {
    r.error = "cannot resolve " + config.host + ": " + e.what();
    return r;
  }
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
  beast::error_code result = asio::error::timed_out;
  stream.async_connect(eps, [&](const beast::error_code& ec, const tcp::endpoint&) { result = ec; });
  io.run();
  if (result) {
    r.error = "cannot connect to " + config.server + ": " + result.message();
    return r;
  }
  r.ok = true;
  return r;
}

ThreadStats RunHttp(const Workload& workload, const Phase& phase) {
  const Config& c = workload.config;
  const std::vector<tcp::endpoint> eps = Resolve(c);
  const int nthreads = EffectiveThreads(c);
  std::vector<std::unique_ptr<HttpThread>> threads;
  for (int i = 0; i < nthreads; ++i) {
    const int n = c.connections / nthreads + (i < c.connections % nthreads ? 1 : 0);
    threads.push_back(std::make_unique<HttpThread>(workload, phase, eps, n,
                                                   phase.seed * 1000003 + static_cast<uint64_t>(i)));
  }
  return RunAndMerge(threads);
}

}  // namespace tierbench
