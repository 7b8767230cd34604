#include "core/response_cache.h"

#include <algorithm>
#include <cstdio>

#include "core/limits.h"
#include "core/service.h"
#include "core/stored_response.h"

namespace tiercache {

namespace {

using Secs = std::chrono::seconds;

std::string JsonText(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

int64_t SecondsIn(Duration d) {
  return std::max<int64_t>(0, std::chrono::duration_cast<Secs>(d).count());
}

// How an origin that gave no usable response is answered: 504 when it took too long, 502
// otherwise, with a code naming what went wrong.
std::pair<unsigned, std::string_view> OriginFailure(const Status& status) {
  switch (status.code()) {
    case StatusCode::kDeadlineExceeded: return {504, "origin_timeout"};
    case StatusCode::kInvalidArgument: return {502, "bad_origin_response"};
    case StatusCode::kTooLarge: return {502, "origin_response_too_large"};
    default: return {502, "origin_unavailable"};
  }
}

bool IsSafeMethod(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE";
}

// Statuses a cache may store without explicit freshness (RFC 9110 15.1 "heuristically
// cacheable").
bool HeuristicallyCacheable(unsigned status) {
  switch (status) {
    case 200: case 203: case 204: case 300: case 301: case 308:
    case 404: case 405: case 410: case 414: case 501:
      return true;
    default:
      return false;
  }
}

// The path of a Location or Content-Location value when it names this server: a path, or
// an absolute URL whose authority is the request's Host.
std::optional<std::string> SameOriginPath(std::string_view value, std::string_view host) {
  if (value.starts_with("/") && !value.starts_with("//")) {
    return std::string(value.substr(0, value.find_first_of("?#")));
  }
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!value.starts_with(scheme)) continue;
    const std::string_view rest = value.substr(scheme.size());
    const size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    if (host.empty() || !EqualsIgnoreCase(authority, host)) return std::nullopt;
    if (slash == std::string_view::npos) return std::string("/");
    const std::string_view path = rest.substr(slash);
    return std::string(path.substr(0, path.find_first_of("?#")));
  }
  return std::nullopt;
}

// Weak comparison (RFC 9110 8.8.3.2) of an entity tag against an If-None-Match list.
bool EtagListMatches(std::string_view list, std::string_view etag) {
  const auto opaque = [](std::string_view tag) {
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    return tag;
  };
  for (std::string_view member : SplitList(list)) {
    if (member == "*" || opaque(member) == opaque(etag)) return true;
  }
  return false;
}

}  // namespace

struct ResponseCache::RouteState {
  ProxyRoute route;
  std::shared_ptr<Origin> origin;
  std::atomic<uint64_t> requests{0}, hits{0}, misses{0}, stale{0}, revalidated{0}, bypass{0},
      collapsed{0}, stored{0}, not_stored{0}, origin_requests{0}, origin_errors{0};
  LatencyHistogram origin_latency;
};

// One client request on its way through the proxy.
struct ResponseCache::Exchange {
  ProxyRequest request;
  Callback<ProxyResponse> done;  // null for a background refresh
  RouteState* route = nullptr;
  PathCaptures captures;
  CacheControl request_cc;
  std::string key;          // the URL's key
  std::string variant_key;  // the variant's, once the origin's Vary is known
  std::vector<std::pair<std::string, std::string>> variant_fields;
  // A stale entry found on the way: what is revalidated, and served if the origin fails.
  SharedBytes stale_bytes;
  std::optional<DecodedResponse> stale;

  const std::string& flight_key() const { return variant_key.empty() ? key : variant_key; }
};

struct ResponseCache::Flight {
  std::string key;
  std::shared_ptr<Exchange> leader;
  std::vector<std::shared_ptr<Exchange>> waiters;  // guarded by flights_mu_
  const char* reason = "miss";
};

