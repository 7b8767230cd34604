#include "server/resp/resp_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "server/listen_socket.h"
#include "server/resp/resp_commands.h"
#include "server/resp/resp_parser.h"

namespace tiercache {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// As in the HTTP server: one io_context per I/O thread, each connection owned by one, so
// its handlers never run concurrently and need no strand.
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Acceptor = ListenAcceptor;
using Timer = net::basic_waitable_timer<std::chrono::steady_clock,
                                        net::wait_traits<std::chrono::steady_clock>, Executor>;

namespace {

// Read at least this much at a time: a pipelined batch of small requests fits.
constexpr size_t kReadChunk = 16 * 1024;

class Connection;

// Whether replies coming from other threads may still be handed to the I/O threads: closed
// once they have stopped, so that a tier answering late reaches no stopped io_context.
struct DeliveryGate {
  std::mutex mu;
  bool open = true;
};

// Where a connection's replies go: the connection while it lives, nowhere once it or the
// server is gone. Reply slots hold this rather than the connection, so that a tier's late
// answer never owns (and so never destroys) a connection, whose socket belongs to its
// I/O thread.
class ReplyRoute final : public resp::ReplySink {
 public:
  ReplyRoute(std::weak_ptr<Connection> connection, std::shared_ptr<DeliveryGate> gate,
             Executor executor)
      : connection_(std::move(connection)), gate_(std::move(gate)), executor_(executor) {}

  void Deliver(uint64_t seq, std::string reply) override;
  resp::ReplyWriter* BeginDirect(uint64_t seq, resp::Protocol protocol) override;
  void EndDirect(uint64_t seq) override;

 private:
  std::weak_ptr<Connection> connection_;
  std::shared_ptr<DeliveryGate> gate_;
  Executor executor_;
  std::shared_ptr<Connection> writing_;  // between BeginDirect and EndDirect, on its thread
};

// The connections of one I/O thread, touched by that thread only.
struct ThreadState {
  explicit ThreadState(net::io_context& ioc) : ioc(ioc), sweep(ioc.get_executor()) {}
  net::io_context& ioc;
  Timer sweep;
  std::unordered_set<Connection*> connections;
};

struct ServerState {
  ServerState(RespServerOptions o, Service& service)
      : options(std::move(o)),
        connections(service.Connections(Frontend::Named("resp"))),
        dispatcher(service, CommandsOptions(options)) {}

  static resp::CommandOptions CommandsOptions(const RespServerOptions& o) {
    resp::CommandOptions c;
    c.frontend = Frontend::Named("resp");
    c.limits = o.limits;
    c.default_timeout = o.default_timeout;
    c.max_timeout = o.max_timeout;
    c.version = o.version;
    c.port = o.port;
    c.io_threads = o.io_threads;
    c.max_connections = o.max_connections;
    c.idle_timeout = o.idle_timeout;
    return c;
  }

  RespServerOptions options;
  ConnectionMetrics& connections;
  resp::Dispatcher dispatcher;
  std::atomic<bool> draining{false};
  std::shared_ptr<DeliveryGate> gate = std::make_shared<DeliveryGate>();
};

class Connection final : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Socket&& socket, ServerState& state, ThreadState& thread)
      : socket_(std::move(socket)),
        state_(state),
        thread_(thread),
        parser_(resp::ParserLimits{
            1024 * 1024, static_cast<size_t>(state.options.limits.max_request_body_bytes),
            64 * 1024}) {
    connections_.open.fetch_add(1, std::memory_order_relaxed);
    session_.id = state_.dispatcher.NextClientId();
  }

  // The counters are the service's, which outlives every connection.
  ~Connection() { connections_.open.fetch_sub(1, std::memory_order_relaxed); }

  // On the connection's own thread.
  void Start() {
    route_ = std::make_shared<ReplyRoute>(weak_from_this(), state_.gate, socket_.get_executor());
    thread_.connections.insert(this);
    last_active_ = std::chrono::steady_clock::now();
    if (state_.draining.load(std::memory_order_acquire)) return Close();
    StartRead();
  }

