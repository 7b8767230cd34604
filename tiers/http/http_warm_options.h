#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"

// Header only (the INTERFACE library tiercache_http_warm_options), so that config/ can fill
// it without linking Beast; the source and what it does are in http_warm_source.h.

namespace tiercache {

// One endpoint of an `http` warming source.
struct HttpWarmEndpoint {
  std::string path;  // "/api/dashboard?x=1": must start with '/', visible ASCII, no '#'
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every attempt
  std::string key;   // template; empty: HttpWarmOptions::key
  std::string name;  // optional, for {name}
  std::vector<std::string> tags;  // templates with the same fields
};

struct HttpWarmOptions {
  // "http://host[:port][/prefix]"; host is a name, an IPv4 address or [IPv6]; the port
  // defaults to 80. No user info, query or fragment. https is not supported (put a local
  // TLS-terminating proxy in front of such an origin).
  std::string base_url;
  std::vector<HttpWarmEndpoint> endpoints;  // at least one; distinct keys
  std::string key = "http:{path}";          // the default key template
  std::optional<Duration> ttl;              // > 0 when set; unset: the warmer's default
  unsigned max_attempts = 3;                // per endpoint, 1..100
  Duration backoff = std::chrono::milliseconds(100);  // before the 2nd attempt, doubled after
  Duration timeout = std::chrono::seconds(10);        // per attempt; > 0
  uint64_t max_body_bytes = 8 << 20;  // larger bodies are a failure and are not stored; > 0
  // Endpoints fetched at once, each on its own thread and connection, 1..64. The sink is
  // called from one thread at a time.
  unsigned concurrency = 1;
};

}  // namespace tiercache
