#include <nlohmann/json.hpp>
#include <variant>

#include "server/exposition/prometheus_text.h"
#include "server/exposition/status_json.h"
#include "server/http_status_map.h"
#include "server/json_body.h"
#include "server/routes.h"

namespace tiercache::http_api {

namespace {

// Reads a JSON array of strings into `out`; an error message if it is anything else.
std::optional<std::string> ReadStringArray(const nlohmann::json& value, std::string_view field,
                                           std::vector<std::string>& out) {
  if (!value.is_array()) return std::string(field) + " must be an array of strings";
  for (const auto& item : value) {
    if (!item.is_string()) return std::string(field) + " must be an array of strings";
    out.push_back(item.get<std::string>());
  }
  return std::nullopt;
}

// A model field's value as templates see it: strings as they are, integers in decimal.
std::optional<std::string> FieldText(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  return std::nullopt;
}

nlohmann::json RemovalsByTier(const std::vector<TierRemoval>& removals) {
  nlohmann::json tiers = nlohmann::json::object();
  for (const auto& r : removals) {
    if (r.error.empty()) {
      tiers[r.tier] = r.removed;
    } else {
      tiers[r.tier] = {{"removed", r.removed}, {"error", r.error}};
    }
  }
  return tiers;
}

// Decodes a POST /v1/invalidate body; an error response if it is not a valid request.
// `extra` names fields the caller reads itself (delay_seconds), skipped here.
std::variant<InvalidateRequest, Response> ParseInvalidateFields(const nlohmann::json& doc,
                                                                std::string_view extra = {}) {
  InvalidateRequest request;
  ModelInvalidation model;
  bool has_model = false;
  for (const auto& [field, value] : doc.items()) {
    if (field == "keys" || field == "tags" || field == "urls" || field == "url_prefixes") {
      auto& out = field == "keys"   ? request.keys
                  : field == "tags" ? request.tags
                  : field == "urls" ? request.urls
                                    : request.url_prefixes;
      if (auto error = ReadStringArray(value, field, out)) return BadRequest(*error);
    } else if (field == "pattern") {
      if (!value.is_string()) return BadRequest("pattern must be a string");
      request.pattern = value.get<std::string>();
    } else if (field == "model") {
      if (!value.is_string()) return BadRequest("model must be a string");
      model.model = value.get<std::string>();
      has_model = true;
    } else if (field == "instance_id") {
      auto id = FieldText(value);
      if (!id) return BadRequest("instance_id must be a string or an integer");
      model.fields["id"] = *id;
    } else if (field == "event") {
      if (!value.is_string()) return BadRequest("event must be save or delete");
      auto event = ParseModelEvent(value.get<std::string>());
      if (!event.ok()) return BadRequest(event.status().message());
      model.event = *event;
    } else if (field == "fields") {
      if (!value.is_object()) return BadRequest("fields must be an object");
      for (const auto& [name, v] : value.items()) {
        auto text = FieldText(v);
        if (!text) return BadRequest("fields." + name + " must be a string or an integer");
        model.fields[name] = *text;
      }
    } else if (field == "namespace") {
      if (!value.is_string()) return BadRequest("namespace must be a string");
      request.ns = value.get<std::string>();
    } else if (!extra.empty() && field == extra) {
      continue;
    } else {
      return BadRequest("unknown field '" + field + "' (expected " +
                        (extra.empty() ? "" : std::string(extra) + ", ") +
                        "keys, tags, pattern, model, instance_id, event, fields, namespace, urls, "
                        "url_prefixes)");
    }
  }
  if (has_model) {
    request.model = std::move(model);
  } else if (doc.contains("instance_id") || doc.contains("event") || doc.contains("fields")) {
    return BadRequest("instance_id, event and fields need a model");
  }
  return request;
}

// The body's "namespace", else the X-Cache-Namespace header's.
void TakeHeaderNamespace(const Request& req, InvalidateRequest& request) {
  if (request.ns.empty()) request.ns = req.ns;
}

std::variant<InvalidateRequest, Response> ParseInvalidate(const Request& req) {
  auto parsed = ParseJsonBody(req);
  if (auto* error = std::get_if<Response>(&parsed)) return std::move(*error);
  auto request = ParseInvalidateFields(std::get<nlohmann::json>(parsed));
  if (auto* r = std::get_if<InvalidateRequest>(&request)) TakeHeaderNamespace(req, *r);
  return request;
}

// What an invalidation cannot find is a model's rule or a namespace.
Response InvalidationError(const Status& status) {
  if (status.code() == StatusCode::kNotFound &&
      !status.message().starts_with("unknown namespace")) {
    return ErrorResponse(404, "unknown_model", status.message());
  }
  return ErrorResponse(status);
}

void Invalidate(Service& service, const Request& req, Router::Respond respond) {
  auto parsed = ParseInvalidate(req);
  if (auto* error = std::get_if<Response>(&parsed)) return respond(std::move(*error));
  service.Invalidate(HttpFrontend(), std::get<InvalidateRequest>(parsed),
                     [respond = std::move(respond)](Result<InvalidateResult> result) {
                       if (!result.ok()) return respond(InvalidationError(result.status()));
                       nlohmann::json body = {
                           {"invalidated", result->total()},
                           {"by_keys", result->by_keys},
                           {"by_tags", result->by_tags},
                           {"by_pattern", result->by_pattern},
                           {"tiers", RemovalsByTier(result->tiers)},
                       };
                       if (!result->models.empty()) body["models"] = result->models;
                       respond(JsonResponse(200, body.dump()));
                     });
}

void ScheduleInvalidation(Service& service, const Request& req, Router::Respond respond) {
  auto parsed = ParseJsonBody(req);
  if (auto* error = std::get_if<Response>(&parsed)) return respond(std::move(*error));
  const auto& doc = std::get<nlohmann::json>(parsed);
  if (!doc.contains("delay_seconds") || !doc.at("delay_seconds").is_number()) {
    return respond(BadRequest("delay_seconds must be a number of seconds from 0 to ten years"));
  }
  auto criteria = ParseInvalidateFields(doc, "delay_seconds");
  if (auto* error = std::get_if<Response>(&criteria)) return respond(std::move(*error));
  TakeHeaderNamespace(req, std::get<InvalidateRequest>(criteria));
  service.ScheduleInvalidation(HttpFrontend(), doc.at("delay_seconds").get<double>(),
                               std::get<InvalidateRequest>(std::move(criteria)),
                               [respond = std::move(respond)](Result<ScheduledJob> r) {
                                 if (!r.ok()) return respond(InvalidationError(r.status()));
                                 nlohmann::json body = {{"job_id", r->job_id},
                                                        {"due_unix_ms", UnixMillis(r->due)},
                                                        {"persisted", r->persisted}};
                                 respond(JsonResponse(202, body.dump()));
                               });
}

// POST /v1/warm {"entries": [{key, value, ttl, tags, content_type}, ...]}, the keys in
// namespace `ns` (the body's "namespace" or the header's).
void BulkLoad(Service& service, const nlohmann::json& entries, std::string_view ns,
              Router::Respond respond) {
  if (!entries.is_array()) return respond(BadRequest("entries must be an array"));
  std::vector<SetRequest> requests;
  requests.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const nlohmann::json& e = entries[i];
    const std::string at = "entries[" + std::to_string(i) + "]";
    if (!e.is_object()) return respond(BadRequest(at + " must be an object"));
    SetRequest& r = requests.emplace_back();
    for (const auto& [field, value] : e.items()) {
      const std::optional<Duration> ttl =
          field == "ttl" && value.is_number() ? RequestSeconds(value.get<double>()) : std::nullopt;
      if (field == "key" && value.is_string()) {
        r.key = value.get<std::string>();
      } else if (field == "value" && value.is_string()) {
        r.value = value.get<std::string>();
      } else if (ttl && *ttl > Duration::zero()) {
        r.ttl = *ttl;
      } else if (field == "tags") {
        if (auto error = ReadStringArray(value, at + ".tags", r.tags)) return respond(BadRequest(*error));
      } else if (field == "content_type" && value.is_string()) {
        r.content_type = value.get<std::string>();
      } else {
        return respond(BadRequest(at + "." + field +
                                  ": expected key (string), value (string), ttl (seconds > 0), "
                                  "tags (array of strings) or content_type (string)"));
      }
    }
    if (!e.contains("key") || !e.contains("value")) {
      return respond(BadRequest(at + " needs a key and a value"));
    }
    if (!ns.empty()) {
      auto stored = service.NamespacedKey(ns, r.key);
      if (!stored.ok()) return respond(ErrorResponse(stored.status()));
      r.key = std::move(stored).value();
    }
  }
  service.BulkLoad(HttpFrontend(), std::move(requests),
                   [respond = std::move(respond)](Result<uint64_t> loaded) {
                     if (!loaded.ok()) return respond(ErrorResponse(loaded.status()));
                     respond(JsonResponse(200, nlohmann::json{{"loaded", *loaded}}.dump()));
                   });
}

void Warm(Service& service, const Request& req, Router::Respond respond) {
  auto parsed = ParseJsonBody(req);
  if (auto* error = std::get_if<Response>(&parsed)) return respond(std::move(*error));
  const auto& doc = std::get<nlohmann::json>(parsed);
  const bool named_ns = doc.contains("namespace") && doc.contains("entries");
  if (!doc.is_object() || doc.size() != (named_ns ? 2 : 1) ||
      !(doc.contains("source") || doc.contains("entries"))) {
    return respond(BadRequest(
        "expected {\"source\": NAME} or {\"entries\": [...]} (with an optional namespace)"));
  }
  if (named_ns && !doc.at("namespace").is_string()) {
    return respond(BadRequest("namespace must be a string"));
  }
  if (doc.contains("entries")) {
    const std::string ns = named_ns ? doc.at("namespace").get<std::string>() : req.ns;
    return BulkLoad(service, doc.at("entries"), ns, std::move(respond));
  }
  if (!doc.at("source").is_string()) return respond(BadRequest("source must be a string"));
  const std::string name = doc.at("source").get<std::string>();
  const Status s = service.StartWarm(name);
  if (s.code() == StatusCode::kNotFound) {
    return respond(ErrorResponse(404, "unknown_source", s.message()));
  }
  if (s.code() == StatusCode::kUnavailable) {
    return respond(ErrorResponse(409, "already_running", s.message()));
  }
  if (!s.ok()) return respond(ErrorResponse(s));
  respond(JsonResponse(202, nlohmann::json{{"source", name}, {"started", true}}.dump()));
}

}  // namespace