namespace {

ProxyResponse ErrorAnswer(unsigned status, std::string_view code, std::string_view message,
                          std::string_view cache_status) {
  ProxyResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Cache-Status", std::string(cache_status));
  r.body = std::make_shared<const std::string>("{\"error\":{\"code\":" + JsonText(code) +
                                               ",\"message\":" + JsonText(message) + "}}");
  return r;
}

// Freshness lifetime (RFC 9111 4.2.1) and whether the origin gave one.
std::pair<Duration, bool> Freshness(const CacheControl& cc, const HeaderList& headers,
                                    WallTime date) {
  if (cc.s_maxage) return {Secs(*cc.s_maxage), true};
  if (cc.max_age) return {Secs(*cc.max_age), true};
  if (auto expires = FindHeader(headers, "expires")) {
    // An invalid Expires (often "0") means already expired.
    auto when = ParseHttpDate(*expires);
    if (!when) return {Duration::zero(), true};
    return {std::max(Duration::zero(), std::chrono::duration_cast<Duration>(*when - date)), true};
  }
  return {Duration::zero(), false};
}

// `heuristic`: whether the route's timeout may stand in for freshness the origin did not
// give.
void FillLifetimes(StoredResponse& sr, const ProxyRoute& route, WallTime requested,
                   bool heuristic_allowed) {
  const CacheControl cc = ParseCacheControl(CombinedHeader(sr.headers, "cache-control"));
  WallTime date = sr.received;
  if (auto d = FindHeader(sr.headers, "date")) {
    if (auto parsed = ParseHttpDate(*d)) date = *parsed;
  }
  const auto [fresh, explicit_freshness] = Freshness(cc, sr.headers, date);
  sr.freshness = fresh;
  if (!explicit_freshness) {
    const bool heuristic = heuristic_allowed && (HeuristicallyCacheable(sr.status) ||
                                                 (route.cache_errors && sr.status >= 400));
    sr.freshness = heuristic ? route.timeout : Duration::zero();
  }
  // Age (RFC 9111 4.2.3).
  Duration age_value{0};
  if (auto a = FindHeader(sr.headers, "age")) {
    int64_t s = 0;
    for (char c : *a) {
      if (c < '0' || c > '9') break;
      s = std::min<int64_t>(s * 10 + (c - '0'), int64_t{1} << 31);
    }
    age_value = Secs(s);
  }
  const Duration apparent = std::max(Duration::zero(),
                                     std::chrono::duration_cast<Duration>(sr.received - date));
  const Duration delay = std::chrono::duration_cast<Duration>(sr.received - requested);
  sr.initial_age = std::max(apparent, age_value + std::max(Duration::zero(), delay));
  sr.must_revalidate = cc.must_revalidate || cc.proxy_revalidate;
  sr.no_cache = cc.no_cache;
  sr.stale_while_revalidate = cc.stale_while_revalidate ? Secs(*cc.stale_while_revalidate)
                                                        : route.stale_while_revalidate;
  sr.stale_if_error =
      cc.stale_if_error ? Secs(*cc.stale_if_error) : route.stale_if_error;
}

// What the cache keeps of a response's fields: the connection's own go, and Age, which is
// recomputed on every answer. The tags meant for the cache are kept with the entry (a 304
// refreshing it keeps them) and left out of every answer (ForClient).
void KeepEndToEnd(HeaderList& headers) {
  RemoveHopByHop(headers);
  RemoveHeader(headers, "age");
}

void ForClient(HeaderList& headers) {
  RemoveHeader(headers, "surrogate-key");
  RemoveHeader(headers, "cache-tag");
}

}  // namespace

ResponseCache::ResponseCache(ProxyOptions options, Service& service, const Limits& limits,
                             std::vector<std::shared_ptr<Origin>> origins, const Clock& clock)
    : options_(std::move(options)),
      service_(service),
      service_limits_(limits),
      clock_(clock),
      frontend_(Frontend::Named("proxy")) {
  for (size_t i = 0; i < options_.routes.size(); ++i) {
    auto state = std::make_unique<RouteState>();
    state->route = options_.routes[i];
    if (state->route.key_prefix.empty()) {
      state->route.key_prefix = "proxy:" + state->route.name + ":";
    }
    state->origin = i < origins.size() ? origins[i] : nullptr;
    routes_.push_back(std::move(state));
  }
}

ResponseCache::~ResponseCache() { Stop(); }

