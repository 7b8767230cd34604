#include "server/exposition/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "server/exposition/process_metrics.h"

namespace tiercache {

std::string LabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c > 0x7e) {
      out += '_';
    } else {
      out += c;
    }
  }
  return out;
}

void AppendSample(std::string& out, std::string_view name, std::string_view labels,
                  double value) {
  out.append(name);
  if (!labels.empty()) {
    out.push_back('{');
    out.append(labels);
    out.push_back('}');
  }
  char buf[64];
  if (std::isinf(value)) {
    std::snprintf(buf, sizeof buf, " %s\n", value > 0 ? "+Inf" : "-Inf");
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, " %.0f\n", value);
  } else {
    // The shortest text that reads back as `value`: timestamps keep their milliseconds.
    buf[0] = ' ';
    const auto end = std::to_chars(buf + 1, buf + sizeof buf - 1, value).ptr;
    *end = '\n';
    out.append(buf, end + 1);
    return;
  }
  out.append(buf);
}

void AppendFamilyHeader(std::string& out, std::string_view name, std::string_view type,
                        std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void AppendHistogram(std::string& out, std::string_view name, std::string_view labels,
                     const LatencyHistogram::Counts& counts) {
  if (counts.count() == 0) return;
  const std::string base(labels);
  const std::string prefix = base.empty() ? "" : base + ",";
  uint64_t cumulative = 0;
  char le[32];
  for (size_t b = 0; b < counts.buckets.size(); ++b) {
    cumulative += counts.buckets[b];
    if (b < LatencyHistogram::kBuckets.size()) {
      std::snprintf(le, sizeof le, "%g", LatencyHistogram::kBuckets[b]);
    } else {
      std::snprintf(le, sizeof le, "+Inf");
    }
    AppendSample(out, std::string(name) + "_bucket", prefix + "le=\"" + le + "\"",
                 static_cast<double>(cumulative));
  }
  AppendSample(out, std::string(name) + "_sum", base, counts.sum_seconds);
  // The +Inf bucket total, so that _count always agrees with the buckets.
  AppendSample(out, std::string(name) + "_count", base, static_cast<double>(cumulative));
}

namespace {

void RenderRequestMetrics(std::string& out, const std::vector<RequestCounts>& requests) {
  const auto series = [](const RequestCounts& c) {
    std::string labels = "frontend=\"";
    labels.append(LabelValue(c.frontend.name()))
        .append("\",operation=\"")
        .append(OperationName(c.operation))
        .append("\"");
    return labels;
  };
  AppendFamilyHeader(out, "tiercache_requests_total", "counter",
                     "Requests served, by front end, operation and outcome.");
  for (const RequestCounts& c : requests) {
    for (size_t o = 0; o < kOutcomeCount; ++o) {
      if (c.outcomes[o] == 0) continue;
      AppendSample(out, "tiercache_requests_total",
                   series(c) + ",outcome=\"" + std::string(OutcomeName(static_cast<Outcome>(o))) +
                       "\"",
                   static_cast<double>(c.outcomes[o]));
    }
  }
  AppendFamilyHeader(out, "tiercache_request_duration_seconds", "histogram",
                     "Time the service took to handle a request, by front end and operation.");
  for (const RequestCounts& c : requests) {
    AppendHistogram(out, "tiercache_request_duration_seconds", series(c), c.latency);
  }
}

// One family with one sample per lower tier.
template <class Value>
void TierFamily(std::string& out, const std::vector<LowerTierStatus>& tiers,
                std::string_view name, std::string_view type, std::string_view help,
                Value value) {
  AppendFamilyHeader(out, name, type, help);
  for (const auto& t : tiers) {
    const std::optional<double> v = value(t);
    if (v) AppendSample(out, name, "tier=\"" + t.name + "\"", *v);
  }
}

void RenderLowerTierMetrics(std::string& out, const std::vector<LowerTierStatus>& tiers) {
  if (tiers.empty()) return;
  using T = const LowerTierStatus&;
  using Opt = std::optional<double>;
  AppendFamilyHeader(out, "tiercache_tier_state", "gauge",
                     "1 for the state each lower tier is in (up, degraded, down).");
  for (const auto& t : tiers) {
    for (TierState state : {TierState::kUp, TierState::kDegraded, TierState::kDown}) {
      AppendSample(out, "tiercache_tier_state",
                   "tier=\"" + t.name + "\",state=\"" + std::string(TierStateName(state)) + "\"",
                   t.state == state ? 1 : 0);
    }
  }
  TierFamily(out, tiers, "tiercache_tier_hits_total", "counter",
             "Reads a lower tier answered with an entry.", [](T t) { return Opt(t.hits); });
  TierFamily(out, tiers, "tiercache_tier_misses_total", "counter",
             "Reads a lower tier answered without an entry.", [](T t) { return Opt(t.misses); });
  TierFamily(out, tiers, "tiercache_tier_errors_total", "counter",
             "Operations and health probes of a lower tier that failed.",
             [](T t) { return Opt(t.errors); });
  TierFamily(out, tiers, "tiercache_tier_skipped_total", "counter",
             "Operations not sent to a lower tier because it was down.",
             [](T t) { return Opt(t.skipped); });
  TierFamily(out, tiers, "tiercache_tier_promotions_total", "counter",
             "Entries found in a lower tier and copied into the tiers above it.",
             [](T t) { return Opt(t.promotions); });
  AppendFamilyHeader(out, "tiercache_tier_operation_duration_seconds", "histogram",
                     "Round trips of the reads and writes sent to each lower tier.");
  for (const auto& t : tiers) {
    AppendHistogram(out, "tiercache_tier_operation_duration_seconds",
                    "tier=\"" + LabelValue(t.name) + "\",operation=\"get\"", t.get_latency);
    AppendHistogram(out, "tiercache_tier_operation_duration_seconds",
                    "tier=\"" + LabelValue(t.name) + "\",operation=\"set\"", t.set_latency);
  }
  TierFamily(out, tiers, "tiercache_tier_round_trip_seconds", "gauge",
             "Round trip of the last successful health probe of a lower tier.",
             [](T t) { return Opt(ToSeconds(t.round_trip)); });
  TierFamily(out, tiers, "tiercache_write_behind_depth", "gauge",
             "Writes waiting in an async tier's write-behind queue.", [](T t) {
               return t.write_behind ? Opt(t.write_behind->depth) : std::nullopt;
             });
  TierFamily(out, tiers, "tiercache_write_behind_flushed_total", "counter",
             "Queued writes an async tier acknowledged.", [](T t) {
               return t.write_behind ? Opt(t.write_behind->flushed) : std::nullopt;
             });
  TierFamily(out, tiers, "tiercache_write_behind_dropped_total", "counter",
             "Queued writes lost to the overflow policy of a full write-behind queue.", [](T t) {
               return t.write_behind ? Opt(t.write_behind->dropped) : std::nullopt;
             });
  TierFamily(out, tiers, "tiercache_write_behind_failed_batches_total", "counter",
             "Write-behind batches a tier refused (their writes are retried).", [](T t) {
               return t.write_behind ? Opt(t.write_behind->failed_batches) : std::nullopt;
             });
  TierFamily(out, tiers, "tiercache_tag_index_memberships", "gauge",
             "(entry, tag) pairs a lower tier keeps for tag invalidation, as last measured.",
             [](T t) { return t.tag_index.measured ? Opt(t.tag_index.memberships) : std::nullopt; });
  TierFamily(out, tiers, "tiercache_tag_index_bytes", "gauge",
             "Bytes of a lower tier's tag bookkeeping, as last measured.",
             [](T t) { return t.tag_index.measured ? Opt(t.tag_index.bytes) : std::nullopt; });
}

// One family with one sample per warming source.
template <class Value>
void SourceFamily(std::string& out, const std::vector<WarmSourceStatus>& sources,
                  std::string_view name, std::string_view type, std::string_view help,
                  Value value) {
  AppendFamilyHeader(out, name, type, help);
  for (const auto& s : sources) {
    AppendSample(out, name, "source=\"" + LabelValue(s.name) + "\"", value(s));
  }
}

void RenderWarmingMetrics(std::string& out, const std::vector<WarmSourceStatus>& sources) {
  if (sources.empty()) return;
  using S = const WarmSourceStatus&;
  SourceFamily(out, sources, "tiercache_warm_runs_total", "counter", "Finished warming runs.",
               [](S s) { return static_cast<double>(s.runs); });
  SourceFamily(out, sources, "tiercache_warm_failed_runs_total", "counter",
               "Warming runs that ended with an error (unreachable source, bad query).",
               [](S s) { return static_cast<double>(s.failed_runs); });
  SourceFamily(out, sources, "tiercache_warm_attempted_total", "counter",
               "Items finished warming runs tried (rows, endpoints, keys).",
               [](S s) { return static_cast<double>(s.attempted); });
  SourceFamily(out, sources, "tiercache_warm_keys_total", "counter",
               "Entries finished warming runs stored.",
               [](S s) { return static_cast<double>(s.written); });
  SourceFamily(out, sources, "tiercache_warm_failures_total", "counter",
               "Items finished warming runs could not store.",
               [](S s) { return static_cast<double>(s.failures); });
  SourceFamily(out, sources, "tiercache_warm_success_ratio", "gauge",
               "Entries stored of items attempted, over all finished runs (1 before any).",
               [](S s) { return s.success_rate(); });
  SourceFamily(out, sources, "tiercache_warm_running", "gauge",
               "1 while a run of the source is going on.",
               [](S s) { return s.last && s.last->running ? 1.0 : 0.0; });
  SourceFamily(out, sources, "tiercache_warm_last_run_duration_seconds", "gauge",
               "How long the last (or current) run took.",
               [](S s) { return s.last ? ToSeconds(s.last->duration) : 0.0; });
  SourceFamily(out, sources, "tiercache_warm_next_run_timestamp_seconds", "gauge",
               "When the next scheduled run is due (Unix time; 0: none scheduled).", [](S s) {
                 return s.next_run
                            ? std::chrono::duration<double>(s.next_run->time_since_epoch()).count()
                            : 0.0;
               });
}

void RenderKeyGroupMetrics(std::string& out, const std::vector<KeyGroupStats>& groups) {
  using G = const KeyGroupStats&;
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                          auto value) {
    AppendFamilyHeader(out, name, type, help);
    for (G g : groups) {
      AppendSample(out, name, "pattern=\"" + LabelValue(g.name) + "\"",
                   static_cast<double>(value(g)));
    }
  };
  AppendFamilyHeader(out, "tiercache_pattern_reads_total", "counter",
                     "Reads by key pattern and result (hit: served by any tier).");
  for (G g : groups) {
    const std::string label = "pattern=\"" + LabelValue(g.name) + "\",result=";
    AppendSample(out, "tiercache_pattern_reads_total", label + "\"hit\"",
                 static_cast<double>(g.hits));
    AppendSample(out, "tiercache_pattern_reads_total", label + "\"miss\"",
                 static_cast<double>(g.misses));
  }
  family("tiercache_pattern_expired_misses_total", "counter",
         "Misses of keys whose entry had expired (a longer TTL would have served them).",
         [](G g) { return g.expired_misses; });
  family("tiercache_pattern_evicted_misses_total", "counter",
         "Misses of keys L1 had evicted to make room.", [](G g) { return g.evicted_misses; });
  family("tiercache_pattern_writes_total", "counter", "Writes by key pattern.",
         [](G g) { return g.writes; });
  family("tiercache_pattern_unread_removals_total", "counter",
         "L1 entries that left (expired, evicted, replaced, removed) without being read.",
         [](G g) { return g.unread_removals; });
  family("tiercache_pattern_l1_entries", "gauge", "L1 entries by key pattern.",
         [](G g) { return g.entries; });
  family("tiercache_pattern_l1_bytes", "gauge", "Bytes charged in L1 by key pattern.",
         [](G g) { return g.bytes; });
}

void RenderJobMetrics(std::string& out, const std::vector<JobInfo>& jobs,
                      const std::vector<JobKindStats>& kinds) {
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                          auto value) {
    AppendFamilyHeader(out, name, type, help);
    for (const JobKindStats& k : kinds) {
      AppendSample(out, name, "kind=\"" + LabelValue(k.kind) + "\"", value(k));
    }
  };
  family("tiercache_job_runs_total", "counter", "Scheduled job runs finished, by kind of job.",
         [](const JobKindStats& k) { return static_cast<double>(k.runs); });
  family("tiercache_job_failed_runs_total", "counter", "Scheduled job runs that failed.",
         [](const JobKindStats& k) { return static_cast<double>(k.failed_runs); });
  family("tiercache_job_run_seconds_total", "counter", "Time spent running scheduled jobs.",
         [](const JobKindStats& k) { return ToSeconds(k.run_time); });
  AppendFamilyHeader(out, "tiercache_jobs_pending", "gauge",
                     "Scheduled jobs waiting or running (periodic ones included).");
  AppendSample(out, "tiercache_jobs_pending", "", static_cast<double>(jobs.size()));
}