void RegisterWarmRoutes(Router& router, Service& service) {
  router.AddAsync(Method::kPost, "/v1/warm",
                  [&service](Request& req, std::string_view, Router::Respond respond) {
                    Warm(service, req, std::move(respond));
                  });
}

void RegisterJobRoutes(Router& router, Service& service) {
  router.AddAsync(Method::kPost, "/v1/invalidations/scheduled",
                  [&service](Request& req, std::string_view, Router::Respond respond) {
                    ScheduleInvalidation(service, req, std::move(respond));
                  });
  router.Add(Method::kGet, "/v1/jobs", [&service](Request&, std::string_view) {
    return JsonResponse(200, JobListToJson(service.ListJobs()));
  });
  router.Add(Method::kDelete, "/v1/jobs/", [&service](Request&, std::string_view id) {
    if (Status s = service.CancelJob(id); !s.ok()) return ErrorResponse(404, "not_found", s.message());
    Response r;
    r.status = 204;
    return r;
  });
}

void RegisterAdminRoutes(Router& router, Service& service, const std::atomic<bool>& ready) {
  router.AddAsync(Method::kPost, "/v1/invalidate",
                  [&service](Request& req, std::string_view, Router::Respond respond) {
                    Invalidate(service, req, std::move(respond));
                  });

  router.AddAsync(Method::kPost, "/v1/clear",
                  [&service](Request&, std::string_view, Router::Respond respond) {
    service.Clear(HttpFrontend(), [respond = std::move(respond)](Result<ClearResult> removed) {
      if (!removed.ok()) return respond(ErrorResponse(removed.status()));
      nlohmann::json body = {{"removed", removed->total()},
                             {"tiers", RemovalsByTier(removed->tiers)}};
      respond(JsonResponse(200, body.dump()));
    });
  });

  router.Add(Method::kGet, "/v1/namespaces", [&service](Request&, std::string_view) {
    return JsonResponse(200, NamespaceListToJson(service.ListNamespaces()));
  });

  // POST /v1/namespaces/{name}/bump
  router.AddAsync(Method::kPost, "/v1/namespaces/",
                  [&service](Request&, std::string_view rest, Router::Respond respond) {
    constexpr std::string_view kBump = "/bump";
    if (!rest.ends_with(kBump) || rest.size() == kBump.size()) {
      return respond(ErrorResponse(404, "not_found", "expected /v1/namespaces/{name}/bump"));
    }
    service.BumpNamespace(HttpFrontend(), rest.substr(0, rest.size() - kBump.size()),
                          [respond = std::move(respond)](Result<NamespaceStatus> bumped) {
                            if (!bumped.ok()) return respond(ErrorResponse(bumped.status()));
                            respond(JsonResponse(200, NamespaceToJson(*bumped)));
                          });
  });

  router.Add(Method::kGet, "/v1/status", [&service](Request&, std::string_view) {
    return JsonResponse(200, StatusToJson(service.GetStatus(HttpFrontend())));
  });

  router.Add(Method::kGet, "/metrics", [&service](Request&, std::string_view) {
    Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = RenderPrometheus(service.Metrics());
    return r;
  });

  router.Add(Method::kGet, "/healthz", [](Request&, std::string_view) {
    return JsonResponse(200, R"({"status":"ok"})");
  });

  router.Add(Method::kGet, "/readyz", [&ready, &service](Request&, std::string_view) {
    if (!ready.load(std::memory_order_acquire)) {
      return ErrorResponse(503, "not_ready", "the server is starting or shutting down");
    }
    if (!service.Ready()) {
      return ErrorResponse(503, "not_ready", "a tier marked required is down");
    }
    return JsonResponse(200, R"({"status":"ready"})");
  });
}

}  // namespace tiercache::http_api