void ResponseCache::Stop() {
  // The origins first: their threads call back into everything else. Once they are
  // stopped no callback of theirs runs, and the requests waiting on a fetch are dropped.
  for (auto& state : routes_) {
    if (state->origin) state->origin->Stop();
  }
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights;
  {
    std::lock_guard lock(flights_mu_);
    flights.swap(flights_);
  }
}

void ResponseCache::Handle(ProxyRequest request, Callback<ProxyResponse> done) {
  auto ex = std::make_shared<Exchange>();
  ex->request = std::move(request);
  ex->done = std::move(done);
  if (ex->request.target.empty() || ex->request.target.front() != '/') {
    return ex->done(ErrorAnswer(400, "bad_request", "the request target must be a path",
                                "tiercache; fwd=bypass"));
  }
  const std::string_view path = ex->request.path();
  for (auto& state : routes_) {
    if (RouteTakes(state->route, path, ex->captures)) {
      ex->route = state.get();
      break;
    }
  }
  if (ex->route == nullptr || ex->route->origin == nullptr) {
    return ex->done(ErrorAnswer(404, "no_route",
                                "no proxy route takes " + std::string(path.substr(0, 256)),
                                "tiercache; fwd=bypass"));
  }
  RouteState& state = *ex->route;
  const ProxyRoute& route = state.route;
  state.requests.fetch_add(1, std::memory_order_relaxed);

  const std::string& method = ex->request.method;
  if (std::find(route.cache_methods.begin(), route.cache_methods.end(), method) ==
      route.cache_methods.end()) {
    return Pass(std::move(ex), "method");
  }
  // Ranges are the origin's to answer: the cache keeps whole responses only.
  if (FindHeader(ex->request.headers, "range")) return Pass(std::move(ex), "bypass");
  for (const ProxyCondition& c : route.bypass) {
    if (ConditionHolds(c, ex->request)) return Pass(std::move(ex), "bypass");
  }
  for (const ProxyCondition& c : route.only_if) {
    if (!ConditionHolds(c, ex->request)) return Pass(std::move(ex), "bypass");
  }
  const std::string cache_control = CombinedHeader(ex->request.headers, "cache-control");
  ex->request_cc = ParseCacheControl(cache_control);
  ex->key = ResponseKey(route, ex->request);
  const bool pragma_no_cache =
      cache_control.empty() &&
      EtagListMatches(CombinedHeader(ex->request.headers, "pragma"), "no-cache");
  if (ex->request_cc.no_cache || pragma_no_cache) return Fetch(std::move(ex), "request");
  std::string key = ex->key;
  Lookup(std::move(ex), std::move(key), false);
}

void ResponseCache::Lookup(std::shared_ptr<Exchange> ex, std::string key, bool variant) {
  service_.Get(frontend_, key, [this, ex, variant](Result<Hit> hit) mutable {
    if (hit.ok()) return OnHit(std::move(ex), std::move(hit->value), variant);
    if (hit.status().code() == StatusCode::kNotFound) {
      return Fetch(std::move(ex), variant ? "vary-miss" : "uri-miss");
    }
    // A key over the limits, or the cache unable to answer: the origin still can.
    Pass(std::move(ex), "bypass");
  });
}

void ResponseCache::OnHit(std::shared_ptr<Exchange> ex, SharedBytes value, bool variant) {
  auto decoded = DecodeStoredResponse(value ? std::string_view(*value) : std::string_view());
  if (!decoded.ok()) return Fetch(std::move(ex), "miss");
  const StoredResponse& sr = decoded->response;
  if (sr.kind == StoredResponse::Kind::kVariants) {
    if (variant) return Fetch(std::move(ex), "vary-miss");
    ex->variant_fields.clear();
    for (const auto& [name, unused] : sr.vary) {
      ex->variant_fields.emplace_back(name, CombinedHeader(ex->request.headers, name));
    }
    ex->variant_key = ResponseKey(ex->route->route, ex->request, ex->variant_fields);
    std::string key = ex->variant_key;
    return Lookup(std::move(ex), std::move(key), true);
  }
  for (const auto& [name, stored_value] : sr.vary) {
    if (CombinedHeader(ex->request.headers, name) != stored_value) {
      return Fetch(std::move(ex), "vary-miss");
    }
  }
  RouteState& state = *ex->route;
  const WallTime now = clock_.WallNow();
  const Duration age = sr.AgeAt(now);
  bool fresh = !sr.no_cache && age < sr.freshness;
  if (ex->request_cc.max_age && age > Secs(*ex->request_cc.max_age)) fresh = false;
  if (fresh) {
    state.hits.fetch_add(1, std::memory_order_relaxed);
    return Answer(*ex, *decoded, value,
                  "tiercache; hit; ttl=" + std::to_string(SecondsIn(sr.freshness - age)));
  }
  const Duration staleness = age - sr.freshness;
  if (!sr.must_revalidate && !sr.no_cache && staleness < sr.stale_while_revalidate) {
    state.stale.fetch_add(1, std::memory_order_relaxed);
    ex->stale_bytes = value;
    ex->stale = *decoded;
    Refresh(ex);
    return Answer(*ex, *decoded, value, "tiercache; hit; detail=stale-while-revalidate");
  }
  ex->stale_bytes = std::move(value);
  ex->stale = std::move(*decoded);
  Fetch(std::move(ex), "stale");
}

