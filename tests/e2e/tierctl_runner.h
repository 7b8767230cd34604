#pragma once

// Running tierctl (and tmux, for a terminal) from the end-to-end tests. TIERCTL_PATH is
// defined by tests/e2e/CMakeLists.txt.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/daemon_process.h"
#include "tests/support/process.h"

namespace tiercache::test {

// Runs tierctl with `args`, after the global options that point it at `server`.
inline CommandResult Tierctl(const std::string& server, std::vector<std::string> args,
                             std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  std::vector<std::string> argv = {TIERCTL_PATH, "--server", server};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout);
}

inline CommandResult Tierctl(const DaemonProcess& daemon, std::vector<std::string> args) {
  return Tierctl(daemon.grpc_target(), std::move(args));
}

// tmux on its own server socket, so that tests never touch a user's sessions.
inline CommandResult Tmux(const std::string& socket, std::vector<std::string> args) {
  std::vector<std::string> argv = {"/usr/bin/tmux", "-S", socket};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, std::chrono::seconds(10));
}

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace tiercache::test

#define TIERCTL_CAPTURE(r) \
  INFO("exit " << (r).exit_code << "\nstdout:\n" << (r).out << "stderr:\n" << (r).err)