void RenderConnectionMetrics(std::string& out, const std::vector<ConnectionCounts>& connections) {
  const auto label = [](const ConnectionCounts& c) {
    return "frontend=\"" + LabelValue(c.frontend.name()) + "\"";
  };
  AppendFamilyHeader(out, "tiercache_connections_open", "gauge", "Open client connections.");
  for (const ConnectionCounts& c : connections) {
    AppendSample(out, "tiercache_connections_open", label(c), static_cast<double>(c.open));
  }
  AppendFamilyHeader(out, "tiercache_connections_rejected_total", "counter",
                     "Connections refused at the connection limit.");
  for (const ConnectionCounts& c : connections) {
    AppendSample(out, "tiercache_connections_rejected_total", label(c),
                 static_cast<double>(c.rejected));
  }
}

void RenderL1Metrics(std::string& out, const L1Stats& l1) {
  const auto counter = [&](std::string_view name, std::string_view help, uint64_t v) {
    AppendFamilyHeader(out, name, "counter", help);
    AppendSample(out, name, "", static_cast<double>(v));
  };
  const auto gauge = [&](std::string_view name, std::string_view help, double v) {
    AppendFamilyHeader(out, name, "gauge", help);
    AppendSample(out, name, "", v);
  };
  counter("tiercache_l1_hits_total", "Lookups that found a live entry in L1.", l1.hits);
  counter("tiercache_l1_misses_total", "Lookups that found no live entry in L1.", l1.misses);
  counter("tiercache_l1_evictions_total", "Entries evicted from L1 to make room (LRU).",
          l1.evictions);
  counter("tiercache_l1_expirations_total", "Entries removed from L1 because they expired.",
          l1.expirations);
  gauge("tiercache_l1_entries", "Entries held in L1.", static_cast<double>(l1.entries));
  gauge("tiercache_l1_bytes", "Bytes charged for the entries held in L1.",
        static_cast<double>(l1.bytes));
  gauge("tiercache_l1_max_entries", "Configured bound on L1 entries.",
        static_cast<double>(l1.max_entries));
  gauge("tiercache_l1_max_bytes", "Configured bound on L1 bytes.",
        static_cast<double>(l1.max_bytes));
}