void ResponseCache::Refresh(std::shared_ptr<Exchange> ex) {
  auto background = std::make_shared<Exchange>(*ex);
  background->done = nullptr;
  Fetch(std::move(background), "stale");
}

OriginRequest ResponseCache::ForOrigin(const Exchange& ex, bool for_cache) const {
  OriginRequest o;
  o.method = ex.request.method;
  o.target = ex.request.target;
  o.headers = ex.request.headers;
  RemoveHopByHop(o.headers);
  // The body is here already: nothing for the origin to wait for a go-ahead on.
  RemoveHeader(o.headers, "expect");
  // Unless the route keys on it, the client's Host must not shape what others get: the
  // origin then gets its own.
  if (!ex.route->route.pass_host) RemoveHeader(o.headers, "host");
  if (for_cache) {
    // The cache wants the whole response: a HEAD is fetched as a GET, and the client's own
    // validators are answered by the cache, not passed on.
    if (o.method == "HEAD") o.method = "GET";
    RemoveHeader(o.headers, "if-none-match");
    RemoveHeader(o.headers, "if-modified-since");
    if (ex.stale) {
      const HeaderList& stored = ex.stale->response.headers;
      if (auto etag = FindHeader(stored, "etag")) {
        o.headers.emplace_back("If-None-Match", std::string(*etag));
      }
      if (auto modified = FindHeader(stored, "last-modified")) {
        o.headers.emplace_back("If-Modified-Since", std::string(*modified));
      }
    }
  }
  o.headers.emplace_back("Via", "1.1 tiercache");
  // The client's address after those of the proxies before it (de facto standard).
  if (!ex.request.peer.empty()) {
    std::string chain = CombinedHeader(o.headers, "x-forwarded-for");
    RemoveHeader(o.headers, "x-forwarded-for");
    chain += (chain.empty() ? "" : ", ") + ex.request.peer;
    o.headers.emplace_back("X-Forwarded-For", std::move(chain));
  }
  o.body = ex.request.body;
  return o;
}

void ResponseCache::Fetch(std::shared_ptr<Exchange> ex, const char* reason) {
  RouteState& state = *ex->route;
  auto flight = std::make_shared<Flight>();
  {
    std::lock_guard lock(flights_mu_);
    auto [it, inserted] = flights_.try_emplace(ex->flight_key(), flight);
    if (!inserted) {
      if (ex->done) {
        state.collapsed.fetch_add(1, std::memory_order_relaxed);
        it->second->waiters.push_back(std::move(ex));
      }
      return;
    }
  }
  flight->key = ex->flight_key();
  flight->leader = ex;
  flight->reason = reason;
  state.misses.fetch_add(1, std::memory_order_relaxed);
  state.origin_requests.fetch_add(1, std::memory_order_relaxed);
  const TimePoint sent = clock_.Now();
  const WallTime requested = clock_.WallNow();
  state.origin->Fetch(ForOrigin(*ex, true),
                      [this, flight, sent, requested](Result<OriginResponse> result) {
                        OnOrigin(flight, std::move(result), sent, requested);
                      });
}

