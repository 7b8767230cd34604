// tiercached: parses the flags, loads the config, builds the Daemon (server/daemon.h),
// runs it until SIGTERM or SIGINT, then drains and exits 0.

#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>

#include "config/config.h"
#include "config/config_loader.h"
#include "server/daemon.h"
#include "server/logging.h"
#include "tiers/backend_kinds.h"

namespace tiercache {
namespace {

// Applies TIERCACHE_*_LISTEN, then the flags, over the config's listen addresses.
void ApplyListenOverrides(config::Config& cfg, const std::string& http_flag,
                          const std::string& grpc_flag,
                          const std::optional<std::string>& resp_flag,
                          const std::optional<std::string>& proxy_flag) {
  const auto apply = [](config::ListenAddress& target, const char* env, const std::string& flag,
                        std::string_view flag_name) {
    if (const char* value = std::getenv(env); value && *value) {
      try {
        target = config::ParseListenAddress(value);
      } catch (const config::ConfigError& e) {
        throw config::ConfigError(std::string(env) + ": " + e.what());
      }
    }
    if (!flag.empty()) {
      try {
        target = config::ParseListenAddress(flag);
      } catch (const config::ConfigError& e) {
        throw config::ConfigError(std::string(flag_name) + ": " + e.what());
      }
    }
  };
  apply(cfg.server.http_listen, "TIERCACHE_HTTP_LISTEN", http_flag, "--http-listen");
  apply(cfg.server.grpc_listen, "TIERCACHE_GRPC_LISTEN", grpc_flag, "--grpc-listen");
  // The RESP listener may be turned off: an empty value (set, not absent) does it.
  const auto apply_optional = [](std::optional<config::ListenAddress>& target, const char* env,
                                 const std::optional<std::string>& flag,
                                 std::string_view flag_name) {
    const auto parse = [&](const std::string& value, std::string_view source) {
      if (value.empty()) return target.reset();
      try {
        target = config::ParseListenAddress(value);
      } catch (const config::ConfigError& e) {
        throw config::ConfigError(std::string(source) + ": " + e.what());
      }
    };
    if (const char* value = std::getenv(env)) parse(value, env);
    if (flag) parse(*flag, flag_name);
  };
  apply_optional(cfg.server.resp_listen, "TIERCACHE_RESP_LISTEN", resp_flag, "--resp-listen");
  apply_optional(cfg.proxy.listen, "TIERCACHE_PROXY_LISTEN", proxy_flag, "--proxy-listen");
  if (cfg.proxy.listen && cfg.proxy.options.routes.empty()) {
    throw config::ConfigError("the proxy listener is set but no proxy.routes are configured");
  }
}

// Waits for SIGTERM or SIGINT (blocked in every thread since main began) and names it.
std::string WaitForStopSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  return std::string("received ") + strsignal(signal_number);
}

int Run(const config::Config& cfg) {
  auto daemon = Daemon::Create(cfg);
  if (!daemon.ok()) {
    spdlog::error("{}", daemon.status().message());
    return 1;
  }
  if (Status s = (*daemon)->Start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  (*daemon)->Drain(WaitForStopSignal());
  daemon->reset();
  spdlog::info("stopped");
  return 0;
}

}  // namespace
}  // namespace tiercache

int main(int argc, char** argv) {
  using namespace tiercache;

  CLI::App app{"tiercached: multi-tier cache server (L1 memory, Redis, PostgreSQL)"};
  std::string config_path;
  std::string check_path;
  std::string http_listen;
  std::string grpc_listen;
  std::optional<std::string> resp_listen;
  std::optional<std::string> proxy_listen;
  bool version = false;
  app.add_option("--config", config_path,
                 "YAML config file; without it the embedded default runs (L1 only, "
                 "HTTP 127.0.0.1:8080, gRPC 127.0.0.1:50051, RESP 127.0.0.1:6380)");
  app.add_option("--check-config", check_path, "Validate FILE, print the result, exit 0 or 1");
  app.add_option("--http-listen", http_listen,
                 "HTTP listen address HOST:PORT (overrides the config and TIERCACHE_HTTP_LISTEN)");
  app.add_option("--grpc-listen", grpc_listen,
                 "gRPC listen address HOST:PORT (overrides the config and TIERCACHE_GRPC_LISTEN)");
  app.add_option("--resp-listen", resp_listen,
                 "Redis-protocol listen address HOST:PORT, or \"\" to turn it off (overrides "
                 "the config and TIERCACHE_RESP_LISTEN)");
  app.add_option("--proxy-listen", proxy_listen,
                 "Caching reverse proxy listen address HOST:PORT, or \"\" to turn it off "
                 "(overrides proxy.listen and TIERCACHE_PROXY_LISTEN; needs proxy.routes)");
  app.add_flag("--version", version, "Print the version and exit");
  CLI11_PARSE(app, argc, argv);

  if (version) {
    std::cout << "tiercached " << TIERCACHE_VERSION << "\n";
    return 0;
  }
  if (!check_path.empty()) {
    try {
      config::LoadConfigFile(check_path, BackendKinds());
      std::cout << check_path << ": OK\n";
      return 0;
    } catch (const config::ConfigError& e) {
      std::cerr << e.what() << "\n";
      return 1;
    }
  }

  config::Config cfg;
  try {
    if (!config_path.empty()) cfg = config::LoadConfigFile(config_path, BackendKinds());
    ApplyListenOverrides(cfg, http_listen, grpc_listen, resp_listen, proxy_listen);
  } catch (const config::ConfigError& e) {
    std::cerr << "tiercached: " << e.what() << "\n";
    return 1;
  }
  SetUpLogging(cfg.logging.level,
               cfg.logging.format == config::LogFormat::kJson ? LogStyle::kJson : LogStyle::kText);

  // Block the stop signals before any thread starts, so every thread inherits the mask
  // and only Run's sigwait receives them. A peer closing a socket must not kill us.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    return Run(cfg);
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}