  // At shutdown: finish what was read, then close.
  void Drain() {
    closing_ = true;
    FinishIfDone();
  }
  // After the I/O threads stopped: closed with replies still owed (past the shutdown
  // timeout), which nothing will deliver now.
  void Abandon() { Close(); }

  // Idle past the timeout, with nothing in flight: closed, as a Redis `timeout` does.
  void CloseIfIdle(std::chrono::steady_clock::time_point now) {
    if (!write_in_flight_ && next_due_ == next_seq_ &&
        now - last_active_ > state_.options.idle_timeout) {
      Close();
    }
  }

  // --- Replies, on the connection's own thread (ReplyRoute brings them here) ---
  resp::ReplyWriter* BeginDirect(uint64_t seq, resp::Protocol protocol) {
    if (seq != next_due_) return nullptr;
    direct_.emplace(out_, protocol);
    return &*direct_;
  }

  void EndDirect() {
    ++next_due_;
    TakeEarly();
    if (!processing_) AfterReplies();
  }

 private:
  size_t Backlog() const { return static_cast<size_t>(next_seq_ - next_due_); }
  bool BacklogFull() const {
    return Backlog() >= state_.options.max_pending_replies ||
           out_.size() + early_bytes_ >= state_.options.max_pending_reply_bytes;
  }

  void StartRead() {
    if (reading_ || closing_ || closed_ || peer_done_ || BacklogFull()) return;
    // Room for the next read: the unread bytes move to the front, and a bulk whose
    // length is known gets room for all of it at once.
    if (in_start_ > 0 && (in_start_ == in_end_ || in_.size() - in_end_ < kReadChunk)) {
      std::copy(in_.begin() + static_cast<std::ptrdiff_t>(in_start_),
                in_.begin() + static_cast<std::ptrdiff_t>(in_end_), in_.begin());
      in_end_ -= in_start_;
      in_start_ = 0;
    }
    const size_t want = std::max(in_end_ + kReadChunk, in_start_ + needed_);
    if (in_.size() < want) in_.resize(want);
    reading_ = true;
    socket_.async_read_some(
        net::buffer(in_.data() + in_end_, in_.size() - in_end_),
        [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
          self->OnRead(ec, n);
        });
  }

  void OnRead(const boost::system::error_code& ec, size_t n) {
    reading_ = false;
    if (ec == net::error::eof) {
      // The client has sent all it will (a script piping requests in): what it sent is
      // answered, then the connection closes.
      peer_done_ = true;
      return FinishIfDone();
    }
    if (ec) return Close();  // reset, or closed here: replies owed have no one to go to
    in_end_ += n;
    last_active_ = std::chrono::steady_clock::now();
    Process();
  }

  // Runs every whole request buffered, as long as the replies owed stay within bounds.
  void Process() {
    processing_ = true;
    while (!closing_ && !closed_ && in_end_ - in_start_ >= needed_) {
      if (BacklogFull()) {
        // Resumed once the client has taken some replies (AfterReplies).
        paused_ = true;
        break;
      }
      const std::string_view input(in_.data() + in_start_, in_end_ - in_start_);
      resp::ParseResult r = parser_.Parse(input, args_);
      if (r.outcome == resp::ParseOutcome::kNeedMore) {
        // Parsed again only once more bytes came: at least one, or the whole bulk.
        needed_ = std::max(r.needed, input.size() + 1);
        break;
      }
      needed_ = 0;
      if (r.outcome == resp::ParseOutcome::kError) {
        // Redis answers the error after the replies owed, then closes: what follows a
        // broken frame cannot be trusted to be a request.
        Store(next_seq_++, "-ERR " + r.error + "\r\n");
        closing_ = true;
        in_start_ = in_end_ = 0;
        break;
      }
      if (r.outcome == resp::ParseOutcome::kCommand) {
        // Replies owed keep the connection: a tier answering later reaches it through a
        // weak route, and while reading is paused nothing else may hold it.
        if (!owed_self_) owed_self_ = shared_from_this();
        const uint64_t seq = next_seq_++;
        state_.dispatcher.Execute(session_, args_, resp::ReplySlot(route_, seq, session_.protocol));
        if (session_.quit) closing_ = true;
      }
      in_start_ += r.consumed;
    }
    if (in_start_ == in_end_) in_start_ = in_end_ = 0;
    processing_ = false;
    AfterReplies();
  }