void ResponseCache::OnOrigin(std::shared_ptr<Flight> flight, Result<OriginResponse> result,
                             TimePoint sent, WallTime requested) {
  const std::shared_ptr<Exchange>& ex = flight->leader;
  RouteState& state = *ex->route;
  const ProxyRoute& route = state.route;
  state.origin_latency.Observe(clock_.Now() - sent);
  const WallTime now = clock_.WallNow();
  const auto take_waiters = [&] {
    std::lock_guard lock(flights_mu_);
    flights_.erase(flight->key);
    return std::move(flight->waiters);
  };
  const auto each = [&](std::vector<std::shared_ptr<Exchange>>& waiters, auto&& answer) {
    if (ex->done) answer(*ex);
    for (auto& w : waiters) answer(*w);
  };

  const bool failed = !result.ok() || result->status >= 500;
  if (failed) state.origin_errors.fetch_add(1, std::memory_order_relaxed);
  if (failed && ex->stale && !ex->stale->response.must_revalidate &&
      ex->stale->response.AgeAt(now) - ex->stale->response.freshness <
          ex->stale->response.stale_if_error) {
    auto waiters = take_waiters();
    const std::string cache_status =
        "tiercache; hit; fwd=stale; " +
        (result.ok() ? "fwd-status=" + std::to_string(result->status) + "; " : std::string()) +
        "detail=stale-if-error";
    each(waiters, [&](Exchange& e) {
      state.stale.fetch_add(1, std::memory_order_relaxed);
      Answer(e, *ex->stale, ex->stale_bytes, cache_status);
    });
    return;
  }
  if (!result.ok()) {
    auto waiters = take_waiters();
    const auto [status, code] = OriginFailure(result.status());
    const std::string message = "origin of route '" + route.name + "': " +
                                result.status().message();
    each(waiters, [&](Exchange& e) {
      if (e.done) e.done(ErrorAnswer(status, code, message,
                                     std::string("tiercache; fwd=") + flight->reason +
                                         "; detail=" + std::string(code)));
    });
    return;
  }

  OriginResponse& response = *result;
  StoredResponse sr;
  sr.received = now;
  bool revalidated = false;
  if (response.status == 304 && ex->stale) {
    // The stored response is still good: its fields are updated from the 304's (RFC 9111
    // 4.3.4) and it is stored anew.
    sr = ex->stale->response;
    sr.received = now;
    RemoveHopByHop(response.headers);
    // The stored Date is the old response's: the 304's, or none (now, below), replaces it.
    RemoveHeader(sr.headers, "date");
    for (auto& [name, value] : response.headers) {
      RemoveHeader(sr.headers, name);
    }
    for (auto& field : response.headers) sr.headers.push_back(std::move(field));
    response.status = sr.status;
    response.body.assign(ex->stale->body_offset < ex->stale_bytes->size()
                             ? std::string_view(*ex->stale_bytes).substr(ex->stale->body_offset)
                             : std::string_view());
    revalidated = true;
    state.revalidated.fetch_add(1, std::memory_order_relaxed);
  } else {
    sr.status = response.status;
    sr.headers = response.headers;
  }
  std::vector<std::string> tags = RouteTags(route, ex->request.path(), ex->captures);
  if (auto keys = FindHeader(sr.headers, "surrogate-key")) {
    std::string_view rest = *keys;
    while (!rest.empty()) {
      const size_t space = rest.find(' ');
      const std::string_view tag = rest.substr(0, space);
      if (!tag.empty()) tags.emplace_back(tag);
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
  }
  const std::string cache_tags = CombinedHeader(sr.headers, "cache-tag");
  for (std::string_view tag : SplitList(cache_tags)) tags.emplace_back(tag);
  tags.push_back(UrlTag(route, ex->request.path()));
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());

  const CacheControl cc = ParseCacheControl(CombinedHeader(sr.headers, "cache-control"));
  const std::string vary_field = LowerCase(CombinedHeader(sr.headers, "vary"));
  const bool has_credential = Credential(route, ex->request).has_value();
  // A request carrying a cookie or credentials may get a page made for its sender: the
  // route's timeout does not make that shareable, only the origin's own freshness (or a
  // route keeping each credential apart) does.
  const bool personal = FindHeader(ex->request.headers, "cookie").has_value() ||
                        FindHeader(ex->request.headers, "authorization").has_value();
  FillLifetimes(sr, route, requested, !personal || has_credential);
  KeepEndToEnd(sr.headers);
  // After the lifetimes: a Date of whole seconds added here would age the response by up
  // to a second.
  if (!FindHeader(sr.headers, "date")) sr.headers.emplace_back("Date", FormatHttpDate(now));

  // RFC 9111 3 and the route's rules: may this response be stored (and so shared)?
  const std::vector<std::string_view> vary_names = SplitList(vary_field);
  const Limits& limits = service_limits_;
  std::string not_stored;
  if (ex->request_cc.no_store || cc.no_store) {
    not_stored = "no-store";
  } else if (sr.status < 200 || sr.status == 206 || sr.status == 304) {
    not_stored = "status";
  } else if (sr.status >= 400 && !route.cache_errors) {
    not_stored = "error-status";
  } else if (cc.is_private && !has_credential) {
    not_stored = "private";
  } else if (FindHeader(ex->request.headers, "authorization") &&
             route.vary_on_auth != "authorization" &&
             !(cc.is_public || cc.s_maxage || cc.must_revalidate)) {
    not_stored = "authorization";
  } else if (FindHeader(sr.headers, "set-cookie") && !route.cache_set_cookie) {
    not_stored = "set-cookie";
  } else if (std::find(vary_names.begin(), vary_names.end(), "*") != vary_names.end()) {
    not_stored = "vary-star";
  } else if (sr.freshness - sr.initial_age + std::max(sr.stale_while_revalidate,
                                                      sr.stale_if_error) <= Duration::zero()) {
    not_stored = "not-fresh";
  } else if (response.body.size() > options_.max_cached_body_bytes) {
    not_stored = "too-large";
  } else if (tags.size() > limits.max_tags ||
             std::any_of(tags.begin(), tags.end(), [&](const std::string& t) {
               return t.size() > limits.max_tag_bytes;
             })) {
    not_stored = "too-many-tags";
  }

  std::string store_key = ex->key;
  if (not_stored.empty() && !vary_names.empty()) {
    sr.vary.clear();
    for (std::string_view name : vary_names) {
      sr.vary.emplace_back(std::string(name), CombinedHeader(ex->request.headers, name));
    }
    store_key = ResponseKey(route, ex->request, sr.vary);
  }
  auto bytes = std::make_shared<std::string>(EncodeStoredResponse(sr, response.body));
  if (not_stored.empty() && (store_key.size() > limits.max_key_bytes ||
                             bytes->size() > limits.max_value_bytes)) {
    not_stored = "too-large";
  }
  const Duration keep =
      std::max(Secs(1), std::chrono::duration_cast<Secs>(
                               sr.freshness - sr.initial_age +
                               std::max(sr.stale_while_revalidate, sr.stale_if_error)));
  if (not_stored.empty()) {
    // Stored before the flight ends: L1 has it when the next request for the key looks.
    if (!sr.vary.empty()) {
      StoredResponse marker;
      marker.kind = StoredResponse::Kind::kVariants;
      marker.received = now;
      marker.vary = sr.vary;
      Store(*ex, ex->key, EncodeStoredResponse(marker, {}), keep, tags);
    }
    Store(*ex, store_key, *bytes, keep, tags);
    state.stored.fetch_add(1, std::memory_order_relaxed);
  } else {
    state.not_stored.fetch_add(1, std::memory_order_relaxed);
  }
  auto waiters = take_waiters();

  DecodedResponse served;
  served.response = sr;
  served.body_offset = bytes->size() - response.body.size();
  const SharedBytes shared(std::shared_ptr<const std::string>(std::move(bytes)));
  std::string cache_status = std::string("tiercache; fwd=") +
                             (revalidated ? "stale" : flight->reason) + "; fwd-status=" +
                             std::to_string(revalidated ? 304 : sr.status);
  cache_status += not_stored.empty() ? "; stored" : "; detail=" + not_stored;
  if (ex->done) Answer(*ex, served, shared, cache_status);
  // Another request may take this response only if the cache could have served it to it:
  // stored, and with the same values of the fields the origin varies on.
  for (auto& w : waiters) {
    bool same = not_stored.empty();
    for (const auto& [name, value] : sr.vary) {
      same = same && CombinedHeader(w->request.headers, name) == value;
    }
    if (same) {
      Answer(*w, served, shared, cache_status + "; collapsed");
    } else if (!not_stored.empty()) {
      // Not for sharing (private, Set-Cookie, ...): each such request goes on its own.
      Pass(w, "miss", /*bypassed=*/false);
    } else {
      // Another variant: a flight of its own, under its variant's key.
      w->variant_fields.clear();
      for (const auto& [name, unused] : sr.vary) {
        w->variant_fields.emplace_back(name, CombinedHeader(w->request.headers, name));
      }
      w->variant_key = ResponseKey(route, w->request, w->variant_fields);
      Fetch(w, "vary-miss");
    }
  }
}

