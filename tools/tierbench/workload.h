#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "histogram.h"
#include "tools/common/key_distribution.h"

namespace tierbench {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

enum class Protocol { kHttp, kGrpc, kResp };

inline const char* ProtocolName(Protocol p) {
  return p == Protocol::kHttp ? "http" : p == Protocol::kGrpc ? "grpc" : "resp";
}

struct Config {
  Protocol protocol = Protocol::kHttp;
  std::string host = "127.0.0.1";
  std::string port;  // filled from --server or the protocol's default
  std::string server;  // HOST:PORT as given (used for the Host header)
  int connections = 64;
  int threads = 1;
  int grpc_channels = 0;  // 0 = automatic
  double duration = 10;
  double warmup = 1;
  uint64_t keys = 10000;
  std::string key_prefix = "bench:";
  Distribution distribution = Distribution::kUniform;
  double zipf_s = 0.99;
  double read_ratio = 0.9;
  size_t value_size = 100;
  double ttl = 0;
  bool prefill = true;
  bool json = false;
  uint64_t seed = 1;
};

struct Op {
  bool get;
  uint64_t key;
};

// Per-thread operation generator: seedable, no shared mutable state.
class OpSource {
 public:
  OpSource(const KeyDistribution& keys, double read_ratio, uint64_t seed)
      : keys_(keys), read_ratio_(read_ratio), rng_(seed) {}
  Op Next() {
    const bool get = read_ratio_ >= 1.0 || (read_ratio_ > 0.0 && Uniform() < read_ratio_);
    return Op{get, keys_.Pick(Uniform())};
  }

 private:
  double Uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }
  const KeyDistribution& keys_;
  double read_ratio_;
  std::mt19937_64 rng_;
};

// What one client thread saw; merged after the threads have joined (no locks while running).
struct ThreadStats {
  uint64_t gets = 0;    // completed GETs, including those that failed
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t sets = 0;    // completed SETs, including those that failed
  uint64_t errors = 0;  // unexpected status or transport error
  LatencyHistogram latency;
  std::map<std::string, uint64_t> error_kinds;  // touched only on the error path

  void AddError(const std::string& kind) {
    errors++;
    error_kinds[kind]++;
  }
  void Merge(const ThreadStats& o);
};

// One phase of the run, shared by every client thread.
struct Phase {
  enum class Mode { kPrefill, kTimed };
  Mode mode = Mode::kTimed;
  // kPrefill: every key is SET once; keys are handed out by this counter.
  std::atomic<uint64_t>* next_key = nullptr;
  uint64_t total_keys = 0;
  // kTimed: requests start until `end`; completions in [measure_start, end) are counted.
  TimePoint measure_start;
  TimePoint end;
  // Anything still in flight at this point is abandoned (and not counted).
  TimePoint hard_stop;
  uint64_t seed = 1;
};

// Everything the protocol clients share, read-only during a phase.
struct Workload {
  Config config;
  std::unique_ptr<KeyDistribution> keys;
  std::string value;  // value_size bytes, printable
  std::string Key(uint64_t idx) const { return config.key_prefix + std::to_string(idx); }
};

// The next operation of `phase` for one connection: in prefill, the next unclaimed key;
// in a timed phase, a drawn operation until the phase ends. False once it is over.
inline bool NextOp(const Phase& phase, OpSource& ops, Op& op) {
  if (phase.mode == Phase::Mode::kPrefill) {
    const uint64_t k = phase.next_key->fetch_add(1, std::memory_order_relaxed);
    if (k >= phase.total_keys) return false;
    op = Op{false, k};
    return true;
  }
  if (SteadyClock::now() >= phase.end) return false;
  op = ops.Next();
  return true;
}

// Thread count actually used: at most one per connection.
inline int EffectiveThreads(const Config& c) { return std::max(1, std::min(c.threads, c.connections)); }

// Runs each client thread (anything with Run() and stats_) to its end and merges what
// they saw.
template <typename ClientThread>
ThreadStats RunAndMerge(std::vector<std::unique_ptr<ClientThread>>& threads) {
  std::vector<std::thread> running;
  for (auto& t : threads) running.emplace_back([&t] { t->Run(); });
  for (auto& r : running) r.join();
  ThreadStats merged;
  for (auto& t : threads) merged.Merge(t->stats_);
  return merged;
}

// The outcome of trying to reach the server before the run.
struct ProbeResult {
  bool ok = false;
  std::string error;
};

}  // namespace tierbench
