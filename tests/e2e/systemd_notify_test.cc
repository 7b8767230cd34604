// The daemon's sd_notify protocol, observed through a NOTIFY_SOCKET of the test's own, the
// way systemd observes a Type=notify service.

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/support/daemon_process.h"
#include "tests/support/process.h"

namespace tiercache::test {
namespace {

// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path.string().size() < sizeof(addr.sun_path));
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  }
  ~NotifySocket() { close(fd_); }

  // Everything received until a datagram containing `wanted` arrives or `timeout` passes.
  std::string ReceiveUntil(const std::string& wanted, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(wanted) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n > 0) received_.append(buf, static_cast<size_t>(n)).append("\n");
    }
    return received_;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::string received_;
};

TEST_CASE("tells systemd READY=1 once serving and STOPPING=1 when it drains",
          "[e2e][systemd]") {
  TempDir dir;
  NotifySocket notify(dir.path() / "notify.sock");
  setenv("NOTIFY_SOCKET", (dir.path() / "notify.sock").c_str(), 1);
  DaemonProcess daemon;
  unsetenv("NOTIFY_SOCKET");

  CHECK(notify.ReceiveUntil("READY=1", std::chrono::seconds(10)).find("READY=1") !=
        std::string::npos);
  daemon.Signal(SIGTERM);
  CHECK(notify.ReceiveUntil("STOPPING=1", std::chrono::seconds(10)).find("STOPPING=1") !=
        std::string::npos);
  CHECK(daemon.WaitForExit(std::chrono::seconds(20)) == std::optional<int>(0));
}

}  // namespace
}  // namespace tiercache::test
