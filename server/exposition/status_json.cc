#include "server/exposition/status_json.h"

#include <nlohmann/json.hpp>

#include "core/histogram_quantile.h"

namespace tiercache {

namespace {

// The jobs as GET /v1/jobs and the status document list them.
nlohmann::json JobsArray(const std::vector<JobInfo>& jobs) {
  nlohmann::json list = nlohmann::json::array();
  for (const JobInfo& j : jobs) {
    list.push_back({{"id", j.id},
                    {"kind", j.kind},
                    {"description", j.description},
                    {"due_unix_ms", UnixMillis(j.due)},
                    {"period_seconds", ToSeconds(j.period)},
                    {"runs", j.runs},
                    {"running", j.running}});
  }
  return list;
}

nlohmann::json Quantile(const std::optional<double>& seconds) {
  return seconds ? nlohmann::json(*seconds * 1000) : nlohmann::json();
}

nlohmann::json PercentilesMs(const LatencyHistogram::Counts& counts) {
  const auto q = [&](double p) {
    return Quantile(HistogramQuantile(LatencyHistogram::kBuckets, counts.buckets, p));
  };
  return {{"count", counts.count()}, {"p50", q(0.5)}, {"p90", q(0.9)}, {"p99", q(0.99)}};
}

nlohmann::json OperationJson(const OperationSummary& op, double uptime_seconds) {
  nlohmann::json out = {
      {"requests", op.requests},
      {"errors", op.errors},
      {"per_second", uptime_seconds > 0 ? static_cast<double>(op.requests) / uptime_seconds : 0.0},
      {"latency_ms", {{"p50", Quantile(op.p50)}, {"p90", Quantile(op.p90)}, {"p99", Quantile(op.p99)}}},
  };
  return out;
}

double Ratio(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

nlohmann::json CompressionJson(const CompressionStats& c) {
  return {{"codec", CompressionCodecName(c.codec)},
          {"min_bytes", c.min_bytes},
          {"values_compressed", c.compressed},
          {"values_incompressible", c.incompressible},
          {"bytes_before", c.bytes_in},
          {"bytes_after", c.bytes_out},
          {"ratio", c.ratio()},
          {"values_decompressed", c.decompressed},
          {"failures", c.failures},
          {"compress_seconds", ToSeconds(c.compress_time)},
          {"decompress_seconds", ToSeconds(c.decompress_time)}};
}

nlohmann::json PatternJson(const KeyGroupStats& g) {
  return {
      {"pattern", g.name},
      {"reads", g.reads},
      {"hits", g.hits},
      {"misses", g.misses},
      {"hit_rate", g.hit_rate()},
      {"expired_misses", g.expired_misses},
      {"evicted_misses", g.evicted_misses},
      {"expired_miss_rate", Ratio(g.expired_misses, g.reads)},
      {"writes", g.writes},
      {"mean_ttl_seconds", g.writes == 0 ? nlohmann::json() : nlohmann::json(g.ttl_seconds_sum / g.writes)},
      {"mean_reread_age_seconds",
       g.expired_misses == 0 ? nlohmann::json()
                             : nlohmann::json(g.reread_age_seconds_sum / g.expired_misses)},
      {"l1_entries", g.entries},
      {"l1_bytes", g.bytes},
      {"l1_expirations", g.expirations},
      {"l1_evictions", g.evictions},
      {"l1_evicted_after_reads", g.evicted_after_reads},
      {"unread_removals", g.unread_removals},
  };
}

nlohmann::json NamespaceJson(const NamespaceStatus& n) {
  return {{"name", n.name},
          {"prefix", n.prefix},
          {"version", n.version},
          {"reads", n.reads},
          {"hits", n.hits},
          {"hit_rate", Ratio(n.hits, n.reads)},
          {"writes", n.writes},
          {"deletes", n.deletes},
          {"bumps", n.bumps},
          {"bumped_unix_ms", n.bumped_at ? nlohmann::json(UnixMillis(*n.bumped_at))
                                         : nlohmann::json()}};
}

nlohmann::json NamespacesArray(const std::vector<NamespaceStatus>& namespaces) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& n : namespaces) list.push_back(NamespaceJson(n));
  return list;
}

}  // namespace

std::string NamespaceListToJson(const std::vector<NamespaceStatus>& namespaces) {
  return nlohmann::json{{"namespaces", NamespacesArray(namespaces)}}.dump();
}

