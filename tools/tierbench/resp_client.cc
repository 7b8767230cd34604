#include "resp_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <charconv>
#include <cstdio>
#include <string_view>

namespace tierbench {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>,
                                         asio::io_context::executor_type>;

void AppendBulk(std::string& out, std::string_view arg) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, arg.size());
  out.push_back('$');
  out.append(digits, end);
  out.append("\r\n");
  out.append(arg);
  out.append("\r\n");
}

// What a complete reply at the front of `in` was; kIncomplete until it has all arrived.
enum class Reply { kIncomplete, kValue, kNil, kOk, kError, kMalformed };

Reply ParseReply(std::string_view in, size_t& consumed, std::string& error) {
  const size_t cr = in.find("\r\n");
  if (cr == std::string_view::npos) return Reply::kIncomplete;
  const std::string_view line = in.substr(1, cr - 1);
  if (in[0] == '+') {
    consumed = cr + 2;
    return Reply::kOk;
  }
  if (in[0] == '-') {
    consumed = cr + 2;
    error.assign(line);
    return Reply::kError;
  }
  if (in[0] != '$') return Reply::kMalformed;
  long long length = 0;
  const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), length);
  if (ec != std::errc() || end != line.data() + line.size()) return Reply::kMalformed;
  if (length < 0) {
    consumed = cr + 2;
    return Reply::kNil;
  }
  const size_t total = cr + 2 + static_cast<size_t>(length) + 2;
  if (in.size() < total) return Reply::kIncomplete;
  consumed = total;
  return Reply::kValue;
}

class RespThread;

class RespConn {
 public:
  explicit RespConn(RespThread& t);
  void Start() { Next(); }

 private:
  void Next();
  void OnConnect(const error_code& ec);
  void Send();
  void Read();
  void OnRead(const error_code& ec, size_t n);
  void TransportError(const char* where, const error_code& ec);
  void Close();
  void Finish();

  RespThread& t_;
  Socket sock_;
  Timer backoff_;
  std::string request_;
  std::string in_;
  size_t in_used_ = 0;
  std::string error_;
  Op op_{};
  bool have_op_ = false;
  bool connected_ = false;
  int failures_ = 0;
  TimePoint start_;
};

class RespThread {
 public:
  RespThread(const Workload& w, const Phase& ph, const std::vector<tcp::endpoint>& eps,
             int connections, uint64_t seed)
      : w_(w), ph_(ph), endpoints_(eps), ops_(*w.keys, w.config.read_ratio, seed),
        stop_timer_(io_.get_executor()) {
    if (w.config.ttl > 0) {
      ttl_ms_ = std::to_string(static_cast<long long>(w.config.ttl * 1000));
    }
    for (int i = 0; i < connections; ++i) conns_.push_back(std::make_unique<RespConn>(*this));
    active_ = connections;
  }

  void Run() {
    stop_timer_.expires_at(ph_.hard_stop);
    stop_timer_.async_wait([this](const error_code& ec) {
      if (!ec) io_.stop();
    });
    for (auto& c : conns_) c->Start();
    io_.run();
  }

  bool NextOp(Op& op) { return tierbench::NextOp(ph_, ops_, op); }
  bool Counted(TimePoint now) const {
    return ph_.mode == Phase::Mode::kPrefill || (now >= ph_.measure_start && now < ph_.end);
  }
  void ConnDone() {
    if (--active_ == 0) stop_timer_.cancel();
  }

  void BuildRequest(std::string& out, const Op& op) const {
    out.clear();
    const std::string key = w_.Key(op.key);
    if (op.get) {
      out.append("*2\r\n$3\r\nGET\r\n");
      AppendBulk(out, key);
      return;
    }
    out.append(ttl_ms_.empty() ? "*3\r\n$3\r\nSET\r\n" : "*5\r\n$3\r\nSET\r\n");
    AppendBulk(out, key);
    AppendBulk(out, w_.value);
    if (!ttl_ms_.empty()) {
      AppendBulk(out, "PX");
      AppendBulk(out, ttl_ms_);
    }
  }

  asio::io_context io_{1};
  const Workload& w_;
  const Phase& ph_;
  const std::vector<tcp::endpoint>& endpoints_;
  ThreadStats stats_;
  OpSource ops_;
  Timer stop_timer_;
  std::string ttl_ms_;
  std::vector<std::unique_ptr<RespConn>> conns_;
  int active_ = 0;
};

