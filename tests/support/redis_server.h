#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/tier.h"
#include "tests/support/process.h"

namespace tiercache::test {

// A throwaway redis-server for tests: /usr/bin/redis-server on a free loopback port, without
// persistence, in a temporary directory (its log is redis.log there). Stopped by pid on
// destruction; a watchdog process stops it too if this process dies first (a test killed
// at its timeout). Throws std::runtime_error, with the server's log, when it cannot start.
class RedisServer {
 public:
  // `extra_args` are added to the command line ("--requirepass", "secret", ...).
  explicit RedisServer(std::vector<std::string> extra_args = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }
  // redis://127.0.0.1:port
  std::string url() const;

  // Stops the server (SIGTERM, SIGKILL after 5 s); a no-op if stopped. Its data is lost.
  void Stop();
  // Starts it again on the same port and waits until it answers PING.
  void Start();
  // Freezes it with SIGSTOP: connections are still accepted (by the kernel), nothing is
  // answered. Resume() continues it (SIGCONT).
  void Pause();
  void Resume();

  // Runs redis-cli with `args` and returns its output without the final newline (array
  // replies: one element a line). Throws if redis-cli fails or takes over 30 s.
  std::string Cli(const std::vector<std::string>& args) const;

 private:
  void Spawn();
  // False if it does not answer within `bound`; `exited` says whether it died (reaped).
  bool WaitUntilAnswering(std::chrono::milliseconds bound, bool& exited) const;
  void StartWatchdog();
  void StopWatchdog();

  std::vector<std::string> extra_args_;
  TempDir dir_;
  uint16_t port_ = 0;
  pid_t pid_ = 0;
  pid_t watchdog_ = 0;
  bool paused_ = false;
};

// Blocking calls into an asynchronous Tier, for tests. Each waits a bounded time for the
// callback, so that a lost callback fails the test (std::runtime_error) instead of hanging it.
class SyncTier {
 public:
  explicit SyncTier(Tier& tier, std::chrono::milliseconds bound = std::chrono::seconds(20))
      : tier_(tier), bound_(bound) {}

  Result<TierEntry> Get(std::string key) {
    return Await<Result<TierEntry>>([&](auto done) { tier_.Get(std::move(key), done); });
  }
  Status Set(std::string key, std::string value, std::vector<std::string> tags = {},
             Duration ttl = std::chrono::minutes(1)) {
    return Set(Write(std::move(key), std::move(value), std::move(tags), ttl));
  }
  Status Set(TierWrite write) {
    return Await<Status>([&](auto done) { tier_.Set(std::move(write), done); });
  }
  Status SetBatch(std::vector<TierWrite> writes) {
    return Await<Status>([&](auto done) { tier_.SetBatch(std::move(writes), done); });
  }
  Result<bool> Delete(std::string key) {
    return Await<Result<bool>>([&](auto done) { tier_.Delete(std::move(key), done); });
  }
  Result<uint64_t> InvalidateTags(std::vector<std::string> tags) {
    return Await<Result<uint64_t>>([&](auto done) { tier_.InvalidateTags(std::move(tags), done); });
  }
  Result<uint64_t> InvalidateMatching(std::shared_ptr<const KeyPattern> pattern) {
    return Await<Result<uint64_t>>(
        [&](auto done) { tier_.InvalidateMatching(std::move(pattern), done); });
  }
  Result<uint64_t> Clear() {
    return Await<Result<uint64_t>>([&](auto done) { tier_.Clear(done); });
  }
  Status Ping() {
    return Await<Status>([&](auto done) { tier_.Ping(done); });
  }
  Result<int64_t> AddToCounter(std::string name, int64_t delta) {
    return Await<Result<int64_t>>(
        [&](auto done) { tier_.AddToCounter(std::move(name), delta, done); });
  }

  static TierWrite Write(std::string key, std::string value, std::vector<std::string> tags = {},
                         Duration ttl = std::chrono::minutes(1)) {
    return TierWrite{std::move(key), std::make_shared<const std::string>(std::move(value)),
                     std::move(tags), ttl};
  }

  // Calls `start` with a callback and waits for its answer.
  template <class T, class Start>
  T Await(Start start) {
    auto promise = std::make_shared<std::promise<T>>();
    std::future<T> answer = promise->get_future();
    start([promise](T value) { promise->set_value(std::move(value)); });
    if (answer.wait_for(bound_) != std::future_status::ready) {
      throw std::runtime_error("the tier did not answer within the bound");
    }
    return answer.get();
  }

 private:
  Tier& tier_;
  std::chrono::milliseconds bound_;
};

}  // namespace tiercache::test