// Every tier that compresses, L1 included: one series each.
void RenderCompressionMetrics(std::string& out, const L1Stats& l1,
                              const std::vector<LowerTierStatus>& tiers) {
  std::vector<std::pair<std::string, const CompressionStats*>> compressing;
  if (l1.compression) compressing.emplace_back("L1", &*l1.compression);
  for (const auto& t : tiers) {
    if (t.compression) compressing.emplace_back(LabelValue(t.name), &*t.compression);
  }
  if (compressing.empty()) return;
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                          const std::vector<std::pair<std::string_view,
                                                      double (*)(const CompressionStats&)>>&
                              series) {
    AppendFamilyHeader(out, name, type, help);
    for (const auto& [tier, stats] : compressing) {
      for (const auto& [label, value] : series) {
        std::string labels = "tier=\"" + tier + "\"";
        if (!label.empty()) labels += "," + std::string(label);
        AppendSample(out, name, labels, value(*stats));
      }
    }
  };
  using C = const CompressionStats&;
  family("tiercache_compression_values_total", "counter",
         "Values of at least the tier's compress_min_bytes: stored compressed, or stored as "
         "they were because compression saved less than an eighth.",
         {{"outcome=\"compressed\"", [](C c) { return static_cast<double>(c.compressed); }},
          {"outcome=\"incompressible\"",
           [](C c) { return static_cast<double>(c.incompressible); }}});
  family("tiercache_compression_bytes_total", "counter",
         "Sizes of the values stored compressed, before and after compression.",
         {{"stage=\"before\"", [](C c) { return static_cast<double>(c.bytes_in); }},
          {"stage=\"after\"", [](C c) { return static_cast<double>(c.bytes_out); }}});
  family("tiercache_compression_ratio", "gauge",
         "Bytes after compression per byte before, over every value compressed since start.",
         {{"", [](C c) { return c.ratio(); }}});
  family("tiercache_decompressions_total", "counter",
         "Compressed values read back (failures: bytes that did not decompress).",
         {{"outcome=\"ok\"", [](C c) { return static_cast<double>(c.decompressed); }},
          {"outcome=\"failed\"", [](C c) { return static_cast<double>(c.failures); }}});
  family("tiercache_compression_cpu_seconds_total", "counter",
         "Time spent compressing and decompressing values.",
         {{"operation=\"compress\"", [](C c) { return ToSeconds(c.compress_time); }},
          {"operation=\"decompress\"", [](C c) { return ToSeconds(c.decompress_time); }}});
}

