#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

struct redisReply;  // hiredis; only the .cc files include it

namespace tiercache::redis {

// The arguments of one command. A value shared with L1 and the write-behind queue is held,
// not copied, until the command is formatted for the socket.
class Args {
 public:
  Args() = default;
  Args(std::initializer_list<std::string_view> args) {
    for (std::string_view a : args) Add(std::string(a));
  }

  Args& Add(std::string arg) {
    bytes_ += arg.size();
    pieces_.push_back({std::move(arg), nullptr});
    return *this;
  }
  Args& AddShared(std::shared_ptr<const std::string> arg) {
    bytes_ += arg->size();
    pieces_.push_back({std::string(), std::move(arg)});
    return *this;
  }

  // Room for `n` arguments in all: a batch of thousands would otherwise move its pieces
  // again and again as it grows.
  void Reserve(size_t n) { pieces_.reserve(n); }
  size_t size() const { return pieces_.size(); }
  // The bytes of all arguments together.
  size_t bytes() const { return bytes_; }
  std::string_view operator[](size_t i) const {
    const Piece& p = pieces_[i];
    return p.shared ? std::string_view(*p.shared) : std::string_view(p.owned);
  }

 private:
  struct Piece {
    std::string owned;
    std::shared_ptr<const std::string> shared;
  };
  std::vector<Piece> pieces_;
  size_t bytes_ = 0;
};

// What a command gets back: the reply (valid only during the call, never an error reply)
// or why there is none: kUnavailable (connection down, error reply, shutting down) or
// kDeadlineExceeded (no reply within the command timeout).
using ReplyResult = Result<const redisReply*>;
using ReplyCallback = std::function<void(ReplyResult)>;

// One command for a connection. With `script` set, `args` are those of EVALSHA after the
// sha (numkeys, keys..., argv...); the connection knows the sha.
struct Command {
  Command() = default;
  explicit Command(Args a, int script_id = -1, ReplyCallback callback = nullptr)
      : args(std::move(a)), script(script_id), done(std::move(callback)) {}

  Args args;
  int script = -1;  // a ScriptId, or -1 for a plain command
  ReplyCallback done;
  bool resent = false;  // sent again as EVAL after a NOSCRIPT reply
};

}  // namespace tiercache::redis