  // A reply that came in on this thread, in or out of turn.
 public:
  void Store(uint64_t seq, std::string reply) {
    if (closed_) return;
    if (seq != next_due_) {
      early_bytes_ += reply.size();
      early_.emplace(seq, std::move(reply));
      return;
    }
    out_.append(reply);
    ++next_due_;
    TakeEarly();
    if (!processing_) AfterReplies();
  }

 private:
  void TakeEarly() {
    for (auto it = early_.begin(); it != early_.end() && it->first == next_due_;
         it = early_.erase(it)) {
      early_bytes_ -= it->second.size();
      out_.append(it->second);
      ++next_due_;
    }
  }

  // Writes what is ready; reads more when there is room; closes when told to and done.
  // Every caller holds the connection (its handler's own reference), so letting go of
  // owed_self_ here never destroys it underfoot.
  void AfterReplies() {
    if (closed_) return;
    if (next_due_ == next_seq_) owed_self_.reset();
    ScheduleWrite();
    if (paused_ && !BacklogFull() && !processing_) {
      // Requests left in the buffer when the backlog was full run now.
      paused_ = false;
      return Process();
    }
    if (!closing_ && !paused_) StartRead();
    FinishIfDone();
  }

  // Writes once the handlers already queued on this thread have run (the other
  // connections' reads of the same wakeup), as Redis writes its replies before it sleeps
  // again: a client with many connections then finds many replies at once instead of
  // waking for each, which on a host shared with it costs both sides less.
  void ScheduleWrite() {
    if (write_posted_ || write_in_flight_ || out_.empty()) return;
    write_posted_ = true;
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      self->write_posted_ = false;
      self->Write();
      self->FinishIfDone();
    });
  }

  void Write() {
    if (write_in_flight_ || out_.empty() || closed_) return;
    writing_.swap(out_);
    out_.clear();
    write_in_flight_ = true;
    net::async_write(socket_, net::buffer(writing_),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       self->OnWrite(ec);
                     });
  }

  void OnWrite(const boost::system::error_code& ec) {
    write_in_flight_ = false;
    writing_.clear();
    if (ec) return Close();
    last_active_ = std::chrono::steady_clock::now();
    AfterReplies();
  }

  void FinishIfDone() {
    // After the client's end of stream, requests still buffered (paused) run first.
    const bool nothing_more = closing_ || (peer_done_ && !paused_);
    if (nothing_more && !closed_ && !write_in_flight_ && !write_posted_ && out_.empty() &&
        next_due_ == next_seq_) {
      Close();
    }
  }

  void Close() {
    if (closed_) return;
    // Kept alive to the end of this call: the caller may hold it by a plain pointer.
    const std::shared_ptr<Connection> keep = std::move(owed_self_);
    closed_ = true;
    thread_.connections.erase(this);
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    early_.clear();
    early_bytes_ = 0;
  }

  Socket socket_;
  ServerState& state_;
  ConnectionMetrics& connections_ = state_.connections;
  std::shared_ptr<ReplyRoute> route_;
  ThreadState& thread_;
  resp::Parser parser_;
  resp::Session session_;
  std::vector<std::string_view> args_;
  std::string in_;  // requests read: [in_start_, in_end_) not parsed yet
  size_t in_start_ = 0, in_end_ = 0;
  size_t needed_ = 0;  // parse again once this many bytes from in_start_ are buffered
  std::string out_;      // replies ready, not yet being written
  std::string writing_;  // the write in flight
  std::optional<resp::ReplyWriter> direct_;
  std::map<uint64_t, std::string> early_;  // replies that came before their turn
  size_t early_bytes_ = 0;                 // their size, counted in the backlog
  uint64_t next_seq_ = 0;  // the next request's number
  uint64_t next_due_ = 0;  // the next reply to append to out_
  std::chrono::steady_clock::time_point last_active_;
  bool reading_ = false, write_in_flight_ = false, processing_ = false;
  bool closing_ = false, closed_ = false;
  bool paused_ = false;     // requests wait in the buffer until replies drain
  // Set while replies are owed (next_due_ < next_seq_), released once they are all sent
  // or the connection closes.
  std::shared_ptr<Connection> owed_self_;
  bool write_posted_ = false;  // a write is queued behind this thread's other handlers
  bool peer_done_ = false;  // the client sent its end of stream
};

