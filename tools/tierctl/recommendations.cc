#include "recommendations.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tierctl {
namespace {

using nlohmann::json;

double Number(const json& doc, const char* field) {
  const auto it = doc.find(field);
  return it != doc.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string Percent(double share) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100 * share);
  return buf;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, s < 10 ? "%.1fs" : "%.0fs", s);
  return buf;
}

std::string Count(double n) { return std::to_string(static_cast<uint64_t>(std::llround(n))); }

// Misses that a longer lifetime would have served: the entry had expired when read again.
void LongerTtl(const json& p, const RecommendationLimits& limits,
               std::vector<Recommendation>& out) {
  const double reads = Number(p, "reads");
  const double expired = Number(p, "expired_misses");
  if (reads < static_cast<double>(limits.min_reads) || expired / reads < limits.expired_miss_rate) {
    return;
  }
  const std::string name = p.value("pattern", "");
  const double ttl = Number(p, "mean_ttl_seconds");
  const double age = Number(p, "mean_reread_age_seconds");
  std::string message = "pattern '" + name + "': " + Percent(expired / reads) + " of reads (" +
                        Count(expired) + " of " + Count(reads) +
                        ") missed because the entry had expired";
  json evidence = {{"reads", reads},
                   {"expired_misses", expired},
                   {"expired_miss_rate", expired / reads},
                   {"hit_rate", Number(p, "hit_rate")}};
  if (ttl > 0) {
    message += "; entries are written with a mean TTL of " + Seconds(ttl);
    evidence["mean_ttl_seconds"] = ttl;
  }
  if (age > 0) {
    // Long enough to cover the usual gap between a write and the read after it, with room.
    const double suggested = std::ceil(std::max(age, ttl) * 1.5);
    message += " and read again " + Seconds(age) + " after being stored; a TTL of at least " +
               Seconds(suggested) + " would serve those reads";
    evidence["mean_reread_age_seconds"] = age;
    evidence["suggested_ttl_seconds"] = suggested;
  } else {
    message += "; a longer TTL would serve those reads";
  }
  out.push_back({"longer_ttl", name, message, evidence});
}

// Entries written and gone without a read cost memory and writes for nothing.
void UnreadWrites(const json& p, const RecommendationLimits& limits,
                  std::vector<Recommendation>& out) {
  const double writes = Number(p, "writes");
  const double unread = Number(p, "unread_removals");
  if (writes < static_cast<double>(limits.min_writes) || unread / writes < limits.unread_share) {
    return;
  }
  const std::string name = p.value("pattern", "");
  out.push_back({"unread_writes", name,
                 "pattern '" + name + "': " + Percent(unread / writes) + " of writes (" +
                     Count(unread) + " of " + Count(writes) +
                     ") left L1 without ever being read; cache these keys only where they "
                     "are read, or not at all",
                 {{"writes", writes}, {"unread_removals", unread}, {"reads", Number(p, "reads")}}});
}

// L1 evicting entries that are read again: it is too small for the working set.
void GrowL1(const json& status, const RecommendationLimits& limits,
            std::vector<Recommendation>& out) {
  double reads = 0, evicted_misses = 0, evicted_after_reads = 0;
  for (const json& p : status.value("patterns", json::array())) {
    reads += Number(p, "reads");
    evicted_misses += Number(p, "evicted_misses");
    evicted_after_reads += Number(p, "l1_evicted_after_reads");
  }
  const json tiers = status.value("tiers", json::array());
  if (tiers.empty() || reads < static_cast<double>(limits.min_reads)) return;
  const json& l1 = tiers[0];
  const double evictions = Number(l1, "evictions");
  if (evictions == 0 || evicted_misses / reads < limits.evicted_miss_rate) return;
  out.push_back(
      {"grow_l1", "L1",
       "L1 evicts entries that are read again: " + Percent(evicted_misses / reads) +
           " of reads (" + Count(evicted_misses) + " of " + Count(reads) +
           ") missed because L1 had evicted the key, and " + Count(evicted_after_reads) + " of " +
           Count(evictions) + " evicted entries had been read; it holds " +
           Count(Number(l1, "entries")) + " of " + Count(Number(l1, "max_entries")) +
           " entries and " + Count(Number(l1, "bytes")) + " of " + Count(Number(l1, "max_bytes")) +
           " bytes: raise l1.max_entries or l1.max_bytes",
       {{"reads", reads},
        {"evicted_misses", evicted_misses},
        {"evictions", evictions},
        {"evicted_after_reads", evicted_after_reads},
        {"entries", Number(l1, "entries")},
        {"max_entries", Number(l1, "max_entries")},
        {"bytes", Number(l1, "bytes")},
        {"max_bytes", Number(l1, "max_bytes")}}});
}

// One invalidation of such a tag removes that many entries at once, in every tier.
void LargeTags(const json& status, const RecommendationLimits& limits,
               std::vector<Recommendation>& out) {
  for (const json& t : status.value("largest_tags", json::array())) {
    const double entries = Number(t, "l1_entries");
    if (entries < static_cast<double>(limits.large_tag_entries)) continue;
    const std::string tag = t.value("tag", "");
    out.push_back({"large_tag", tag,
                   "tag '" + tag + "' is carried by " + Count(entries) +
                       " entries in L1: invalidating it empties them all at once (and their "
                       "copies in every tier); tag by a narrower group where you can",
                   {{"l1_entries", entries}}});
  }
}

// A lower tier that is down, erroring or slow costs every miss and write that reaches it.
void TierHealth(const json& status, const RecommendationLimits& limits,
                std::vector<Recommendation>& out) {
  const json tiers = status.value("tiers", json::array());
  for (size_t i = 1; i < tiers.size(); ++i) {
    const json& t = tiers[i];
    const std::string name = t.value("name", "");
    const std::string state = t.value("state", "up");
    const double errors = Number(t, "errors");
    const double rtt = Number(t, "round_trip_ms");
    std::vector<std::string> problems;
    if (state != "up") problems.push_back("it is " + state);
    if (errors > 0) problems.push_back(Count(errors) + " operations failed");
    if (rtt > limits.slow_round_trip_ms) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "its health probe took %.1f ms", rtt);
      problems.push_back(buf);
    }
    if (problems.empty()) continue;
    std::string message = "tier " + name + " (" + t.value("kind", "") + "): ";
    for (size_t k = 0; k < problems.size(); ++k) message += (k ? ", " : "") + problems[k];
    const std::string last_error = t.value("last_error", "");
    if (!last_error.empty()) message += " (last error: " + last_error + ")";
    message += "; check the backend and the network to it";
    out.push_back({"tier_health", name, message,
                   {{"state", state}, {"errors", errors}, {"round_trip_ms", rtt},
                    {"last_error", last_error}}});
  }
}

}  // namespace

std::vector<Recommendation> Recommend(const json& status, const RecommendationLimits& limits) {
  std::vector<Recommendation> out;
  for (const json& p : status.value("patterns", json::array())) LongerTtl(p, limits, out);
  GrowL1(status, limits, out);
  for (const json& p : status.value("patterns", json::array())) UnreadWrites(p, limits, out);
  LargeTags(status, limits, out);
  TierHealth(status, limits, out);
  return out;
}

}  // namespace tierctl
