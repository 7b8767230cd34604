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
      request.ttl = Seconds(*seconds);
    } else if (name == "tags") {
      request.tags = SplitTags(value);
    } else if (name == "strategy") {
      if (value == "ttl") {
        request.strategy = StrategyKind::kTtl;
      } else if (value == "adaptive") {
        request.strategy = StrategyKind::kAdaptive;
      } else {
        return BadRequest("strategy must be 'ttl' or 'adaptive', got '" + value + "'");
      }
    } else {
      return BadRequest("unknown query parameter '" + name + "' (expected ttl, tags, strategy)");
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
    service.Set(HttpFrontend(), std::move(set), [respond = std::move(respond)](Status s) {
      respond(s.ok() ? NoContent() : ErrorResponse(s));
    });
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