std::string NamespaceToJson(const NamespaceStatus& ns) { return NamespaceJson(ns).dump(); }

std::string JobListToJson(const std::vector<JobInfo>& jobs) {
  return nlohmann::json{{"jobs", JobsArray(jobs)}}.dump();
}

std::string StatusToJson(const ServiceStatus& status) {
  const L1Stats& l1 = status.l1;
  const uint64_t lookups = l1.hits + l1.misses;
  nlohmann::json doc = {
      {"version", status.version},
      {"uptime_seconds", ToSeconds(status.uptime)},
      {"ready", status.ready},
      {"tiers",
       nlohmann::json::array({{
           {"name", "L1"},
           {"state", "up"},
           {"entries", l1.entries},
           {"bytes", l1.bytes},
           {"max_entries", l1.max_entries},
           {"max_bytes", l1.max_bytes},
           {"hits", l1.hits},
           {"misses", l1.misses},
           {"hit_rate", lookups == 0 ? 0.0 : static_cast<double>(l1.hits) / lookups},
           {"evictions", l1.evictions},
           {"expirations", l1.expirations},
           {"absences", l1.absences},
           {"absence_hits", l1.absence_hits},
           {"compression", l1.compression ? CompressionJson(*l1.compression) : nlohmann::json()},
       }})},
      {"limits",
       {
           {"max_key_bytes", status.limits.max_key_bytes},
           {"max_value_bytes", status.limits.max_value_bytes},
           {"max_request_body_bytes", status.limits.max_request_body_bytes},
           {"max_tags", status.limits.max_tags},
           {"max_tag_bytes", status.limits.max_tag_bytes},
           {"max_pattern_bytes", status.limits.max_pattern_bytes},
           {"max_keys_per_request", status.limits.max_keys_per_request},
       }},
  };
  const double uptime = ToSeconds(status.uptime);
  const uint64_t reads = status.gets.hits + status.gets.misses;
  doc["monitoring"] = status.monitoring;
  doc["performance"] = {
      {"hit_rate", Ratio(status.gets.hits, reads)},
      {"reads", reads},
      {"hits", status.gets.hits},
      {"misses", status.gets.misses},
      {"operations",
       {{"get", OperationJson(status.gets, uptime)},
        {"set", OperationJson(status.sets, uptime)},
        {"delete", OperationJson(status.deletes, uptime)}}},
  };
  if (status.config_json) {
    doc["config"] = nlohmann::json::parse(*status.config_json, nullptr, false);
  }
  doc["memory"] = {{"l1_bytes", l1.bytes},
                   {"l1_max_bytes", l1.max_bytes},
                   {"resident_bytes", status.resident_bytes ? nlohmann::json(*status.resident_bytes)
                                                            : nlohmann::json()}};
  nlohmann::json patterns = nlohmann::json::array();
  for (const KeyGroupStats& g : status.key_groups) patterns.push_back(PatternJson(g));
  doc["patterns"] = std::move(patterns);
  nlohmann::json tags = nlohmann::json::array();
  for (const auto& [tag, entries] : status.largest_tags) {
    tags.push_back({{"tag", tag}, {"l1_entries", entries}});
  }
  doc["largest_tags"] = std::move(tags);
  doc["namespaces"] = NamespacesArray(status.namespaces);
  if (!status.proxy_routes.empty()) {
    nlohmann::json routes = nlohmann::json::array();
    for (const ProxyRouteStats& r : status.proxy_routes) {
      const uint64_t answered = r.hits + r.stale + r.misses + r.collapsed;
      routes.push_back({{"name", r.name},
                        {"requests", r.requests},
                        {"hits", r.hits},
                        {"misses", r.misses},
                        {"stale", r.stale},
                        {"revalidated", r.revalidated},
                        {"bypass", r.bypass},
                        {"collapsed", r.collapsed},
                        {"stored", r.stored},
                        {"not_stored", r.not_stored},
                        {"origin_requests", r.origin_requests},
                        {"origin_errors", r.origin_errors},
                        {"hit_rate", answered == 0 ? nlohmann::json()
                                                   : nlohmann::json(static_cast<double>(
                                                                        r.hits + r.stale) /
                                                                    answered)}});
    }
    doc["proxy"] = {{"routes", std::move(routes)}};
  }
  if (status.hot_set) {
    const HotSetReport& h = *status.hot_set;
    doc["hot_set"] = {{"path", h.path},
                      {"source", h.from_values ? "snapshot values" : "lower tiers"},
                      {"in_snapshot", h.in_snapshot},
                      {"restored", h.restored},
                      {"missing", h.missing},
                      {"failed", h.failed},
                      {"timed_out", h.timed_out},
                      {"seconds", ToSeconds(h.took)},
                      {"error", h.error.empty() ? nlohmann::json() : nlohmann::json(h.error)}};
  }
  nlohmann::json pending = JobsArray(status.jobs);
  nlohmann::json kinds = nlohmann::json::array();
  for (const JobKindStats& k : status.job_kinds) {
    kinds.push_back({{"kind", k.kind},
                     {"runs", k.runs},
                     {"failed_runs", k.failed_runs},
                     {"run_seconds", ToSeconds(k.run_time)}});
  }
  doc["jobs"] = {{"pending", std::move(pending)}, {"by_kind", std::move(kinds)}};
  if (!status.warming.empty()) {
    const auto unix_ms = &UnixMillis;
    nlohmann::json sources = nlohmann::json::array();
    for (const WarmSourceStatus& w : status.warming) {
      nlohmann::json source = {
          {"name", w.name},
          {"kind", w.kind},
          {"interval_seconds", ToSeconds(w.interval)},
          {"runs", w.runs},
          {"failed_runs", w.failed_runs},
          {"attempted", w.attempted},
          {"written", w.written},
          {"failures", w.failures},
          {"success_rate", w.success_rate()},
          {"running", w.last && w.last->running},
          {"next_run_unix_ms", w.next_run ? nlohmann::json(unix_ms(*w.next_run)) : nlohmann::json()},
      };
      if (w.last) {
        source["last_run"] = {
            {"started_unix_ms", unix_ms(w.last->started)},
            {"duration_seconds", ToSeconds(w.last->duration)},
            {"attempted", w.last->attempted},
            {"written", w.last->written},
            {"failures", w.last->failures},
            {"ok", w.last->ok},
            {"error", w.last->error},
        };
      }
      sources.push_back(std::move(source));
    }
    doc["warming"] = std::move(sources);
  }
  if (status.coherence) {
    const CoherenceStats& c = *status.coherence;
    doc["coherence"] = {
        {"subscribed", c.subscribed},   {"published", c.published},
        {"publish_errors", c.publish_errors}, {"received", c.received},
        {"breaks", c.breaks},
    };
  }
  for (const LowerTierStatus& t : status.lower_tiers) {
    const uint64_t reads = t.hits + t.misses;
    nlohmann::json tier = {
        {"name", t.name},
        {"kind", t.kind},
        {"state", TierStateName(t.state)},
        {"last_error", t.last_error},
        {"round_trip_ms", ToSeconds(t.round_trip) * 1000},
        {"required", t.required},
        {"write_mode", t.write_mode == WriteMode::kSync ? "sync" : "async"},
        {"ttl_factor", t.ttl_factor},
        {"hits", t.hits},
        {"misses", t.misses},
        {"hit_rate", reads == 0 ? 0.0 : static_cast<double>(t.hits) / reads},
        {"errors", t.errors},
        {"skipped", t.skipped},
        {"promotions", t.promotions},
        {"latency_ms", {{"get", PercentilesMs(t.get_latency)}, {"set", PercentilesMs(t.set_latency)}}},
    };
    if (t.write_behind) {
      const WriteBehindStats& w = *t.write_behind;
      tier["write_behind"] = {{"depth", w.depth},           {"enqueued", w.enqueued},
                              {"coalesced", w.coalesced},   {"flushed", w.flushed},
                              {"dropped", w.dropped},       {"failed_batches", w.failed_batches}};
    }
    tier["compression"] = t.compression ? CompressionJson(*t.compression) : nlohmann::json();
    if (t.tag_index.measured) {
      tier["tag_index"] = {{"tags", t.tag_index.tags},
                           {"memberships", t.tag_index.memberships},
                           {"bytes", t.tag_index.bytes}};
    } else {
      tier["tag_index"] = nullptr;
    }
    doc["tiers"].push_back(std::move(tier));
  }
  // Keys, tags and configured strings may hold bytes that are not UTF-8.
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tiercache