void RenderNamespaceMetrics(std::string& out, const std::vector<NamespaceStatus>& spaces) {
  if (spaces.empty()) return;
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                          const auto& samples) {
    AppendFamilyHeader(out, name, type, help);
    for (const auto& n : spaces) {
      const std::string label = "namespace=\"" + LabelValue(n.name) + "\"";
      samples(label, n);
    }
  };
  family("tiercache_namespace_version", "gauge",
         "The version a namespace's keys are stored under now.",
         [&](const std::string& label, const NamespaceStatus& n) {
           AppendSample(out, "tiercache_namespace_version", label,
                        static_cast<double>(n.version));
         });
  family("tiercache_namespace_reads_total", "counter", "Reads of a namespace's keys, by result.",
         [&](const std::string& label, const NamespaceStatus& n) {
           AppendSample(out, "tiercache_namespace_reads_total", label + ",result=\"hit\"",
                        static_cast<double>(n.hits));
           AppendSample(out, "tiercache_namespace_reads_total", label + ",result=\"miss\"",
                        static_cast<double>(n.reads - n.hits));
         });
  family("tiercache_namespace_writes_total", "counter", "Writes of a namespace's keys.",
         [&](const std::string& label, const NamespaceStatus& n) {
           AppendSample(out, "tiercache_namespace_writes_total", label,
                        static_cast<double>(n.writes));
         });
  family("tiercache_namespace_deletes_total", "counter", "Deletes of a namespace's keys.",
         [&](const std::string& label, const NamespaceStatus& n) {
           AppendSample(out, "tiercache_namespace_deletes_total", label,
                        static_cast<double>(n.deletes));
         });
  family("tiercache_namespace_bumps_total", "counter",
         "Times a namespace moved to a newer version (here, or heard of from another instance).",
         [&](const std::string& label, const NamespaceStatus& n) {
           AppendSample(out, "tiercache_namespace_bumps_total", label,
                        static_cast<double>(n.bumps));
         });
}

