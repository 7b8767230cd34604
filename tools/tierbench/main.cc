// tierbench: a load generator for tiercached over HTTP and gRPC.
//
// Prefills the keyspace (unless --no-prefill), then keeps --connections requests in flight
// for --warmup + --duration seconds and reports what completed during --duration:
// throughput, GET hits/misses, SETs, errors and latency percentiles.
// Exit status: 0 success, 1 server unreachable or errors above 1 % of requests, 2 bad arguments.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <random>

#include "grpc_client.h"
#include "http_client.h"
#include "resp_client.h"
#include "workload.h"

namespace tierbench {
namespace {

constexpr double kProbeTimeoutS = 3.0;
constexpr double kMaxErrorRate = 0.01;

// Splits HOST:PORT ([V6]:PORT for IPv6 literals). A missing port keeps `port` unchanged.
bool ParseServer(const std::string& s, std::string& host, std::string& port, std::string& err) {
  std::string h, p;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos) {
      err = "unterminated '[' in --server " + s;
      return false;
    }
    h = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') {
        err = "expected ':' after ']' in --server " + s;
        return false;
      }
      p = s.substr(close + 2);
    }
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) {
      h = s;
    } else {
      h = s.substr(0, colon);
      p = s.substr(colon + 1);
    }
  }
  if (h.empty()) {
    err = "missing host in --server " + s;
    return false;
  }
  if (!p.empty() || s.back() == ':') {
    int n = 0;
    try {
      size_t used = 0;
      n = std::stoi(p, &used);
      if (used != p.size()) n = 0;
    } catch (...) {
      n = 0;
    }
    if (n < 1 || n > 65535) {
      err = "bad port '" + p + "' in --server " + s + " (expected 1..65535)";
      return false;
    }
    port = std::to_string(n);
  }
  host = h;
  return true;
}

std::string G(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

double Us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

void PrintText(const Config& c, const ThreadStats& s, uint64_t requests, int grpc_channels) {
  const double rps = static_cast<double>(requests) / c.duration;
  const auto& h = s.latency;
  std::printf("tierbench %s -> %s\n", ProtocolName(c.protocol), c.server.c_str());
  std::printf("  connections   %d%s, threads %d, duration %.3g s (+%.3g s warmup)\n", c.connections,
              c.protocol == Protocol::kGrpc
                  ? (" outstanding calls over " + std::to_string(grpc_channels) + " channels").c_str()
                  : "",
              EffectiveThreads(c), c.duration, c.warmup);
  std::printf("  workload      %llu keys %s%s, read ratio %.3g, value %zu B, ttl %s, prefill %s\n",
              static_cast<unsigned long long>(c.keys),
              c.distribution == Distribution::kZipf ? "zipf s=" : "uniform",
              c.distribution == Distribution::kZipf ? G(c.zipf_s).c_str() : "",
              c.read_ratio, c.value_size, c.ttl > 0 ? (G(c.ttl) + " s").c_str() : "server default",
              c.prefill ? "yes" : "no");
  std::printf("  requests      %llu\n", static_cast<unsigned long long>(requests));
  std::printf("  throughput    %.1f req/s\n", rps);
  std::printf("  gets          %llu (hits %llu, misses %llu)\n", static_cast<unsigned long long>(s.gets),
              static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.misses));
  std::printf("  sets          %llu\n", static_cast<unsigned long long>(s.sets));
  std::printf("  errors        %llu\n", static_cast<unsigned long long>(s.errors));
  for (const auto& [kind, n] : s.error_kinds) {
    std::printf("    %-40s %llu\n", kind.c_str(), static_cast<unsigned long long>(n));
  }
  std::printf("  latency (us)  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (mean %.1f)\n",
              Us(h.Percentile(50)), Us(h.Percentile(90)), Us(h.Percentile(99)), Us(h.Percentile(99.9)),
              Us(h.max_ns()), h.mean_ns() / 1000.0);
}

