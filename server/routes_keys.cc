#include <charconv>
#include <cmath>

#include <mutex>
#include <variant>
#include <nlohmann/json.hpp>

#include "server/base64.h"
#include "server/http_status_map.h"
#include "server/json_body.h"
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

// A lifetime sent as `name`: seconds, more than 0 and at most ten years.
std::variant<Duration, Response> ParseTtl(std::string_view name, std::string_view text) {
  const auto seconds = ParseSeconds(text);
  if (!seconds) {
    return BadRequest(std::string(name) + " must be a number of seconds, got '" +
                      std::string(text) + "'");
  }
  if (*seconds <= 0) return BadRequest(std::string(name) + " must be greater than 0");
  const auto lifetime = RequestSeconds(*seconds);
  if (!lifetime) return BadRequest(std::string(name) + " must be at most ten years");
  return *lifetime;
}

// Parses the query of a PUT into `request`; an error response if it is malformed.
std::optional<Response> ParsePutQuery(std::string_view query, SetRequest& request) {
  auto params = ParseQuery(query);
  if (!params) return BadRequest("malformed percent-encoding in the query string");
  for (auto& [name, value] : *params) {
    if (name == "ttl" || name == "min_ttl" || name == "max_ttl") {
      auto ttl = ParseTtl(name, value);
      if (auto* error = std::get_if<Response>(&ttl)) return std::move(*error);
      const Duration lifetime = std::get<Duration>(ttl);
      if (name == "ttl") {
        request.ttl = lifetime;
      } else if (lifetime % std::chrono::seconds(1) != Duration::zero()) {
        return BadRequest(name + " must be whole seconds, got '" + value + "'");
      } else {
        (name == "min_ttl" ? request.min_ttl : request.max_ttl) = lifetime;
      }
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
      return BadRequest("unknown query parameter '" + name +
                        "' (expected ttl, tags, strategy, min_ttl, max_ttl)");
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
  // Stored as a fixed lifetime: the adaptive strategy and its bounds do not apply.
  if (set.strategy == StrategyKind::kAdaptive || set.min_ttl || set.max_ttl) {
    return respond(BadRequest("strategy=adaptive, min_ttl and max_ttl cannot be combined with "
                              "If-None-Match"));
  }
  auto existed = std::make_shared<bool>(false);
  auto write = std::make_shared<SetRequest>(std::move(set));
  std::string key = write->key;
  service.Update(
      HttpFrontend(), std::move(key),
      [write, existed](const StoredEntry* current) -> Result<EntryChange> {
        if (current != nullptr) {
          *existed = true;
          return EntryChange{};
        }
        EntryChange change;
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
    respond(JsonResponse(200, "{\"value\":" + std::to_string(*value) + "}"));
  });
}

// A new lifetime for a live entry, its value, tags and content type kept; 404 if absent.
// With lower tiers it is a read then a write: a write of the key in between is overwritten.
// The entry's lifetime becomes a fixed one (an adaptive entry stops adapting).
void Touch(Service& service, std::string key, std::string_view ttl, Router::Respond respond) {
  auto parsed = ParseTtl("ttl", ttl);
  if (auto* error = std::get_if<Response>(&parsed)) return respond(std::move(*error));
  const Duration lifetime = std::get<Duration>(parsed);
  auto found = std::make_shared<bool>(false);
  service.Update(
      HttpFrontend(), std::move(key),
      [lifetime, found](const StoredEntry* current) -> Result<EntryChange> {
        if (current == nullptr) return EntryChange{};
        *found = true;
        EntryChange change;
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

// The answers of one POST /v1/mget, filled in as each read answers (some at once from L1,
// others later on a tier's thread); the last one answers the request.
class MultiGet {
 public:
  MultiGet(size_t count, uint64_t max_bytes, Router::Respond respond)
      : answers_(count), left_(count), max_bytes_(max_bytes), respond_(std::move(respond)) {}

  void Answer(size_t i, Result<Hit> hit) {
    {
      std::lock_guard lock(mu_);
      answers_[i] = std::move(hit);
      if (--left_ != 0) return;
    }
    Finish();
  }

 private:
  // Written by hand: a JSON library's document of thousands of entries costs more than
  // reading them did.
  void Finish() {
    uint64_t values = 0;
    for (const auto& answer : answers_) {
      if (answer->ok()) values += (*answer)->value->size();
    }
    if (values > max_bytes_) {
      return respond_(ErrorResponse(
          413, "too_large",
          "the values of these keys hold " + std::to_string(values) +
              " bytes, over limits.max_request_body_bytes (" + std::to_string(max_bytes_) +
              "): read fewer keys a request"));
    }
    std::string body = R"({"entries":[)";
    for (size_t i = 0; i < answers_.size(); ++i) {
      if (i > 0) body += ',';
      const Result<Hit>& answer = *answers_[i];
      if (!answer.ok()) {
        if (answer.status().code() != StatusCode::kNotFound) {
          return respond_(ErrorResponse(answer.status()));
        }
        body += "null";
        continue;
      }
      const Hit& hit = *answer;
      body += R"({"value":")";
      body += Base64(*hit.value);
      body += R"(","content_type":)";
      AppendJsonString(body, hit.content_type ? std::string_view(*hit.content_type)
                                              : std::string_view("application/octet-stream"));
      body += R"(,"tier":)";
      AppendJsonString(body, hit.tier);
      body += R"(,"ttl":)";
      body += std::to_string(std::chrono::ceil<std::chrono::seconds>(hit.ttl_left).count());
      body += '}';
    }
    body += "]}";
    respond_(JsonResponse(200, std::move(body)));
  }

  // Content types and tier names are visible ASCII: only quotes and backslashes need escapes.
  static void AppendJsonString(std::string& out, std::string_view text) {
    out += '"';
    for (const char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) continue;  // never stored; never sent raw
      out += c;
    }
    out += '"';
  }

  std::mutex mu_;
  std::vector<std::optional<Result<Hit>>> answers_;
  size_t left_;
  const uint64_t max_bytes_;  // of values in one answer
  Router::Respond respond_;
};

// POST /v1/mget {"keys": [...]}: every key read as GET reads it, answered together in the
// keys' order, a miss as null: {"entries": [{"value": BASE64, "content_type", "tier",
// "ttl"} | null, ...]}. One bad key, or more than limits.max_keys_per_request, and nothing
// is read; values of more than limits.max_request_body_bytes together are a 413.
void ReadMany(Service& service, const Request& req, Router::Respond respond) {
  auto parsed = ParseJsonBody(req);
  if (auto* error = std::get_if<Response>(&parsed)) return respond(std::move(*error));
  const auto& doc = std::get<nlohmann::json>(parsed);
  if (doc.size() != 1 || !doc.contains("keys") || !doc.at("keys").is_array()) {
    return respond(BadRequest("expected {\"keys\": [KEY, ...]}"));
  }
  const auto& keys = doc.at("keys");
  const Limits& limits = service.limits();
  if (keys.size() > limits.max_keys_per_request) {
    return respond(ErrorResponse(413, "too_large",
                                 "more keys than limits.max_keys_per_request (" +
                                     std::to_string(service.limits().max_keys_per_request) +
                                     ")"));
  }
  std::vector<std::string> stored;
  stored.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!keys[i].is_string()) return respond(BadRequest("keys must be an array of strings"));
    auto key = service.NamespacedKey(req.ns, keys[i].get_ref<const std::string&>());
    if (!key.ok()) return respond(ErrorResponse(key.status()));
    // Checked before any is read, as a GET checks its key.
    if (key->empty()) return respond(BadRequest("keys[" + std::to_string(i) + "] is empty"));
    if (key->size() > limits.max_key_bytes) {
      return respond(ErrorResponse(413, "too_large",
                                   "keys[" + std::to_string(i) + "] exceeds limits.max_key_bytes"));
    }
    stored.push_back(std::move(*key));
  }
  if (stored.empty()) {
    return respond(JsonResponse(200, R"({"entries":[]})"));
  }
  auto gather = std::make_shared<MultiGet>(stored.size(), limits.max_request_body_bytes,
                                          std::move(respond));
  for (size_t i = 0; i < stored.size(); ++i) {
    std::optional<Result<Hit>> now = service.GetOrDefer(HttpFrontend(), stored[i], [&] {
      return Callback<Result<Hit>>(
          [gather, i](Result<Hit> hit) { gather->Answer(i, std::move(hit)); });
    });
    if (now) gather->Answer(i, std::move(*now));
  }
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

  router.AddAsync(Method::kPost, "/v1/mget",
                  [&service](Request& req, std::string_view, Router::Respond respond) {
                    ReadMany(service, req, std::move(respond));
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