// The caching proxy's routes: requests by what the cache did, and the origin's side.
void RenderProxyMetrics(std::string& out, const std::vector<ProxyRouteStats>& routes) {
  if (routes.empty()) return;
  using R = const ProxyRouteStats&;
  static constexpr std::pair<std::string_view, uint64_t (*)(R)> kOutcomes[] = {
      {"hit", [](R r) { return r.hits; }},         {"miss", [](R r) { return r.misses; }},
      {"stale", [](R r) { return r.stale; }},      {"bypass", [](R r) { return r.bypass; }},
      {"collapsed", [](R r) { return r.collapsed; }},
      {"revalidated", [](R r) { return r.revalidated; }}};
  AppendFamilyHeader(out, "tiercache_proxy_requests_total", "counter",
                     "Requests the caching proxy took, by route and what the cache did.");
  for (const auto& r : routes) {
    for (const auto& [outcome, value] : kOutcomes) {
      AppendSample(out, "tiercache_proxy_requests_total",
                   "route=\"" + LabelValue(r.name) + "\",outcome=\"" + std::string(outcome) + "\"",
                   static_cast<double>(value(r)));
    }
  }
  AppendFamilyHeader(out, "tiercache_proxy_responses_stored_total", "counter",
                     "Origin responses the cache kept (stored) or could not keep (not_stored).");
  for (const auto& r : routes) {
    const std::string label = "route=\"" + LabelValue(r.name) + "\"";
    AppendSample(out, "tiercache_proxy_responses_stored_total", label + ",result=\"stored\"",
                 static_cast<double>(r.stored));
    AppendSample(out, "tiercache_proxy_responses_stored_total",
                 label + ",result=\"not_stored\"", static_cast<double>(r.not_stored));
  }
  AppendFamilyHeader(out, "tiercache_proxy_origin_requests_total", "counter",
                     "Requests sent to a route's origin.");
  for (const auto& r : routes) {
    AppendSample(out, "tiercache_proxy_origin_requests_total",
                 "route=\"" + LabelValue(r.name) + "\"", static_cast<double>(r.origin_requests));
  }
  AppendFamilyHeader(out, "tiercache_proxy_origin_errors_total", "counter",
                     "Origin requests that failed: unreachable, timed out, malformed, or a 5xx.");
  for (const auto& r : routes) {
    AppendSample(out, "tiercache_proxy_origin_errors_total",
                 "route=\"" + LabelValue(r.name) + "\"", static_cast<double>(r.origin_errors));
  }
  AppendFamilyHeader(out, "tiercache_proxy_origin_latency_seconds", "histogram",
                     "Time from sending a request to a route's origin to its whole response.");
  for (const auto& r : routes) {
    AppendHistogram(out, "tiercache_proxy_origin_latency_seconds",
                    "route=\"" + LabelValue(r.name) + "\"", r.origin_latency);
  }
}

}  // namespace

std::string RenderServiceMetrics(const MetricsSnapshot& m) {
  std::string out;
  out.reserve(16 * 1024);
  RenderRequestMetrics(out, m.requests);
  RenderL1Metrics(out, m.l1);
  RenderConnectionMetrics(out, m.connections);
  RenderLowerTierMetrics(out, m.lower_tiers);
  RenderCompressionMetrics(out, m.l1, m.lower_tiers);
  RenderNamespaceMetrics(out, m.namespaces);
  RenderProxyMetrics(out, m.proxy_routes);
  RenderWarmingMetrics(out, m.warming);
  if (m.key_groups) RenderKeyGroupMetrics(out, *m.key_groups);
  if (m.scheduler) RenderJobMetrics(out, m.jobs, m.job_kinds);
  AppendFamilyHeader(out, "tiercache_uptime_seconds", "gauge", "Seconds since the service started.");
  AppendSample(out, "tiercache_uptime_seconds", "", ToSeconds(m.uptime));
  return out;
}

std::string RenderPrometheus(const MetricsSnapshot& metrics) {
  std::string out = RenderServiceMetrics(metrics);
  AppendProcessMetrics(out);
  return out;
}

}  // namespace tiercache