void ReplyRoute::Deliver(uint64_t seq, std::string reply) {
  if (executor_.running_in_this_thread()) {
    if (auto c = connection_.lock()) c->Store(seq, std::move(reply));
    return;
  }
  std::lock_guard lock(gate_->mu);
  if (!gate_->open) return;  // the server has stopped: nobody to answer
  auto c = connection_.lock();
  if (!c) return;  // the connection is gone: its client left
  net::post(executor_, [c, seq, reply = std::move(reply)]() mutable {
    c->Store(seq, std::move(reply));
  });
}

resp::ReplyWriter* ReplyRoute::BeginDirect(uint64_t seq, resp::Protocol protocol) {
  if (!executor_.running_in_this_thread()) return nullptr;
  writing_ = connection_.lock();
  resp::ReplyWriter* writer = writing_ ? writing_->BeginDirect(seq, protocol) : nullptr;
  if (writer == nullptr) writing_.reset();
  return writer;
}

void ReplyRoute::EndDirect(uint64_t) {
  writing_->EndDirect();
  writing_.reset();
}

void SweepIdle(ThreadState& thread, Duration idle_timeout) {
  const auto period = std::clamp<Duration>(idle_timeout / 4, std::chrono::milliseconds(100),
                                           std::chrono::seconds(1));
  thread.sweep.expires_after(period);
  thread.sweep.async_wait([&thread, idle_timeout](const boost::system::error_code& ec) {
    if (ec) return;
    const auto now = std::chrono::steady_clock::now();
    // Copied: closing removes a connection from the set.
    const std::vector<Connection*> all(thread.connections.begin(), thread.connections.end());
    for (Connection* c : all) c->CloseIfIdle(now);
    SweepIdle(thread, idle_timeout);
  });
}

}  // namespace

struct RespServer::Impl {
  Impl(RespServerOptions options, Service& service) : state(std::move(options), service) {
    const unsigned n = std::max(1u, state.options.io_threads);
    for (unsigned i = 0; i < n; ++i) {
      iocs.push_back(std::make_unique<net::io_context>(1));
      work.push_back(net::make_work_guard(*iocs.back()));
      threads_state.push_back(std::make_unique<ThreadState>(*iocs.back()));
    }
  }

  void Accept() {
    const size_t target = next++ % iocs.size();
    acceptor->async_accept(iocs[target]->get_executor(),
                           [this, target](const boost::system::error_code& ec, Socket socket) {
                             OnAccept(ec, std::move(socket), target);
                           });
  }

