#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"

namespace tiercache {

class PathPattern;

// A test on a request: a header, a cookie or a query parameter present (or matching
// `matches`, searched as RE2 does), or the path matching. The seed's condition_func, as
// data.
struct ProxyCondition {
  enum class Subject : uint8_t { kHeader, kCookie, kQuery, kPath };
  Subject subject = Subject::kHeader;
  std::string name;  // the header, cookie or parameter; empty for the path
  std::shared_ptr<const PathPattern> matches;  // null: present is enough
  std::string source;  // as configured, for status and errors
};

// Which query parameters a cached response's key holds.
enum class VaryParams : uint8_t {
  kAll,   // every parameter, in name order (the order clients send them in does not count)
  kNone,  // none: every query of the path shares the entry
  kList,  // those named in `vary_params`
};

// One `proxy.routes` entry: which requests it takes and how their responses are cached.
struct ProxyRoute {
  std::string name;  // for keys, metrics and status; unique
  // The request path starts with `path_prefix`, or is matched by `path_pattern` (RE2, its
  // groups usable in `tags` as {1}, {name}). One of the two.
  std::string path_prefix;
  std::shared_ptr<const PathPattern> path_pattern;
  std::string origin;  // base URL, "http://host:port[/prefix]"
  // Freshness when the origin gives none (no max-age, s-maxage or Expires); 0: only what
  // the origin says counts, and a response without it is not cached.
  Duration timeout = std::chrono::minutes(5);
  std::vector<std::string> vary_on;  // request header names, lowercase
  // Keeps each user's responses apart: "authorization" (the header) or "cookie:NAME"; the
  // credential is hashed (SHA-256) into the key. Empty: off, and responses to requests
  // carrying an Authorization header are cached only as RFC 9111 3.5 allows.
  std::string vary_on_auth;
  VaryParams vary_params = VaryParams::kAll;
  std::vector<std::string> vary_param_names;  // kList
  bool cache_errors = false;  // responses with a status of 400 or more
  bool cache_set_cookie = false;  // responses with Set-Cookie are shared (stored)
  std::vector<std::string> cache_methods = {"GET", "HEAD"};
  std::vector<ProxyCondition> bypass;   // any true: straight to the origin, not cached
  std::vector<ProxyCondition> only_if;  // all must be true for the response to be cached
  // Tag templates: literal text with {1}, {name} (the path pattern's groups) and {path}.
  // The origin's Surrogate-Key (space-separated) and Cache-Tag (comma-separated) add theirs.
  std::vector<std::string> tags;
  Duration stale_while_revalidate{0};  // served stale this long while refetched behind
  Duration stale_if_error{0};          // served stale this long while the origin fails
  std::string key_prefix;              // default "proxy:NAME:"
  // The client's Host goes to the origin (and into the key, so that one client's Host never
  // shapes another's response). Off: the origin gets its own host, whatever the client
  // named, and one entry serves every Host.
  bool pass_host = false;
  // The origin connection pool.
  Duration connect_timeout = std::chrono::seconds(5);
  Duration origin_timeout = std::chrono::seconds(30);  // until the whole response is in
  uint32_t max_idle_connections = 64;
};

// The `proxy:` section.
struct ProxyOptions {
  std::vector<ProxyRoute> routes;  // tried in order; the first that takes a request wins
  // Responses with a body larger than this pass through uncached; at most
  // limits.max_value_bytes.
  uint64_t max_cached_body_bytes = uint64_t{1} << 20;
  // An origin response larger than this is refused (502): the proxy holds a response
  // whole before it answers.
  uint64_t max_body_bytes = uint64_t{64} << 20;
  uint32_t max_origin_header_bytes = 64 * 1024;
};

}  // namespace tiercache