void ResponseCache::Store(const Exchange& ex, const std::string& key, std::string bytes,
                          Duration ttl, std::vector<std::string> tags) {
  SetRequest set;
  set.key = key;
  set.value = std::move(bytes);
  set.ttl = ttl;
  set.tags = std::move(tags);
  set.content_type = std::string(kStoredResponseType);
  set.strategy = StrategyKind::kTtl;
  service_.Set(frontend_, std::move(set), [route = ex.route](Status s) {
    if (!s.ok()) route->not_stored.fetch_add(1, std::memory_order_relaxed);
  });
}

void ResponseCache::Answer(const Exchange& ex, const DecodedResponse& stored,
                           const SharedBytes& bytes, const std::string& cache_status) const {
  if (!ex.done) return;
  const StoredResponse& sr = stored.response;
  ProxyResponse r;
  r.status = sr.status;
  const WallTime now = clock_.WallNow();
  // Validators of the client's own (RFC 9110 13.1.2, 13.1.3) are answered from the cache.
  bool not_modified = false;
  if (sr.status == 200 &&
      (ex.request.method == "GET" || ex.request.method == "HEAD")) {
    if (auto inm = FindHeader(ex.request.headers, "if-none-match")) {
      auto etag = FindHeader(sr.headers, "etag");
      not_modified = etag && EtagListMatches(*inm, *etag);
    } else if (auto ims = FindHeader(ex.request.headers, "if-modified-since")) {
      auto since = ParseHttpDate(*ims);
      auto modified = FindHeader(sr.headers, "last-modified");
      auto at = modified ? ParseHttpDate(*modified) : std::nullopt;
      not_modified = since && at && *at <= *since;
    }
  }
  if (not_modified) {
    r.status = 304;
    for (const auto& [name, value] : sr.headers) {
      for (std::string_view keep :
           {"cache-control", "content-location", "date", "etag", "expires", "vary"}) {
        if (EqualsIgnoreCase(name, keep)) r.headers.emplace_back(name, value);
      }
    }
  } else {
    r.headers = sr.headers;
    ForClient(r.headers);
    r.body = bytes;
    r.body_offset = stored.body_offset;
  }
  r.headers.emplace_back("Age", std::to_string(SecondsIn(sr.AgeAt(now))));
  r.headers.emplace_back("Cache-Status", cache_status);
  ex.done(std::move(r));
}

