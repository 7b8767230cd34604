#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/frontend.h"
#include "core/service.h"
#include "server/resp/resp_reply.h"

namespace tiercache::resp {

// Where a request's reply goes. Replies may be made in any order and on any thread (a
// tier's answer comes on the tier's thread); the sink sends them in request order.
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  // Hands over request `seq`'s encoded reply.
  virtual void Deliver(uint64_t seq, std::string reply) = 0;
  // A writer straight onto the output, when the caller is on the connection's own thread
  // and `seq` is the next reply due: the common case of an L1 hit, which then costs no
  // copy and no allocation. Null otherwise. A non-null writer must be followed by
  // EndDirect(seq) once the reply is written.
  virtual ReplyWriter* BeginDirect(uint64_t seq, Protocol protocol) {
    (void)seq, (void)protocol;
    return nullptr;
  }
  virtual void EndDirect(uint64_t seq) { (void)seq; }
};

// One request's answer: encoded once, into the connection's output when it can be.
class ReplySlot {
 public:
  ReplySlot(std::shared_ptr<ReplySink> sink, uint64_t seq, Protocol protocol)
      : sink_(std::move(sink)), seq_(seq), protocol_(protocol) {}

  Protocol protocol() const { return protocol_; }

  // Calls `encode(ReplyWriter&)` to write the reply.
  template <class Encode>
  void Send(Encode&& encode) const {
    if (ReplyWriter* direct = sink_->BeginDirect(seq_, protocol_)) {
      encode(*direct);
      sink_->EndDirect(seq_);
      return;
    }
    std::string bytes;
    ReplyWriter writer(bytes, protocol_);
    encode(writer);
    sink_->Deliver(seq_, std::move(bytes));
  }
  void Error(std::string_view text) const {
    Send([&](ReplyWriter& w) { w.Error(text); });
  }
  void Ok() const {
    Send([](ReplyWriter& w) { w.Ok(); });
  }

 private:
  std::shared_ptr<ReplySink> sink_;
  uint64_t seq_;
  Protocol protocol_;
};

// What one connection remembers between requests.
struct Session {
  uint64_t id = 0;
  Protocol protocol = Protocol::kResp2;
  std::string name;
  std::string lib_name, lib_version;
  // MULTI: the requests queued, and whether one was refused (EXEC then aborts).
  bool in_multi = false;
  bool multi_refused = false;
  std::vector<std::vector<std::string>> queued;
  // WATCH: each key with the value it held then (nullopt: absent). EXEC aborts if any
  // differs when it runs. Shared with the reads that fill it in, which may answer on a
  // tier's thread.
  struct WatchList {
    std::mutex mu;
    std::vector<std::pair<std::string, std::optional<std::string>>> keys;
    size_t reading = 0;  // reads not answered yet
  };
  std::shared_ptr<WatchList> watched = std::make_shared<WatchList>();
  bool quit = false;  // QUIT: close once the reply is sent
};

// What the commands need to know of the server around them.
struct CommandOptions {
  Frontend frontend = Frontend::Internal();
  Limits limits;
  Duration default_timeout = std::chrono::seconds(300);
  Duration max_timeout = std::chrono::hours(24 * 365);
  std::string version;  // tiercache's
  uint16_t port = 0;
  unsigned io_threads = 1;
  uint64_t max_connections = 0;
  Duration idle_timeout{0};
};

class Commands;

// The Redis commands tiercache answers, over the service seam. Thread-safe: the state of
// a connection is its Session, which only its own thread touches.
class Dispatcher {
 public:
  Dispatcher(Service& service, CommandOptions options);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Runs one request (`args` non-empty, views valid only during the call) and answers it
  // through `reply`, exactly once.
  void Execute(Session& session, const std::vector<std::string_view>& args, ReplySlot reply);

  // A new connection's id, as CLIENT ID tells it.
  uint64_t NextClientId() { return next_client_id_.fetch_add(1, std::memory_order_relaxed); }
  void set_port(uint16_t port) { options_.port = port; }

 private:
  friend class Commands;
  CommandOptions options_;
  Service& service_;
  std::atomic<uint64_t> next_client_id_{1};
  std::unique_ptr<Commands> commands_;
};

}  // namespace tiercache::resp
