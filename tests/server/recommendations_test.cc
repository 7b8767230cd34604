// tierctl optimize's rules, each on a status document made by hand.

#include "tools/tierctl/recommendations.h"

#include <catch2/catch.hpp>

namespace tierctl {
namespace {

using nlohmann::json;

json Pattern(const std::string& name, double reads, double hits, double expired,
             double ttl, double reread_age) {
  return {{"pattern", name},        {"reads", reads},
          {"hits", hits},           {"misses", reads - hits},
          {"hit_rate", hits / reads}, {"expired_misses", expired},
          {"evicted_misses", 0},    {"writes", reads - hits},
          {"mean_ttl_seconds", ttl}, {"mean_reread_age_seconds", reread_age},
          {"unread_removals", 0},   {"l1_evicted_after_reads", 0}};
}

json Status(json patterns) {
  return {{"patterns", std::move(patterns)},
          {"tiers", json::array({{{"name", "L1"}, {"state", "up"}, {"entries", 10},
                                  {"max_entries", 1000}, {"evictions", 0}}})}};
}

TEST_CASE("Recommend: APatternThatMissesAfterExpirySuggestsALongerTtlWithItsEvidence") {
  const auto out = Recommend(Status(json::array(
      {Pattern("session", 100, 2, 98, 1.0, 2.0), Pattern("user", 100, 95, 5, 60, 70)})));
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == "longer_ttl");
  CHECK(out[0].subject == "session");
  CHECK(out[0].evidence["expired_miss_rate"] == 0.98);
  CHECK(out[0].evidence["suggested_ttl_seconds"] == 3.0);
  CHECK(out[0].message.find("98% of reads (98 of 100)") != std::string::npos);
  CHECK(out[0].message.find("mean TTL of 1.0s") != std::string::npos);
}

TEST_CASE("Recommend: TooFewReadsProveNothing") {
  CHECK(Recommend(Status(json::array({Pattern("rare", 5, 0, 5, 1, 2)}))).empty());
}

TEST_CASE("Recommend: EvictionsOfKeysReadAgainSuggestAGrowingL1") {
  json status = Status(json::array({Pattern("page", 200, 100, 0, 60, 0)}));
  status["patterns"][0]["evicted_misses"] = 80;
  status["patterns"][0]["l1_evicted_after_reads"] = 70;
  status["tiers"][0]["evictions"] = 90;
  const auto out = Recommend(status);
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == "grow_l1");
  CHECK(out[0].evidence["evicted_misses"] == 80);
}

TEST_CASE("Recommend: WritesThatAreNeverReadLargeTagsAndUnhealthyTiersAreReported") {
  json status = Status(json::array({Pattern("audit", 30, 30, 0, 60, 0)}));
  status["patterns"][0]["writes"] = 500;
  status["patterns"][0]["unread_removals"] = 480;
  status["largest_tags"] = json::array({{{"tag", "all_users"}, {"l1_entries", 50000}},
                                        {{"tag", "small"}, {"l1_entries", 2000}}});
  status["tiers"].push_back({{"name", "L2"}, {"kind", "redis"}, {"state", "down"},
                             {"errors", 12}, {"round_trip_ms", 1.0},
                             {"last_error", "connection refused"}});
  status["tiers"].push_back(
      {{"name", "L3"}, {"kind", "postgres"}, {"state", "up"}, {"errors", 0}, {"round_trip_ms", 2}});
  const auto out = Recommend(status);
  REQUIRE(out.size() == 3);
  CHECK(out[0].kind == "unread_writes");
  CHECK(out[1].kind == "large_tag");
  CHECK(out[1].subject == "all_users");
  CHECK(out[2].kind == "tier_health");
  CHECK(out[2].subject == "L2");
  CHECK(out[2].message.find("connection refused") != std::string::npos);
}

}  // namespace
}  // namespace tierctl
