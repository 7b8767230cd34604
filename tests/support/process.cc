#include "tests/support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

extern char** environ;

namespace tiercache::test {

namespace {

std::runtime_error SystemError(const std::string& what, int error = errno) {
  return std::runtime_error(what + ": " + std::strerror(error));
}

// A TCP socket bound to 127.0.0.1 on a kernel-chosen port; returns the fd and the port.
std::pair<int, uint16_t> BindLoopback() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw SystemError("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int error = errno;
    ::close(fd);
    throw SystemError("bind 127.0.0.1:0", error);
  }
  return {fd, ntohs(addr.sin_port)};
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/tiercache-e2e-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw SystemError("mkdtemp " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  if (std::getenv("TIERCACHE_TEST_KEEP_TMP") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::WriteFile(const std::string& name,
                                         const std::string& contents) const {
  const std::filesystem::path file = path_ / name;
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << contents;
  if (!out) throw std::runtime_error("cannot write " + file.string());
  return file;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<uint16_t> PickFreePorts(size_t count) {
  std::vector<std::pair<int, uint16_t>> held;
  for (size_t i = 0; i < count; ++i) held.push_back(BindLoopback());
  std::vector<uint16_t> ports;
  for (auto& [fd, port] : held) {
    ::close(fd);
    ports.push_back(port);
  }
  return ports;
}

PortHolder::PortHolder() {
  std::tie(fd_, port_) = BindLoopback();
  if (::listen(fd_, 16) != 0) {
    const int error = errno;
    ::close(fd_);
    throw SystemError("listen", error);
  }
}

PortHolder::~PortHolder() { ::close(fd_); }

int DecodeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

int SpawnWithDefaultSignals(pid_t& pid, char* const argv[],
                            const posix_spawn_file_actions_t& actions, char* const envp[]) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv, envp);
  posix_spawnattr_destroy(&attr);
  return rc;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::filesystem::path& stdout_path,
            const std::filesystem::path& stderr_path, const std::vector<std::string>& env) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  // The environment: ours, with `env` entries replacing those of the same name.
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& extra : env) {
      if (std::string_view(extra).substr(0, extra.find('=')) == name) replaced = true;
    }
    if (!replaced) environment.emplace_back(entry);
  }
  environment.insert(environment.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  // Nothing else of ours: a child holding a copy of a test's listening socket keeps the
  // port open (connections queue unanswered) after the test closed its own.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);

  pid_t pid = 0;
  const int rc = SpawnWithDefaultSignals(pid, args.data(), actions, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw SystemError("posix_spawn " + argv[0], rc);
  return pid;
}

std::optional<int> WaitForExit(pid_t pid, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return DecodeWaitStatus(status);
    if (r < 0 && errno != EINTR) throw SystemError("waitpid");
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

CommandResult RunCommand(const std::vector<std::string>& argv, milliseconds timeout,
                         const std::vector<std::string>& env) {
  TempDir dir;
  const auto out_path = dir.path() / "stdout";
  const auto err_path = dir.path() / "stderr";
  const pid_t pid = Spawn(argv, out_path, err_path, env);
  CommandResult result;
  if (auto status = WaitForExit(pid, timeout)) {
    result.exit_code = *status;
  } else {
    result.timed_out = true;
    ::kill(pid, SIGKILL);
    WaitForExit(pid, std::chrono::seconds(30));
  }
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

}  // namespace tiercache::test
