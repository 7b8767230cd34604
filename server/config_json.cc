#include "server/config_json.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/units.h"
#include "core/proxy_route.h"
#include "core/settings.h"
#include "server/secret_redaction.h"

namespace tiercache {
namespace {

using config::FormatDuration;
using nlohmann::json;

// The loader refuses an empty string for every text setting, so an unset one is left out
// rather than written as "".
void SetIfNotEmpty(json& object, const char* key, const std::string& value) {
  if (!value.empty()) object[key] = value;
}

// A kind's settings (core/settings.h) as members of one JSON object, secrets redacted.
class JsonSettingsWriter final : public SettingsWriter {
 public:
  explicit JsonSettingsWriter(json& object) : object_(object) {}

  void Text(std::string_view name, std::string_view value) override {
    Set(name, std::string(value));
  }
  void Count(std::string_view name, uint64_t value) override { Set(name, value); }
  void Number(std::string_view name, double value) override { Set(name, value); }
  void Bool(std::string_view name, bool value) override { Set(name, value); }
  void Duration(std::string_view name, tiercache::Duration value) override {
    Set(name, FormatDuration(value));
  }
  void Url(std::string_view name, std::string_view value) override { Set(name, RedactUrl(value)); }
  void PostgresDsn(std::string_view name, std::string_view value) override {
    Set(name, RedactPostgresDsn(value));
  }
  void Secret(std::string_view name, std::string_view) override {
    Set(name, std::string(kRedacted));
  }

 private:
  void Set(std::string_view name, json value) { object_[std::string(name)] = std::move(value); }