  void OnAccept(const boost::system::error_code& ec, Socket socket, size_t target) {
    if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
    if (ec) {
      spdlog::warn("resp: accept failed: {}", ec.message());
      retry->expires_after(std::chrono::milliseconds(50));
      retry->async_wait([this](const boost::system::error_code& e) {
        if (!e) Accept();
      });
      return;
    }
    state.connections.accepted.fetch_add(1, std::memory_order_relaxed);
    const auto open = state.connections.open.load(std::memory_order_relaxed);
    boost::system::error_code opt_ec;
    if (open >= 0 && static_cast<uint64_t>(open) >= state.options.max_connections) {
      // Redis's own words, best effort and without blocking.
      state.connections.rejected.fetch_add(1, std::memory_order_relaxed);
      static constexpr std::string_view kFull = "-ERR max number of clients reached\r\n";
      socket.non_blocking(true, opt_ec);
      socket.write_some(net::buffer(kFull.data(), kFull.size()), opt_ec);
      socket.close(opt_ec);
    } else {
      socket.set_option(tcp::no_delay(true), opt_ec);
      auto connection =
          std::make_shared<Connection>(std::move(socket), state, *threads_state[target]);
      net::dispatch(iocs[target]->get_executor(), [connection] { connection->Start(); });
    }
    Accept();
  }

  ServerState state;
  std::vector<std::unique_ptr<net::io_context>> iocs;
  std::vector<net::executor_work_guard<Executor>> work;
  std::vector<std::unique_ptr<ThreadState>> threads_state;
  std::optional<Acceptor> acceptor;
  std::optional<Timer> retry;
  size_t next = 0;
  std::vector<std::thread> threads;
};

RespServer::RespServer(RespServerOptions options, Service& service)
    : impl_(std::make_unique<Impl>(std::move(options), service)) {}

RespServer::~RespServer() {
  if (!impl_->threads.empty()) Shutdown(std::chrono::seconds(0));
}

Status RespServer::Start() {
  const auto& options = impl_->state.options;
  auto endpoint = ListenEndpoint(options.host, options.port, "RESP");
  if (!endpoint.ok()) return endpoint.status();
  impl_->acceptor.emplace(impl_->iocs[0]->get_executor());
  impl_->retry.emplace(impl_->iocs[0]->get_executor());
  auto& acceptor = *impl_->acceptor;
  if (Status s = Listen(acceptor, *endpoint); !s.ok()) return s;
  impl_->state.dispatcher.set_port(acceptor.local_endpoint().port());
  net::dispatch(acceptor.get_executor(), [impl = impl_.get()] { impl->Accept(); });
  for (auto& t : impl_->threads_state) {
    net::dispatch(t->ioc.get_executor(), [t = t.get(), idle = options.idle_timeout] {
      SweepIdle(*t, idle);
    });
  }
  for (auto& ioc : impl_->iocs) {
    impl_->threads.emplace_back([ctx = ioc.get()] { ctx->run(); });
  }
  return Status::Ok();
}

void RespServer::Shutdown(Duration timeout) {
  if (impl_->threads.empty()) return;
  impl_->state.draining.store(true, std::memory_order_release);
  net::post(impl_->iocs[0]->get_executor(), [impl = impl_.get()] {
    boost::system::error_code ec;
    impl->retry->cancel();
    impl->acceptor->close(ec);
  });
  for (auto& t : impl_->threads_state) {
    net::post(t->ioc.get_executor(), [t = t.get()] {
      t->sweep.cancel();
      const std::vector<Connection*> all(t->connections.begin(), t->connections.end());
      for (Connection* c : all) c->Drain();
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (impl_->state.connections.open.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto left = impl_->state.connections.open.load();
  if (left > 0) spdlog::warn("resp: {} connections still open at shutdown; closing them", left);
  impl_->work.clear();
  for (auto& ioc : impl_->iocs) ioc->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  {
    std::lock_guard lock(impl_->state.gate->mu);
    impl_->state.gate->open = false;
  }
  // The threads are gone: what is left is touched from here alone.
  for (auto& t : impl_->threads_state) {
    const std::vector<Connection*> all(t->connections.begin(), t->connections.end());
    for (Connection* c : all) c->Abandon();
  }
}

uint16_t RespServer::port() const {
  if (!impl_->acceptor || !impl_->acceptor->is_open()) return 0;
  boost::system::error_code ec;
  const auto endpoint = impl_->acceptor->local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

}  // namespace tiercache
