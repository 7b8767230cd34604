// Hit ratios of L1's eviction policies on key traces, beside Belady's optimum.
//
//   policy_sim                       the table: Zipf 0.99, 400,000 requests over 100,000
//                                    keys, with and without a one-pass scan in 1 request
//                                    of 4, at 1,000 and 10,000 entries
//   policy_sim --trace zipf|zipf+scan --write FILE
//                                    writes that trace, one key per line, for a replay
//                                    against the daemon (tools/bench/policy_daemon.sh)
//   policy_sim --read FILE --entries N
//                                    the hit ratios of the trace in FILE at N entries
//
// Every request is a read-through: a lookup, and on a miss a write of the key. LRU and
// TinyLFU are the real L1 store (one shard, room for N entries, the policy set), so the
// daemon replaying the same trace with l1.shards: 1 and l1.max_entries: N counts the same
// hits. OPT is Belady's clairvoyant policy: on a miss it keeps the N keys whose next
// request comes soonest (the new one included).

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/l1_store.h"
#include "tools/common/key_distribution.h"

namespace {

using tiercache::L1Options;
using tiercache::L1Policy;
using tiercache::L1Store;

constexpr uint64_t kKeys = 100'000;
constexpr size_t kRequests = 400'000;
constexpr double kZipfS = 0.99;

std::vector<std::string> MakeTrace(bool scan) {
  tierbench::KeyDistribution zipf(tierbench::Distribution::kZipf, kKeys, kZipfS);
  std::mt19937_64 rng(20261203);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::string> trace;
  trace.reserve(kRequests);
  uint64_t next_scan = 0;
  for (size_t i = 0; i < kRequests; ++i) {
    if (scan && i % 4 == 3) {
      trace.push_back("scan:" + std::to_string(next_scan++));  // each once
    } else {
      trace.push_back("key:" + std::to_string(zipf.Pick(u(rng))));
    }
  }
  return trace;
}

double StoreHitRatio(const std::vector<std::string>& trace, size_t entries, L1Policy policy) {
  L1Options options;
  options.shards = 1;
  options.max_entries = entries;
  options.max_bytes = uint64_t{1} << 40;
  options.policy = policy;
  L1Store store(options, tiercache::AdaptiveOptions{}, tiercache::Clock::System());
  const auto value = std::make_shared<const std::string>("v");
  tiercache::Lifetime life;
  life.timeout = std::chrono::hours(24);
  size_t hits = 0;
  for (const auto& key : trace) {
    if (store.Get(key)) {
      ++hits;
    } else {
      (void)store.Set(key, value, {}, life);
    }
  }
  return static_cast<double>(hits) / static_cast<double>(trace.size());
}

double OptHitRatio(const std::vector<std::string>& trace, size_t entries) {
  const size_t never = trace.size();
  std::vector<size_t> next(trace.size(), never);
  {
    std::unordered_map<std::string_view, size_t> seen;
    for (size_t i = trace.size(); i-- > 0;) {
      auto [it, fresh] = seen.try_emplace(trace[i], never);
      next[i] = it->second;
      it->second = i;
    }
  }
  // Residents by the index of their next request; the farthest leaves first.
  std::set<std::pair<size_t, std::string_view>> by_next;
  std::unordered_map<std::string_view, size_t> resident;  // key -> its entry in by_next
  size_t hits = 0;
  for (size_t i = 0; i < trace.size(); ++i) {
    const std::string_view key = trace[i];
    if (auto it = resident.find(key); it != resident.end()) {
      ++hits;
      by_next.erase({it->second, key});
      it->second = next[i];
      by_next.insert({next[i], key});
      continue;
    }
    resident[key] = next[i];
    by_next.insert({next[i], key});
    if (resident.size() > entries) {
      auto last = std::prev(by_next.end());
      resident.erase(last->second);
      by_next.erase(last);
    }
  }
  return static_cast<double>(hits) / static_cast<double>(trace.size());
}

void PrintRow(const char* name, const std::vector<std::string>& trace, size_t entries) {
  std::printf("| %s | %zu | %.3f | %.3f | %.3f |\n", name, entries,
              StoreHitRatio(trace, entries, L1Policy::kLru),
              StoreHitRatio(trace, entries, L1Policy::kTinyLfu), OptHitRatio(trace, entries));
  std::fflush(stdout);
}

int Usage() {
  std::fprintf(stderr,
               "usage: policy_sim [--trace zipf|zipf+scan --write FILE |"
               " --read FILE --entries N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string trace_name, write_path, read_path;
  size_t entries = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return Usage();
    if (arg == "--trace") {
      trace_name = argv[++i];
    } else if (arg == "--write") {
      write_path = argv[++i];
    } else if (arg == "--read") {
      read_path = argv[++i];
    } else if (arg == "--entries") {
      entries = std::strtoull(argv[++i], nullptr, 10);
    } else {
      return Usage();
    }
  }
  if (!write_path.empty()) {
    if (trace_name != "zipf" && trace_name != "zipf+scan") return Usage();
    std::ofstream out(write_path);
    for (const auto& key : MakeTrace(trace_name == "zipf+scan")) out << key << '\n';
    return out.good() ? 0 : 1;
  }
  if (!read_path.empty()) {
    if (entries == 0) return Usage();
    std::ifstream in(read_path);
    std::vector<std::string> trace;
    for (std::string line; std::getline(in, line);) trace.push_back(line);
    if (trace.empty()) {
      std::fprintf(stderr, "policy_sim: %s holds no keys\n", read_path.c_str());
      return 1;
    }
    std::printf("| trace | entries | LRU | TinyLFU | OPT |\n|---|---|---|---|---|\n");
    PrintRow(read_path.c_str(), trace, entries);
    return 0;
  }
  if (!trace_name.empty()) return Usage();
  std::printf("Hit ratios, read-through; Zipf %.2f, %zu requests over %llu keys\n\n", kZipfS,
              kRequests, static_cast<unsigned long long>(kKeys));
  std::printf("| trace | entries | LRU | TinyLFU | OPT |\n|---|---|---|---|---|\n");
  const auto zipf = MakeTrace(false);
  const auto scan = MakeTrace(true);
  for (size_t n : {1000, 10000}) PrintRow("zipf", zipf, n);
  for (size_t n : {1000, 10000}) PrintRow("zipf + 1/4 scan", scan, n);
  return 0;
}