  json& object_;
};

json ServerJson(const config::ServerConfig& s) {
  return {
      {"http_listen", s.http_listen.ToString()},
      {"grpc_listen", s.grpc_listen.ToString()},
      {"resp_listen", s.resp_listen ? s.resp_listen->ToString() : std::string()},
      {"io_threads", s.io_threads},
      {"max_connections", s.max_connections},
      {"idle_timeout", FormatDuration(s.idle_timeout)},
      {"shutdown_timeout", FormatDuration(s.shutdown_timeout)},
  };
}

json LimitsJson(const Limits& l) {
  return {
      {"max_key_bytes", l.max_key_bytes},
      {"max_value_bytes", l.max_value_bytes},
      {"max_request_body_bytes", l.max_request_body_bytes},
      {"max_tags", l.max_tags},
      {"max_tag_bytes", l.max_tag_bytes},
      {"max_pattern_bytes", l.max_pattern_bytes},
      {"max_keys_per_request", l.max_keys_per_request},
  };
}

json L1Json(const L1Options& l1) {
  json out = {
      {"shards", l1.shards},
      {"max_entries", l1.max_entries},
      {"max_bytes", l1.max_bytes},
      {"ttl_factor", l1.ttl_factor},
      {"sweep_interval", FormatDuration(l1.sweep_interval)},
      {"policy", l1.policy == L1Policy::kLru ? "lru" : "tinylfu"},
  };
  out["compress_min_bytes"] = l1.compress_min_bytes;
  out["compression"] = CompressionCodecName(l1.compression);
  if (!l1.hot_set.path.empty()) {
    out["hot_set"] = {{"path", l1.hot_set.path},
                      {"max_keys", l1.hot_set.max_keys},
                      {"restore_timeout", FormatDuration(l1.hot_set.restore_timeout)}};
  }
  return out;
}

json StrategiesJson(const StrategyOptions& s) {
  json negative = json::array();
  for (const auto& rule : s.negative) {
    negative.push_back({{"match", rule.match->pattern()}, {"ttl", FormatDuration(rule.ttl)}});
  }
  return {
      {"default_timeout", FormatDuration(s.default_timeout)},
      {"default_strategy", s.default_strategy == StrategyKind::kTtl ? "ttl" : "adaptive"},
      {"max_timeout", FormatDuration(s.max_timeout)},
      {"adaptive",
       {
           {"base_timeout", FormatDuration(s.adaptive.base_timeout)},
           {"min_timeout", FormatDuration(s.adaptive.min_timeout)},
           {"max_timeout", FormatDuration(s.adaptive.max_timeout)},
       }},
      {"negative", std::move(negative)},
  };
}

json TierJson(const config::TierConfig& t) {
  const LowerTierOptions& o = t.options;
  json tier = {
      {"type", std::string(t.kind->name())},
      {"name", t.name},
      {"ttl_factor", o.ttl_factor},
      {"write_mode", o.write_mode == WriteMode::kSync ? "sync" : "async"},
      {"required", o.required},
      {"failure_threshold", o.failure_threshold},
      {"compression", CompressionCodecName(o.compression.codec)},
      {"compress_min_bytes", o.compression.min_bytes},
      {"write_behind",
       {
           {"capacity", o.write_behind.capacity},
           {"batch_size", o.write_behind.batch_size},
           {"overflow",
            o.write_behind.overflow == OverflowPolicy::kDropOldest ? "drop_oldest" : "drop_newest"},
       }},
  };
  JsonSettingsWriter writer(tier);
  t.kind->Show(*t.settings, writer);
  return tier;
}

json ModelRuleJson(const ModelRule& rule) {
  json on = json::array();
  for (ModelEvent e : rule.on) on.push_back(std::string(ModelEventName(e)));
  json related = json::array();
  for (const RelatedModel& r : rule.related) {
    json fields = json::object();
    for (const auto& [name, value] : r.fields) fields[name] = value;
    related.push_back({{"model", r.model}, {"fields", std::move(fields)}});
  }
  return {{"model", rule.model},       {"on", std::move(on)},
          {"keys", rule.keys},         {"tags", rule.tags},
          {"patterns", rule.patterns}, {"related", std::move(related)},
          {"cascade", rule.cascade}};
}

json InvalidationJson(const config::InvalidationConfig& invalidation) {
  json out = json::object();
  if (!invalidation.models.empty()) {
    json models = json::array();
    for (const ModelRule& rule : invalidation.models.rules()) models.push_back(ModelRuleJson(rule));
    out["models"] = std::move(models);
  }
  if (invalidation.listen) {
    out["listen"] = {
        {"dsn", RedactPostgresDsn(invalidation.listen->dsn)},
        {"channel", invalidation.listen->channel},
    };
  }
  return out;
}

json CoherenceJson(const config::Config& config) {
  const config::CoherenceConfig& c = config.coherence;
  // As MakeCoherenceBus decides: on when a tier's kind offers a bus (a Redis tier).
  bool has_bus = false;
  for (const config::TierConfig& t : config.tiers) {
    has_bus = has_bus || t.kind->OffersCoherenceBus();
  }
  json out = {
      {"enabled", c.enabled.value_or(has_bus)},
      {"channel", c.channel},
      {"max_staleness", FormatDuration(c.max_staleness)},
  };
  if (!c.url.empty()) out["url"] = RedactUrl(c.url);
  SetIfNotEmpty(out, "instance_id", c.instance_id);
  return out;
}

json HttpEndpointJson(const HttpWarmEndpoint& e) {
  json headers = json::object();
  for (const auto& [name, value] : e.headers) {
    headers[name] = LooksSecret(name) ? std::string(kRedacted) : value;
  }
  json out = {
      {"path", RedactUrl(e.path)},
      {"method", e.method},
      {"headers", std::move(headers)},
      {"tags", e.tags},
  };
  SetIfNotEmpty(out, "key", e.key);
  SetIfNotEmpty(out, "name", e.name);
  return out;
}

json WarmSourceJson(const config::WarmSourceConfig& c, const config::Config& config) {
  const WarmSourceOptions& o = c.options;
  std::vector<std::string> tiers = o.tiers;
  if (tiers.empty()) {  // every tier, as the warming engine reads an empty list
    tiers.push_back("L1");
    for (const config::TierConfig& t : config.tiers) tiers.push_back(t.name);
  }
  json out = {
      {"name", o.name},
      {"on_start", o.on_start},
      {"max_keys_per_second", o.max_keys_per_second},
      {"max_in_flight", o.max_in_flight},
      {"tiers", tiers},
      {"ttl", FormatDuration(c.ttl.value_or(config.strategies.default_timeout))},
  };
  // 0 is "no schedule", which the loader can only read as the key's absence.
  if (o.interval > Duration::zero()) out["interval"] = FormatDuration(o.interval);
  switch (c.type) {
    case config::WarmSourceType::kSql: {
      const SqlWarmOptions& s = c.sql;
      out.update({
          {"type", "sql"},
          {"tags", s.tags},
          {"batch_rows", s.batch_rows},
          {"connect_timeout", FormatDuration(s.connect_timeout)},
          {"statement_timeout", FormatDuration(s.statement_timeout)},
      });
      if (!s.dsn.empty()) out["dsn"] = RedactPostgresDsn(s.dsn);
      SetIfNotEmpty(out, "query", s.query);
      SetIfNotEmpty(out, "key", s.key);
      SetIfNotEmpty(out, "value_column", s.value_column);
      break;
    }
    case config::WarmSourceType::kHttp: {
      const HttpWarmOptions& h = c.http;
      json endpoints = json::array();
      for (const HttpWarmEndpoint& e : h.endpoints) endpoints.push_back(HttpEndpointJson(e));
      out.update({
          {"type", "http"},
          {"endpoints", std::move(endpoints)},
          {"max_attempts", h.max_attempts},
          {"backoff", FormatDuration(h.backoff)},
          {"timeout", FormatDuration(h.timeout)},
          {"max_body_bytes", h.max_body_bytes},
          {"concurrency", h.concurrency},
      });
      if (!h.base_url.empty()) out["base_url"] = RedactUrl(h.base_url);
      SetIfNotEmpty(out, "key", h.key);
      break;
    }
    case config::WarmSourceType::kHot:
      out.update({{"type", "hot"}, {"top", c.hot_top}});
      break;
    case config::WarmSourceType::kView: {
      json paths = json::array();
      for (const auto& p : c.view.paths) {
        json headers = json::object();
        for (const auto& [name, value] : p.headers) headers[name] = value;
        paths.push_back({{"path", p.path}, {"headers", std::move(headers)}});
      }
      json variants = json::array();
      for (const auto& v : c.view.variants) {
        json headers = json::object();
        for (const auto& [name, value] : v) headers[name] = value;
        variants.push_back(std::move(headers));
      }
      out.update({{"type", "view"},
                  {"paths", std::move(paths)},
                  {"variants", std::move(variants)},
                  {"timeout", FormatDuration(c.view.timeout)}});
      break;
    }
  }
  return out;
}

json ConditionsJson(const std::vector<ProxyCondition>& conditions) {
  json out = json::array();
  for (const ProxyCondition& c : conditions) {
    json item = json::object();
    switch (c.subject) {
      case ProxyCondition::Subject::kHeader: item["header"] = c.name; break;
      case ProxyCondition::Subject::kCookie: item["cookie"] = c.name; break;
      case ProxyCondition::Subject::kQuery: item["query"] = c.name; break;
      case ProxyCondition::Subject::kPath: item["path"] = c.matches->pattern(); break;
    }
    if (c.matches && c.subject != ProxyCondition::Subject::kPath) {
      item["matches"] = c.matches->pattern();
    }
    out.push_back(std::move(item));
  }
  return out;
}

json ProxyJson(const config::ProxyConfig& proxy) {
  json routes = json::array();
  for (const ProxyRoute& r : proxy.options.routes) {
    json route = {
        {"name", r.name},
        {"origin", RedactUrl(r.origin)},
        {"timeout", FormatDuration(r.timeout)},
        {"vary_on", r.vary_on},
        {"vary_on_auth", r.vary_on_auth.empty() ? json(false) : json(r.vary_on_auth)},
        {"vary_on_params", r.vary_params == VaryParams::kAll    ? json("all")
                           : r.vary_params == VaryParams::kNone ? json("none")
                                                                : json(r.vary_param_names)},
        {"cache_errors", r.cache_errors},
        {"cache_set_cookie", r.cache_set_cookie},
        {"pass_host", r.pass_host},
        {"cache_methods", r.cache_methods},
        {"bypass", ConditionsJson(r.bypass)},
        {"only_if", ConditionsJson(r.only_if)},
        {"tags", r.tags},
        {"stale_while_revalidate", FormatDuration(r.stale_while_revalidate)},
        {"stale_if_error", FormatDuration(r.stale_if_error)},
        {"connect_timeout", FormatDuration(r.connect_timeout)},
        {"origin_timeout", FormatDuration(r.origin_timeout)},
        {"max_idle_connections", r.max_idle_connections},
    };
    if (r.path_pattern) {
      route["path_pattern"] = r.path_pattern->pattern();
    } else {
      route["path_prefix"] = r.path_prefix;
    }
    SetIfNotEmpty(route, "key_prefix", r.key_prefix);
    routes.push_back(std::move(route));
  }
  return {{"listen", proxy.listen ? proxy.listen->ToString() : std::string()},
          {"max_cached_body_bytes", proxy.options.max_cached_body_bytes},
          {"max_body_bytes", proxy.options.max_body_bytes},
          {"max_origin_header_bytes", proxy.options.max_origin_header_bytes},
          {"routes", std::move(routes)}};
}

}  // namespace

json EffectiveConfigJson(const config::Config& config) {
  json tiers = json::array();
  for (const config::TierConfig& t : config.tiers) tiers.push_back(TierJson(t));
  json sources = json::array();
  for (const config::WarmSourceConfig& s : config.warming.sources) {
    sources.push_back(WarmSourceJson(s, config));
  }
  json key_patterns = json::array();
  for (const KeyGroupPattern& p : config.monitoring.key_patterns) {
    key_patterns.push_back({{"name", p.name}, {"match", p.pattern->pattern()}});
  }
  json namespaces = json::array();
  for (const auto& ns : config.namespaces) {
    namespaces.push_back({{"name", ns.name}, {"prefix", ns.prefix}, {"version", ns.version}});
  }
  return {
      {"server", ServerJson(config.server)},
      {"limits", LimitsJson(config.limits)},
      {"l1", L1Json(config.l1)},
      {"strategies", StrategiesJson(config.strategies)},
      {"logging",
       {
           {"level", config.logging.level},
           {"format", config.logging.format == config::LogFormat::kText ? "text" : "json"},
       }},
      {"tiers", std::move(tiers)},
      {"tier_health", {{"interval", FormatDuration(config.tier_health.interval)}}},
      {"invalidation", InvalidationJson(config.invalidation)},
      {"coherence", CoherenceJson(config)},
      {"scheduler", {{"workers", config.scheduler.workers}}},
      {"warming",
       {
           {"max_concurrent_runs", config.warming.max_concurrent_runs},
           {"busy_requests_per_second", config.warming.busy_requests_per_second},
           {"busy_share", config.warming.busy_share},
           {"sources", std::move(sources)},
       }},
      {"monitoring",
       {
           {"enabled", config.monitoring.enabled},
           {"key_patterns", std::move(key_patterns)},
           {"max_patterns", config.monitoring.max_patterns},
           {"miss_history", config.monitoring.miss_history},
       }},
      {"namespaces", std::move(namespaces)},
      {"proxy", ProxyJson(config.proxy)},
  };
}

}  // namespace tiercache
