#include "tests/support/redis_server.h"

#include <signal.h>
#include <unistd.h>

#include <stdexcept>

namespace tiercache::test {

namespace {

const std::string kServer = "/usr/bin/redis-server";
const std::string kCli = "/usr/bin/redis-cli";
constexpr milliseconds kStartBound = std::chrono::seconds(10);

}  // namespace

RedisServer::RedisServer(std::vector<std::string> extra_args) : extra_args_(std::move(extra_args)) {
  StartOnFreePort([this](uint16_t port) {
    port_ = port;
    Start();
  });
}

RedisServer::~RedisServer() {
  Stop();
  StopWatchdog();
}

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

void RedisServer::Spawn() {
  std::vector<std::string> argv = {kServer, "--port", std::to_string(port_), "--bind", "127.0.0.1"};
  // No persistence: a stopped server comes back empty.
  argv.insert(argv.end(), {"--save", "", "--appendonly", "no", "--dir", dir_.path().string()});
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  const auto log = dir_.path() / "redis.log";
  pid_ = test::Spawn(argv, log, log);
}

void RedisServer::Start() {
  if (pid_ > 0) return;
  Spawn();
  bool exited = false;
  if (!WaitUntilAnswering(kStartBound, exited)) {
    if (!exited) {
      ::kill(pid_, SIGKILL);
      WaitForExit(pid_, std::chrono::seconds(5));
    }
    pid_ = 0;
    throw std::runtime_error("redis-server on port " + std::to_string(port_) +
                             " did not answer PING: " + ReadFile(dir_.path() / "redis.log"));
  }
  StartWatchdog();
}

bool RedisServer::WaitUntilAnswering(milliseconds bound, bool& exited) const {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    exited = WaitForExit(pid_, milliseconds(0)).has_value();  // and reaped; port taken?
    if (exited) return false;
    const CommandResult r = RunCommand(
        {kCli, "-h", "127.0.0.1", "-p", std::to_string(port_), "PING"}, std::chrono::seconds(5));
    // NOAUTH: it answers, but wants the password given in the extra arguments.
    if (r.exit_code == 0 && (r.out.starts_with("PONG") || r.out.starts_with("NOAUTH"))) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

void RedisServer::Stop() {
  if (pid_ <= 0) return;
  Resume();
  ::kill(pid_, SIGTERM);
  if (!WaitForExit(pid_, std::chrono::seconds(5)).has_value()) {
    ::kill(pid_, SIGKILL);
    WaitForExit(pid_, std::chrono::seconds(5));
  }
  pid_ = 0;
  StopWatchdog();
}

void RedisServer::Pause() {
  if (pid_ <= 0 || paused_) return;
  ::kill(pid_, SIGSTOP);
  paused_ = true;
}

void RedisServer::Resume() {
  if (!paused_) return;
  ::kill(pid_, SIGCONT);
  paused_ = false;
}

std::string RedisServer::Cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {kCli, "-h", "127.0.0.1", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = RunCommand(argv, std::chrono::seconds(30));
  if (r.exit_code != 0) {
    throw std::runtime_error("redis-cli failed (exit " + std::to_string(r.exit_code) +
                             "): " + r.out + r.err);
  }
  std::string out = r.out;
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void RedisServer::StartWatchdog() {
  const std::string script = "while kill -0 " + std::to_string(::getpid()) +
                             " 2>/dev/null; do sleep 0.5; done; kill -9 " + std::to_string(pid_) +
                             " 2>/dev/null";
  watchdog_ = test::Spawn({"/bin/sh", "-c", script}, "/dev/null", "/dev/null");
}

void RedisServer::StopWatchdog() {
  if (watchdog_ <= 0) return;
  ::kill(watchdog_, SIGKILL);
  WaitForExit(watchdog_, std::chrono::seconds(5));
  watchdog_ = 0;
}

}  // namespace tiercache::test
