#include "server/exposition/stats_history_json.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

namespace tiercache {
namespace {

// Full double precision is noise on a chart and triples the document's size.
nlohmann::json Rounded(std::optional<double> v, double scale) {
  if (!v) return nullptr;
  return std::round(*v * scale) / scale;
}

nlohmann::json SampleJson(const StatsSample& s) {
  nlohmann::json tiers = nlohmann::json::object();
  for (const TierStateSample& t : s.tiers) tiers[t.name] = TierStateName(t.state);
  return {
      {"unix_ms",
       std::chrono::duration_cast<std::chrono::milliseconds>(s.time.time_since_epoch()).count()},
      {"hit_rate", Rounded(s.hit_rate, 1e4)},
      {"l1_hit_rate", Rounded(s.l1_hit_rate, 1e4)},
      {"requests_per_second", Rounded(s.requests_per_second, 10)},
      {"get_p99_ms",
       Rounded(s.get_p99_seconds ? std::optional<double>(*s.get_p99_seconds * 1000) : std::nullopt,
               1e4)},
      {"l1_bytes", s.l1_bytes},
      {"l1_entries", s.l1_entries},
      {"resident_bytes", s.resident_bytes ? nlohmann::json(*s.resident_bytes) : nullptr},
      {"tiers", std::move(tiers)},
  };
}

}  // namespace

std::string StatsHistoryToJson(const HistorySnapshot& history) {
  const std::vector<StatsSample>& samples = history.samples;
  const size_t capacity = history.capacity;
  const L1Stats& l1 = history.l1;
  const std::vector<LowerTierStatus>& tiers = history.lower_tiers;
  nlohmann::json now = nlohmann::json::array();
  now.push_back({{"name", "L1"},
                 {"kind", "memory"},
                 {"state", "up"},
                 {"entries", l1.entries},
                 {"bytes", l1.bytes}});
  for (const LowerTierStatus& t : tiers) {
    now.push_back({{"name", t.name},
                   {"kind", t.kind},
                   {"state", TierStateName(t.state)},
                   {"required", t.required},
                   {"last_error", t.last_error},
                   {"round_trip_ms", ToSeconds(t.round_trip) * 1000}});
  }
  nlohmann::json list = nlohmann::json::array();
  for (const StatsSample& s : samples) list.push_back(SampleJson(s));
  const nlohmann::json doc = {
      {"version", TIERCACHE_VERSION},
      {"capacity", capacity},
      {"tiers", std::move(now)},
      {"samples", std::move(list)},
  };
  return doc.dump();
}

}  // namespace tiercache
