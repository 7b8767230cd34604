#include "tests/support/daemon_process.h"

#include <signal.h>

#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "tests/support/http_client.h"

namespace tiercache::test {

namespace {

constexpr int kStartAttempts = 3;

}  // namespace

std::string DaemonPath() {
  const char* override_path = std::getenv("TIERCACHE_E2E_DAEMON");
  return override_path && *override_path ? override_path : TIERCACHE_DAEMON_PATH;
}

DaemonProcess::DaemonProcess(std::string config_yaml)
    : DaemonProcess(DaemonOptions{std::move(config_yaml), {}}) {}

DaemonProcess::DaemonProcess(DaemonOptions options) {
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    if (StartOnce(options)) return;
  }
  throw std::runtime_error("tiercached did not start: its ports were taken " +
                           std::to_string(kStartAttempts) + " times; stderr:\n" + Stderr());
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0 && !exit_status_) Stop(std::chrono::seconds(30));
}

std::string DaemonProcess::grpc_target() const { return "127.0.0.1:" + std::to_string(grpc_port_); }

std::string DaemonProcess::Stderr() const { return ReadFile(dir() / "stderr.log"); }

bool DaemonProcess::StartOnce(const DaemonOptions& options) {
  const std::vector<uint16_t> ports = PickFreePorts(options.proxy ? 4 : 3);
  http_port_ = ports[0];
  grpc_port_ = ports[1];
  resp_port_ = ports[2];
  proxy_port_ = options.proxy ? ports[3] : 0;
  exit_status_.reset();

  std::vector<std::string> argv = {DaemonPath()};
  if (options.config_yaml) {
    argv.push_back("--config");
    argv.push_back(dir_.WriteFile("tiercache.yaml", *options.config_yaml).string());
  }
  argv.push_back("--http-listen");
  argv.push_back("127.0.0.1:" + std::to_string(http_port_));
  argv.push_back("--grpc-listen");
  argv.push_back(grpc_target());
  argv.push_back("--resp-listen");
  argv.push_back("127.0.0.1:" + std::to_string(resp_port_));
  if (options.proxy) {
    argv.push_back("--proxy-listen");
    argv.push_back("127.0.0.1:" + std::to_string(proxy_port_));
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  std::filesystem::remove(dir() / "stderr.log");
  pid_ = Spawn(argv, dir() / "stdout.log", dir() / "stderr.log");

  const auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto status = test::WaitForExit(pid_, std::chrono::milliseconds(0))) {
      exit_status_ = status;
      const std::string err = Stderr();
      if (*status == 1 && err.find("cannot listen") != std::string::npos) return false;
      throw std::runtime_error("tiercached exited with status " + std::to_string(*status) +
                               " before it was ready; stderr:\n" + err);
    }
    HttpClient probe(http_port_, std::chrono::seconds(2));
    const HttpOutcome outcome = probe.TryRequest("GET", "/readyz");
    if (outcome.ok() && outcome.response.status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Stop(std::chrono::seconds(10));
  throw std::runtime_error("tiercached was not ready within " +
                           std::to_string(options.ready_timeout.count()) + " ms; stderr:\n" +
                           Stderr());
}

void DaemonProcess::Signal(int signal) {
  if (pid_ > 0 && !exit_status_) ::kill(pid_, signal);
}

std::optional<int> DaemonProcess::WaitForExit(std::chrono::milliseconds timeout) {
  if (!exit_status_ && pid_ > 0) exit_status_ = test::WaitForExit(pid_, timeout);
  return exit_status_;
}

bool DaemonProcess::running() { return !WaitForExit(std::chrono::milliseconds(0)); }

int DaemonProcess::Stop(std::chrono::milliseconds timeout) {
  Signal(SIGTERM);
  if (auto status = WaitForExit(timeout)) return *status;
  ::kill(pid_, SIGKILL);
  return WaitForExit(std::chrono::seconds(30)).value_or(-1);
}

}  // namespace tiercache::test
