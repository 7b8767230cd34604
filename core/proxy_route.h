#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/http_headers.h"
#include "core/proxy_options.h"
#include "core/status.h"

namespace re2 {
class RE2;
}

namespace tiercache {

// A request path's groups as a route's pattern captured them.
struct PathCaptures {
  std::vector<std::string> numbered;                         // {1} is numbered[0]
  std::vector<std::pair<std::string, std::string>> named;  // {name}
};

// An RE2 pattern over request paths (and condition values), searched anywhere unless
// anchored. Immutable, shared between threads.
class PathPattern {
 public:
  static Result<std::shared_ptr<const PathPattern>> Compile(std::string_view pattern);
  ~PathPattern();
  bool Search(std::string_view text) const;
  // Search, filling `out` with the groups on a match.
  bool Capture(std::string_view text, PathCaptures& out) const;
  const std::string& pattern() const { return source_; }

 private:
  PathPattern(std::unique_ptr<re2::RE2> re, std::string source);
  std::unique_ptr<re2::RE2> re_;
  std::string source_;
};

// A client's request as the proxy takes it.
struct ProxyRequest {
  std::string method;  // as sent, upper case for the standard ones
  std::string target;  // origin-form: path and query, still percent-encoded
  HeaderList headers;
  std::string body;
  std::string peer;  // the client's address, for X-Forwarded-For; empty if unknown

  std::string_view path() const;   // before '?'
  std::string_view query() const;  // after '?', "" if none
};

// Whether `route` takes requests for `path` (its prefix, or its pattern, which then fills
// `captures`).
bool RouteTakes(const ProxyRoute& route, std::string_view path, PathCaptures& captures);

// The value of cookie `name` in the request's Cookie fields, nullopt if absent.
std::optional<std::string> CookieValue(const HeaderList& headers, std::string_view name);

bool ConditionHolds(const ProxyCondition& condition, const ProxyRequest& request);

// The query as a route's key holds it: the parameters it keeps, sorted, so that the order
// a client sends them in makes no other entry.
std::string KeyQuery(const ProxyRoute& route, std::string_view query);

// The key a route stores a request's response under: key_prefix, the path, '?' and the
// kept query if any, then '#' and a SHA-256 of the varied fields (vary_on headers, the
// credential of vary_on_auth, and `extra` — the origin's own Vary fields with the
// request's values) when there are any. nullopt-free: the caller checks the length.
std::string ResponseKey(const ProxyRoute& route, const ProxyRequest& request,
                        const std::vector<std::pair<std::string, std::string>>& extra = {});

// The credential vary_on_auth names, nullopt when the request carries none.
std::optional<std::string> Credential(const ProxyRoute& route, const ProxyRequest& request);

// The route's tag templates filled from the path and its groups; a template naming a group
// the pattern does not have is left out.
std::vector<std::string> RouteTags(const ProxyRoute& route, std::string_view path,
                                   const PathCaptures& captures);

// The internal tag every stored variant of a path carries: what a write to the path (an
// unsafe method) and a purge by URL invalidate.
std::string UrlTag(const ProxyRoute& route, std::string_view path);

}  // namespace tiercache
