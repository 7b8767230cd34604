#include "tiers/redis/redis_pool.h"

#include <hiredis/hiredis.h>

#include <condition_variable>
#include <functional>
#include <mutex>

namespace tiercache::redis {

Reply Reply::Of(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = Type::kString;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Type::kStatus;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Type::kArray;
      out.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) out.elements.push_back(Of(*r.element[i]));
      break;
    default:
      out.type = Type::kNil;
  }
  return out;
}

Pool::Pool(const ConnectionOptions& options, unsigned size, size_t max_queued, ServerClock& clock)
    : max_queued_(max_queued) {
  for (unsigned i = 0; i < size; ++i) {
    connections_.push_back(std::make_unique<Connection>(options, clock));
  }
}

size_t Pool::RouteOf(std::string_view key) const {
  return std::hash<std::string_view>()(key) % connections_.size();
}

Connection* Pool::Pick(size_t route, size_t adding, Status& refused) {
  size_t pending = 0;
  for (const auto& c : connections_) pending += c->load();
  if (pending + adding > max_queued_) {
    refused = Status::Unavailable(connections_.front()->label() + ": more than " +
                                  std::to_string(max_queued_) + " commands pending");
    return nullptr;
  }
  if (route < connections_.size()) return connections_[route].get();
  Connection* chosen = nullptr;
  for (const auto& c : connections_) {
    if (c->accepting() && (chosen == nullptr || c->load() < chosen->load())) chosen = c.get();
  }
  // None live: the first refuses with its last error (they share the endpoint), unless it
  // has just come back.
  return chosen != nullptr ? chosen : connections_.front().get();
}

void Pool::Submit(Command&& command, size_t route) {
  Status refused;
  if (Connection* c = Pick(route, 1, refused)) return c->Submit(std::move(command));
  command.done(refused);
}

void Pool::Submit(std::vector<Command>&& commands, size_t route) {
  if (commands.empty()) return;
  Status refused;
  if (Connection* c = Pick(route, commands.size(), refused)) {
    return c->Submit(std::move(commands));
  }
  for (Command& command : commands) command.done(refused);
}

std::vector<Result<Reply>> Pool::RoundTrip(std::vector<Command> commands) {
  // Shared with the callbacks, which may run after a (hypothetical) early return.
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    size_t left = 0;
    std::vector<Result<Reply>> results;
  };
  auto wait = std::make_shared<Wait>();
  wait->left = commands.size();
  wait->results.assign(commands.size(), Status::Unavailable("no reply"));
  for (size_t i = 0; i < commands.size(); ++i) {
    commands[i].done = [wait, i](ReplyResult r) {
      Result<Reply> copy = r.ok() ? Result<Reply>(Reply::Of(**r)) : Result<Reply>(r.status());
      std::lock_guard lock(wait->mu);
      wait->results[i] = std::move(copy);
      if (--wait->left == 0) wait->cv.notify_one();
    };
  }
  Submit(std::move(commands));
  std::unique_lock lock(wait->mu);
  wait->cv.wait(lock, [&] { return wait->left == 0; });
  return std::move(wait->results);
}

void Pool::Stop() {
  for (const auto& c : connections_) c->Stop();
}

}  // namespace tiercache::redis