void PrintJson(const Config& c, const ThreadStats& s, uint64_t requests, int grpc_channels) {
  const auto& h = s.latency;
  nlohmann::json j;
  j["protocol"] = ProtocolName(c.protocol);
  j["server"] = c.server;
  j["connections"] = c.connections;
  j["threads"] = EffectiveThreads(c);
  if (c.protocol == Protocol::kGrpc) j["grpc_channels"] = grpc_channels;
  j["duration_seconds"] = c.duration;
  j["requests"] = requests;
  j["throughput_rps"] = static_cast<double>(requests) / c.duration;
  j["gets"] = s.gets;
  j["hits"] = s.hits;
  j["misses"] = s.misses;
  j["sets"] = s.sets;
  j["errors"] = s.errors;
  j["error_kinds"] = s.error_kinds;
  j["latency_us"] = {
      {"p50", Us(h.Percentile(50))},   {"p90", Us(h.Percentile(90))},
      {"p99", Us(h.Percentile(99))},   {"p999", Us(h.Percentile(99.9))},
      {"max", Us(h.max_ns())},         {"mean", h.mean_ns() / 1000.0},
  };
  std::cout << j.dump() << std::endl;
}

int Fail(const Config& c, const std::string& msg) {
  std::fprintf(stderr, "tierbench: error: %s\n", msg.c_str());
  if (c.json) std::cout << nlohmann::json{{"error", msg}}.dump() << std::endl;
  return 1;
}

ThreadStats RunPhase(const Workload& w, const Phase& ph) {
  switch (w.config.protocol) {
    case Protocol::kHttp: return RunHttp(w, ph);
    case Protocol::kGrpc: return RunGrpc(w, ph);
    case Protocol::kResp: return RunResp(w, ph);
  }
  return {};
}