RespConn::RespConn(RespThread& t)
    : t_(t), sock_(t.io_.get_executor()), backoff_(t.io_.get_executor()) {
  in_.resize(64 * 1024);
}

void RespConn::Next() {
  if (!have_op_) {
    if (!t_.NextOp(op_)) return Finish();
    have_op_ = true;
  }
  if (!connected_) {
    return asio::async_connect(sock_, t_.endpoints_,
                               [this](const error_code& ec, const tcp::endpoint&) { OnConnect(ec); });
  }
  Send();
}

void RespConn::OnConnect(const error_code& ec) {
  if (ec) return TransportError("connect", ec);
  connected_ = true;
  error_code ignored;
  sock_.set_option(tcp::no_delay(true), ignored);
  in_used_ = 0;
  Send();
}

void RespConn::Send() {
  t_.BuildRequest(request_, op_);
  start_ = SteadyClock::now();
  asio::async_write(sock_, asio::buffer(request_), [this](const error_code& ec, size_t) {
    if (ec) return TransportError("write", ec);
    Read();
  });
}

void RespConn::Read() {
  if (in_.size() - in_used_ < 4096) in_.resize(in_.size() * 2);
  sock_.async_read_some(asio::buffer(in_.data() + in_used_, in_.size() - in_used_),
                        [this](const error_code& ec, size_t n) { OnRead(ec, n); });
}

void RespConn::OnRead(const error_code& ec, size_t n) {
  if (ec) return TransportError("read", ec);
  in_used_ += n;
  size_t consumed = 0;
  const Reply reply = ParseReply(std::string_view(in_.data(), in_used_), consumed, error_);
  if (reply == Reply::kIncomplete) return Read();
  const TimePoint now = SteadyClock::now();
  if (t_.Counted(now)) {
    ThreadStats& s = t_.stats_;
    s.latency.Record(static_cast<uint64_t>((now - start_).count()));
    (op_.get ? s.gets : s.sets)++;
    if (reply == Reply::kError) {
      s.AddError(std::string(op_.get ? "GET" : "SET") + " error: " + error_);
    } else if (reply == Reply::kMalformed) {
      s.AddError("malformed reply");
    } else if (op_.get) {
      (reply == Reply::kValue ? s.hits : s.misses)++;
    }
  }
  if (reply == Reply::kMalformed) {
    Close();
  } else {
    // One request in flight: nothing follows the reply.
    in_used_ = 0;
  }
  have_op_ = false;
  failures_ = 0;
  Next();
}

void RespConn::TransportError(const char* where, const error_code& ec) {
  if (ec == asio::error::operation_aborted) return;
  if (t_.Counted(SteadyClock::now())) {
    ThreadStats& s = t_.stats_;
    (op_.get ? s.gets : s.sets)++;
    s.AddError(std::string(where) + ": " + ec.message());
  }
  have_op_ = false;
  Close();
  ++failures_;
  if (t_.ph_.mode == Phase::Mode::kPrefill && failures_ >= 5) return Finish();
  if (failures_ == 1) return Next();
  const int shift = std::min(failures_, 7);
  backoff_.expires_after(std::chrono::milliseconds(4 << shift));
  backoff_.async_wait([this](const error_code& e) {
    if (!e) Next();
  });
}

void RespConn::Close() {
  error_code ignored;
  sock_.shutdown(tcp::socket::shutdown_both, ignored);
  sock_.close(ignored);
  connected_ = false;
}

void RespConn::Finish() {
  Close();
  t_.ConnDone();
}

}  // namespace

ThreadStats RunResp(const Workload& workload, const Phase& phase) {
  const Config& c = workload.config;
  asio::io_context io;
  tcp::resolver resolver(io);
  std::vector<tcp::endpoint> eps;
  for (const auto& r : resolver.resolve(c.host, c.port)) eps.push_back(r.endpoint());
  const int nthreads = EffectiveThreads(c);
  std::vector<std::unique_ptr<RespThread>> threads;
  for (int i = 0; i < nthreads; ++i) {
    const int n = c.connections / nthreads + (i < c.connections % nthreads ? 1 : 0);
    threads.push_back(std::make_unique<RespThread>(
        workload, phase, eps, n, phase.seed * 1000003 + static_cast<uint64_t>(i)));
  }
  return RunAndMerge(threads);
}

}  // namespace tierbench
