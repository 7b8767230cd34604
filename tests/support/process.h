#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

// Processes, files and ports for tests that run programs: a temporary directory, free
// loopback ports, spawning a program with its output sent to files, and running one to
// completion with a bound on how long it may take.
namespace tiercache::test {

using std::chrono::milliseconds;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on
// destruction unless TIERCACHE_TEST_KEEP_TMP is set.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `contents` to `name` inside the directory; returns the file's path.
  std::filesystem::path WriteFile(const std::string& name, const std::string& contents) const;

 private:
  std::filesystem::path path_;
};

std::string ReadFile(const std::filesystem::path& path);

// `count` distinct TCP ports on 127.0.0.1 that were free a moment ago: each is bound to
// port 0 and read back, and all are closed together, so they differ from each other.
// Another process could still take one before it is used; callers that can, retry.
std::vector<uint16_t> PickFreePorts(size_t count);

// Calls `start(port)` on a port that was free a moment ago; another process may take it
// before the server binds it, so a start that throws std::runtime_error is tried again
// on a new port, three times in all. Returns the port the server started on.
template <class Start>
uint16_t StartOnFreePort(Start start) {
  for (int attempt = 1;; ++attempt) {
    const uint16_t port = PickFreePorts(1)[0];
    try {
      start(port);
      return port;
    } catch (const std::runtime_error&) {
      if (attempt == 3) throw;
    }
  }
}

// A listening socket on 127.0.0.1 with a kernel-chosen port, closed on destruction: for
// tests that need a port in use.
class PortHolder {
 public:
  PortHolder();
  ~PortHolder();
  PortHolder(const PortHolder&) = delete;
  PortHolder& operator=(const PortHolder&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// How a process ended: its exit code, or 128 + the signal that killed it.
int DecodeWaitStatus(int wait_status);

// Starts `argv[0]` (a path, not searched in PATH) with `argv`, stdin from /dev/null,
// stdout and stderr appended to the given files, default signal dispositions and an empty
// signal mask. `env` entries ("NAME=value") are added to (or replace) the environment.
// Throws std::runtime_error if it can't be started.
// posix_spawn of argv[0] with `actions`, every signal unblocked and the ones a test runner
// may have changed (TERM, INT, PIPE, HUP, CHLD) back to their defaults, so the child reacts
// as under a shell. Returns posix_spawn's error number (0 on success).
int SpawnWithDefaultSignals(pid_t& pid, char* const argv[],
                            const posix_spawn_file_actions_t& actions, char* const envp[]);

pid_t Spawn(const std::vector<std::string>& argv, const std::filesystem::path& stdout_path,
            const std::filesystem::path& stderr_path, const std::vector<std::string>& env = {});

// Waits up to `timeout` for `pid` to exit and reaps it; its DecodeWaitStatus, or nullopt
// if it is still running.
std::optional<int> WaitForExit(pid_t pid, milliseconds timeout);

struct CommandResult {
  int exit_code = -1;  // DecodeWaitStatus; -1 if it had to be killed at the timeout
  bool timed_out = false;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs a program to completion (SIGKILL after `timeout`) and captures its output.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         milliseconds timeout = std::chrono::seconds(30),
                         const std::vector<std::string>& env = {});

}  // namespace tiercache::test