int Main(int argc, char** argv) {
  Config c;
  std::string protocol = "http", distribution = "uniform", server;
  bool no_prefill = false;

  CLI::App app{"tierbench: load generator for tiercached (HTTP, gRPC and RESP)"};
  app.option_defaults()->always_capture_default();
  app.add_option("--protocol", protocol, "http, grpc or resp")
      ->check(CLI::IsMember({"http", "grpc", "resp"}));
  app.add_option("--server", server,
                 "HOST:PORT (default 127.0.0.1:8080 for http, 127.0.0.1:50051 for grpc, 127.0.0.1:6380 "
                 "for resp)");
  app.add_option("--connections", c.connections,
                 "HTTP / RESP connections, outstanding gRPC calls")->check(CLI::Range(1, 100000));
  app.add_option("--threads", c.threads, "client threads")->check(CLI::Range(1, 1024));
  app.add_option("--grpc-channels", c.grpc_channels,
                 "gRPC channels (TCP connections); 0 = min(connections, max(4, threads))")
      ->check(CLI::Range(0, 100000));
  app.add_option("--duration", c.duration, "measured seconds")->check(CLI::Range(0.001, 1e6));
  app.add_option("--warmup", c.warmup, "seconds of load before measuring")->check(CLI::Range(0.0, 1e6));
  app.add_option("--keys", c.keys, "keyspace size")->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32));
  app.add_option("--key-prefix", c.key_prefix, "prefix of every key (key = prefix + index)");
  app.add_option("--distribution", distribution, "uniform or zipf")
      ->check(CLI::IsMember({"uniform", "zipf"}));
  app.add_option("--zipf-s", c.zipf_s, "Zipf exponent")->check(CLI::Range(0.0, 100.0));
  app.add_option("--read-ratio", c.read_ratio, "fraction of GETs; the rest are SETs")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--value-size", c.value_size, "bytes per SET value")
      ->check(CLI::Range(size_t{0}, size_t{1} << 30));
  app.add_option("--ttl", c.ttl, "SET lifetime in seconds; 0 = server default")->check(CLI::Range(0.0, 1e9));
  app.add_flag("--no-prefill", no_prefill, "do not SET every key once before the run");
  app.add_option("--seed", c.seed, "random seed (keys, operations, value)");
  app.add_flag("--json", c.json, "print one JSON object instead of text");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  c.protocol = protocol == "grpc"   ? Protocol::kGrpc
               : protocol == "resp" ? Protocol::kResp
                                    : Protocol::kHttp;
  c.distribution = distribution == "zipf" ? Distribution::kZipf : Distribution::kUniform;
  c.prefill = !no_prefill;
  c.port = c.protocol == Protocol::kHttp ? "8080" : c.protocol == Protocol::kGrpc ? "50051" : "6380";
  if (server.empty()) server = "127.0.0.1:" + c.port;
  std::string err;
  if (!ParseServer(server, c.host, c.port, err)) {
    std::fprintf(stderr, "tierbench: %s\nRun with --help for more information.\n", err.c_str());
    return 2;
  }
  c.server = c.host.find(':') != std::string::npos ? "[" + c.host + "]:" + c.port : c.host + ":" + c.port;

  Workload w;
  w.config = c;
  w.keys = std::make_unique<KeyDistribution>(c.distribution, c.keys, c.zipf_s);
  {
    std::mt19937_64 rng(c.seed ^ 0x9e3779b97f4a7c15ULL);
    static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    w.value.resize(c.value_size);
    for (auto& ch : w.value) ch = kChars[rng() % (sizeof kChars - 1)];
  }

  // A RESP server is probed as an HTTP one: a TCP connection.
  const ProbeResult probe = c.protocol == Protocol::kGrpc ? ProbeGrpc(c, kProbeTimeoutS)
                                                          : ProbeHttp(c, kProbeTimeoutS);
  if (!probe.ok) return Fail(c, probe.error);

  if (c.prefill) {
    std::atomic<uint64_t> next{0};
    Phase ph;
    ph.mode = Phase::Mode::kPrefill;
    ph.next_key = &next;
    ph.total_keys = c.keys;
    ph.seed = c.seed;
    const auto t0 = SteadyClock::now();
    ph.hard_stop = t0 + std::chrono::seconds(60 + c.keys / 1000);
    const ThreadStats s = RunPhase(w, ph);
    const double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    if (!c.json) {
      std::fprintf(stderr, "tierbench: prefilled %llu keys in %.2f s (%llu errors)\n",
                   static_cast<unsigned long long>(s.sets), secs,
                   static_cast<unsigned long long>(s.errors));
    }
    if (s.sets == 0 || s.errors == s.sets) {
      std::string kinds;
      for (const auto& [k, n] : s.error_kinds) kinds += "; " + k + " x" + std::to_string(n);
      return Fail(c, "prefill failed: every SET failed" + kinds);
    }
    if (s.errors > 0) {
      std::fprintf(stderr, "tierbench: warning: %llu of %llu prefill SETs failed\n",
                   static_cast<unsigned long long>(s.errors), static_cast<unsigned long long>(s.sets));
    }
  }

  Phase ph;
  ph.mode = Phase::Mode::kTimed;
  ph.seed = c.seed + 1;
  const auto t0 = SteadyClock::now();
  auto ns = [](double s) {
    return std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(s));
  };
  ph.measure_start = t0 + ns(c.warmup);
  ph.end = ph.measure_start + ns(c.duration);
  ph.hard_stop = ph.end + std::chrono::seconds(2);
  const ThreadStats s = RunPhase(w, ph);

  const uint64_t requests = s.gets + s.sets;
  const int channels = c.protocol == Protocol::kGrpc ? GrpcChannelCount(c) : 0;
  if (c.json) {
    PrintJson(c, s, requests, channels);
  } else {
    PrintText(c, s, requests, channels);
  }
  if (requests == 0) {
    std::fprintf(stderr, "tierbench: error: no request completed during the measured window\n");
    return 1;
  }
  if (static_cast<double>(s.errors) > kMaxErrorRate * static_cast<double>(requests)) {
    std::fprintf(stderr, "tierbench: error: %llu errors in %llu requests (more than 1%%)\n",
                 static_cast<unsigned long long>(s.errors), static_cast<unsigned long long>(requests));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace tierbench

int main(int argc, char** argv) { return tierbench::Main(argc, argv); }
