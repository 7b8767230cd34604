#include <charconv>
#include <cmath>

#include "server/http_status_map.h"
#include "server/routes.h"
#include "server/url.h"

namespace tiercache::http_api {

namespace {

std::optional<double> ParseSeconds(std::string_view text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::vector<std::string> SplitTags(std::string_view text) {
  std::vector<std::string> tags;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    tags.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  return tags;
}

// Parses the query of a PUT into `request`; an error response if it is malformed.
std::optional<Response> ParsePutQuery(std::string_view query, SetRequest& request) {
  auto params = ParseQuery(query);
  if (!params) return BadRequest("malformed percent-encoding in the query string");
  for (auto& [name, value] : *params) {
    if (name == "ttl") {
      const auto seconds = ParseSeconds(value);
      if (!seconds) return BadRequest("ttl must be a number of seconds, got '" + value + "'");
      if (*seconds <= 0) return BadRequest("ttl must be greater than 0");
      request.ttl = RequestSeconds(*seconds);
      if (!request.ttl) return BadRequest("ttl must be at most ten years");
    } else if (name == "tags") {
      request.tags = SplitTags(value);
    } else if (name == "min_ttl" || name == "max_ttl") {
      const auto seconds = ParseSeconds(value);
      auto& bound = name == "min_ttl" ? request.min_ttl : request.max_ttl;
      if (seconds) bound = RequestSeconds(*seconds);
      if (!bound) return BadRequest(name + " must be a number of seconds, got '" + value + "'");
    } else if (name == "strategy") {
      if (value == "ttl") {
        request.strategy = StrategyKind::kTtl;
      } else if (value == "adaptive") {
        request.strategy = StrategyKind::kAdaptive;
      } else {
        return BadRequest("strategy must be 'ttl' or 'adaptive', got '" + value + "'");
      }
    } else {
      return BadRequest("unknown query parameter '" + name + "' (expected ttl, tags, strategy, min_ttl, max_ttl)");
    }
  }
  return std::nullopt;
}

// The key a /v1/keys/ path names, as stored: percent-decoded and put in the request's
// namespace (X-Cache-Namespace); an error response if either fails.
Result<std::string> KeyOf(const Service& service, const Request& req, std::string_view rest) {
  auto key = PercentDecode(rest);
  if (!key) return Status::InvalidArgument("malformed percent-encoding in the key");
  return service.NamespacedKey(req.ns, *key);
}

Response NoContent() {
  Response r;
  r.status = 204;
  return r;
}

// PUT with If-None-Match: * (Django's add, a lease): stored only if no tier holds the key;
// 412 otherwise. Through Service::Update, so with L1 alone the check and the write are one
// step; with lower tiers a read then a write.
void PutIfAbsent(Service& service, std::string_view condition, SetRequest set,
                 Router::Respond respond) {
  if (condition != "*") {
    return respond(BadRequest("If-None-Match takes only * (store if absent)"));
  }
  if (set.strategy == StrategyKind::kAdaptive) {
    return respond(BadRequest("strategy=adaptive cannot be combined with If-None-Match"));
  }
  auto existed = std::make_shared<bool>(false);
  auto write = std::make_shared<SetRequest>(std::move(set));
  std::string key = write->key;
  service.Update(
      HttpFrontend(), std::move(key),
      [write, existed](const StoredEntry* current) -> Result<EntryChange> {
        EntryChange change;
        if (current != nullptr) {
          *existed = true;
          return change;
        }
        change.action = EntryChange::Action::kWrite;
        change.value = std::move(write->value);
        change.ttl = write->ttl;
        change.tags = std::move(write->tags);
        change.content_type = std::move(write->content_type);
        return change;
      },
      [existed, respond = std::move(respond)](Status s) {
        if (!s.ok()) return respond(ErrorResponse(s));
        if (*existed) {
          return respond(ErrorResponse(412, "exists", "the key is already stored"));
        }
        respond(NoContent());
      });
}

void Increment(Service& service, std::string key, std::string_view by, Router::Respond respond) {
  int64_t delta = 0;
  const auto [end, ec] = std::from_chars(by.data(), by.data() + by.size(), delta);
  if (by.empty() || ec != std::errc() || end != by.data() + by.size()) {
    return respond(BadRequest("incr must be a 64-bit integer, got '" + std::string(by) + "'"));
  }
  service.Increment(HttpFrontend(), std::move(key), delta,
                    [respond = std::move(respond)](Result<int64_t> value) {
    if (!value.ok()) return respond(ErrorResponse(value.status()));
    Response r;
    r.content_type = "application/json";
    r.body = "{\"value\":" + std::to_string(*value) + "}";
    respond(std::move(r));
  });
}

// A new lifetime for a live entry, its value, tags and content type kept; 404 if absent.
void Touch(Service& service, std::string key, std::string_view ttl, Router::Respond respond) {
  const auto seconds = ParseSeconds(ttl);
  if (!seconds) return respond(BadRequest("ttl must be a number of seconds, got '" +
                                          std::string(ttl) + "'"));
  if (*seconds <= 0) return respond(BadRequest("ttl must be greater than 0"));
  const auto lifetime_or = RequestSeconds(*seconds);
  if (!lifetime_or) return respond(BadRequest("ttl must be at most ten years"));
  const Duration lifetime = *lifetime_or;
  auto found = std::make_shared<bool>(false);
  service.Update(
      HttpFrontend(), std::move(key),
      [lifetime, found](const StoredEntry* current) -> Result<EntryChange> {
        EntryChange change;
        if (current == nullptr) return change;
        *found = true;
        change.action = EntryChange::Action::kWrite;
        change.value = std::string(*current->value);
        change.ttl = lifetime;
        return change;
      },
      [found, respond = std::move(respond)](Status s) {
        if (!s.ok()) return respond(ErrorResponse(s));
        if (!*found) return respond(ErrorResponse(404, "not_found", "no tier holds the key"));
        respond(NoContent());
      });
}

}  // namespace

void RegisterKeyRoutes(Router& router, Service& service) {
  router.AddAsync(Method::kGet, "/v1/keys/",
                  [&service](Request& req, std::string_view rest, Router::Respond respond) {
    auto key = KeyOf(service, req, rest);
    if (!key.ok()) return respond(ErrorResponse(key.status()));
    service.Get(HttpFrontend(), *key, [respond = std::move(respond)](Result<Hit> hit) {
      if (!hit.ok()) return respond(ErrorResponse(hit.status()));
      Response r;
      // As stored by its writer; bytes of no stated type otherwise.
      r.content_type = hit->content_type ? *hit->content_type : "application/octet-stream";
      r.shared_body = std::move(hit->value);
      const auto ttl = std::chrono::ceil<std::chrono::seconds>(hit->ttl_left).count();
      r.headers.emplace_back("X-Cache-Tier", std::string(hit->tier));
      r.headers.emplace_back("X-Cache-TTL", std::to_string(ttl));
      respond(std::move(r));
    });
  });

  router.AddAsync(Method::kPut, "/v1/keys/",
                  [&service](Request& req, std::string_view rest, Router::Respond respond) {
    auto key = KeyOf(service, req, rest);
    if (!key.ok()) return respond(ErrorResponse(key.status()));
    SetRequest set;
    set.key = std::move(*key);
    if (auto error = ParsePutQuery(SplitTarget(req.target).second, set)) {
      return respond(std::move(*error));
    }
    set.value = std::move(req.body);
    set.content_type = req.content_type;
    if (!req.if_none_match.empty()) {
      return PutIfAbsent(service, req.if_none_match, std::move(set), std::move(respond));
    }
    service.Set(HttpFrontend(), std::move(set), [respond = std::move(respond)](Status s) {
      respond(s.ok() ? NoContent() : ErrorResponse(s));
    });
  });

  // POST changes an entry in place: ?incr=N adds N to the integer it holds (absent: 0),
  // ?ttl=S gives it S seconds from now (Django's touch).
  router.AddAsync(Method::kPost, "/v1/keys/",
                  [&service](Request& req, std::string_view rest, Router::Respond respond) {
    auto key = KeyOf(service, req, rest);
    if (!key.ok()) return respond(ErrorResponse(key.status()));
    auto params = ParseQuery(SplitTarget(req.target).second);
    if (!params) return respond(BadRequest("malformed percent-encoding in the query string"));
    if (params->size() != 1 || ((*params)[0].first != "incr" && (*params)[0].first != "ttl")) {
      return respond(BadRequest("POST /v1/keys/{key} takes exactly one of incr=N or ttl=S"));
    }
    const auto& [name, value] = (*params)[0];
    if (name == "incr") return Increment(service, std::move(*key), value, std::move(respond));
    Touch(service, std::move(*key), value, std::move(respond));
  });

  router.AddAsync(Method::kDelete, "/v1/keys/",
                  [&service](Request& req, std::string_view rest, Router::Respond respond) {
    auto key = KeyOf(service, req, rest);
    if (!key.ok()) return respond(ErrorResponse(key.status()));
    service.Delete(HttpFrontend(), *key, [respond = std::move(respond)](Status s) {
      respond(s.ok() ? NoContent() : ErrorResponse(s));
    });
  });
}

}  // namespace tiercache::http_api
