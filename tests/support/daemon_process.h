#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace tiercache::test {

// The daemon under test: the one built by this tree, or the program named by
// TIERCACHE_E2E_DAEMON (to run the tests against another build or an installed binary).
std::string DaemonPath();

struct DaemonOptions {
  // Written to tiercache.yaml in the daemon's temporary directory and passed as --config;
  // nullopt runs the embedded default (no --config).
  std::optional<std::string> config_yaml;
  // More command-line arguments, after --config and the listen flags.
  std::vector<std::string> extra_args;
  // How long to wait for GET /readyz to answer 200.
  std::chrono::milliseconds ready_timeout = std::chrono::seconds(20);
  // Also runs the caching proxy, on a fourth free port (--proxy-listen); the config must
  // have proxy.routes.
  bool proxy = false;
};

// A running `tiercached` on three free loopback ports (HTTP, gRPC and RESP), with its own
// temporary directory holding the config and the captured stderr.
//
// The constructor starts it with `--config FILE --http-listen 127.0.0.1:P --grpc-listen
// 127.0.0.1:Q --resp-listen 127.0.0.1:R` and returns once GET /readyz answers 200; it throws std::runtime_error (with
// the daemon's stderr) if the daemon exits or isn't ready in time. If the daemon exits
// because a port picked for it was taken meanwhile, it is started again on new ports.
// The destructor stops it: SIGTERM, then SIGKILL if it hasn't exited after a bound.
class DaemonProcess {
 public:
  DaemonProcess() : DaemonProcess(DaemonOptions{}) {}
  explicit DaemonProcess(std::string config_yaml);
  explicit DaemonProcess(DaemonOptions options);
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  uint16_t http_port() const { return http_port_; }
  uint16_t grpc_port() const { return grpc_port_; }
  uint16_t resp_port() const { return resp_port_; }
  uint16_t proxy_port() const { return proxy_port_; }  // with DaemonOptions::proxy
  // "127.0.0.1:Q", for gRPC channels.
  std::string grpc_target() const;
  pid_t pid() const { return pid_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  // What the daemon has written to stderr so far.
  std::string Stderr() const;

  // Sends `signal` to the daemon.
  void Signal(int signal);
  // Waits up to `timeout` for the daemon to exit; its exit status (the exit code, or 128 +
  // the signal that killed it), or nullopt if it is still running.
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout);
  bool running();

  // SIGTERM, then waits up to `timeout` (SIGKILL after it); returns the exit status.
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  // Starts the daemon once; true when ready, false if it exited early because a port
  // was in use (the caller may retry), throws otherwise.
  bool StartOnce(const DaemonOptions& options);

  TempDir dir_;
  uint16_t http_port_ = 0;
  uint16_t grpc_port_ = 0;
  uint16_t resp_port_ = 0;
  uint16_t proxy_port_ = 0;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

}  // namespace tiercache::test
