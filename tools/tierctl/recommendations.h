#pragma once

// What `tierctl optimize` recommends, computed from a status document (GET /v1/status, or
// the json of rpc Status): pure, so that each rule is tested on documents made by hand.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tierctl {

struct Recommendation {
  std::string kind;     // "longer_ttl", "grow_l1", "large_tag", "unread_writes", "tier_health"
  std::string subject;  // the pattern, tag or tier it is about ("L1" for grow_l1)
  std::string message;  // for people, the evidence included
  nlohmann::json evidence;  // the figures behind it
};

// Thresholds below which a rule stays silent: too little traffic proves nothing.
struct RecommendationLimits {
  uint64_t min_reads = 20;              // reads of a pattern before judging its misses
  double expired_miss_rate = 0.2;       // share of reads that missed after expiry
  double evicted_miss_rate = 0.05;      // share of all reads that missed after eviction
  uint64_t min_writes = 20;             // writes of a pattern before judging them unread
  double unread_share = 0.8;            // entries that left L1 unread, of writes
  uint64_t large_tag_entries = 10'000;  // entries under one tag
  double slow_round_trip_ms = 20;       // a lower tier's health probe
};

std::vector<Recommendation> Recommend(const nlohmann::json& status,
                                      const RecommendationLimits& limits = {});

}  // namespace tierctl