void ResponseCache::Pass(std::shared_ptr<Exchange> ex, const char* fwd, bool bypassed) {
  RouteState& state = *ex->route;
  if (bypassed) state.bypass.fetch_add(1, std::memory_order_relaxed);
  state.origin_requests.fetch_add(1, std::memory_order_relaxed);
  const TimePoint sent = clock_.Now();
  state.origin->Fetch(ForOrigin(*ex, false), [this, ex, fwd, sent](
                                                 Result<OriginResponse> result) mutable {
    RouteState& state = *ex->route;
    state.origin_latency.Observe(clock_.Now() - sent);
    const std::string cache_status = std::string("tiercache; fwd=") + fwd;
    if (!result.ok() || result->status >= 500) {
      state.origin_errors.fetch_add(1, std::memory_order_relaxed);
    }
    if (!result.ok()) {
      const auto [status, code] = OriginFailure(result.status());
      return ex->done(ErrorAnswer(status, code,
                                  "origin of route '" + state.route.name +
                                      "': " + result.status().message(),
                                  cache_status));
    }
    auto answer = std::make_shared<ProxyResponse>();
    answer->status = result->status;
    answer->headers = std::move(result->headers);
    RemoveHopByHop(answer->headers);
    ForClient(answer->headers);
    if (!FindHeader(answer->headers, "date")) {
      answer->headers.emplace_back("Date", FormatHttpDate(clock_.WallNow()));
    }
    answer->headers.emplace_back(
        "Cache-Status", cache_status + "; fwd-status=" + std::to_string(result->status));
    answer->body = std::make_shared<const std::string>(std::move(result->body));
    // A write that succeeded makes what is stored for its URL (and the URLs it names)
    // stale for everyone: removed before the client hears back.
    if (IsSafeMethod(ex->request.method) || answer->status >= 400) {
      return ex->done(std::move(*answer));
    }
    InvalidateRequest invalidate;
    invalidate.tags.push_back(UrlTag(state.route, ex->request.path()));
    const std::string host(FindHeader(ex->request.headers, "host").value_or(""));
    for (std::string_view field : {"location", "content-location"}) {
      auto value = FindHeader(answer->headers, field);
      if (!value) continue;
      if (auto path = SameOriginPath(*value, host)) {
        for (std::string& tag : UrlTags(*path)) invalidate.tags.push_back(std::move(tag));
      }
    }
    service_.Invalidate(frontend_, invalidate,
                        [ex, answer](Result<InvalidateResult>) { ex->done(std::move(*answer)); });
  });
}

std::vector<std::string> ResponseCache::UrlTags(std::string_view path) const {
  std::vector<std::string> tags;
  PathCaptures unused;
  for (const auto& state : routes_) {
    if (RouteTakes(state->route, path, unused)) tags.push_back(UrlTag(state->route, path));
  }
  return tags;
}

void ResponseCache::ResolvePurge(InvalidateRequest& request) const {
  for (const std::string& url : request.urls) {
    for (std::string& tag : UrlTags(url)) request.tags.push_back(std::move(tag));
  }
  // Every route's keys of the paths under each prefix: ^(?:KEYPREFIX)(?:PATH), quoted.
  static constexpr std::string_view kSpecial = "\\.+*?()|[]{}^$";
  const auto quoted = [](std::string_view text) {
    std::string out;
    for (char c : text) {
      if (kSpecial.find(c) != std::string_view::npos) out.push_back('\\');
      out.push_back(c);
    }
    return out;
  };
  std::string alternatives;
  for (const std::string& prefix : request.url_prefixes) {
    for (const auto& state : routes_) {
      if (!alternatives.empty()) alternatives += "|";
      alternatives += "^" + quoted(state->route.key_prefix) + quoted(prefix);
    }
  }
  if (!alternatives.empty()) {
    request.pattern = request.pattern ? "(?:" + *request.pattern + ")|" + alternatives
                                      : alternatives;
  }
  request.urls.clear();
  request.url_prefixes.clear();
}

std::vector<ProxyRouteStats> ResponseCache::Stats() const {
  std::vector<ProxyRouteStats> out;
  for (const auto& state : routes_) {
    ProxyRouteStats s;
    s.name = state->route.name;
    s.requests = state->requests.load(std::memory_order_relaxed);
    s.hits = state->hits.load(std::memory_order_relaxed);
    s.misses = state->misses.load(std::memory_order_relaxed);
    s.stale = state->stale.load(std::memory_order_relaxed);
    s.revalidated = state->revalidated.load(std::memory_order_relaxed);
    s.bypass = state->bypass.load(std::memory_order_relaxed);
    s.collapsed = state->collapsed.load(std::memory_order_relaxed);
    s.stored = state->stored.load(std::memory_order_relaxed);
    s.not_stored = state->not_stored.load(std::memory_order_relaxed);
    s.origin_requests = state->origin_requests.load(std::memory_order_relaxed);
    s.origin_errors = state->origin_errors.load(std::memory_order_relaxed);
    s.origin_latency = state->origin_latency.Read();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tiercache
