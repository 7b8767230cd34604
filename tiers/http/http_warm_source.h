#pragma once

#include <memory>

#include "core/status.h"
#include "core/warm_source.h"
#include "tiers/http/http_warm_options.h"

namespace tiercache {

// The `http` warming source: requests endpoints of an origin and stores each 2xx body as
// one cache entry (the seed's view and API warming).
//
//   warming:
//     sources:
//       - name: dashboards
//         kind: http
//         base_url: http://origin.internal:8000/app     # http only; https is refused
//         key: "http:{path}"                            # default template for every endpoint
//         ttl: 300
//         endpoints:
//           - path: /api/dashboard?team=1
//             name: team1
//             key: "dash:{name}"
//             tags: [dashboard, "team:{name}"]
//             headers: {Accept: application/json}
//
// One run, for each endpoint in turn (or `concurrency` at once):
// - The request is `method` to base_url's prefix followed by `path`, exactly as written
//   (percent-encode it yourself), with `Host` from base_url, `User-Agent: tiercache/VERSION`,
//   and the endpoint's headers (which may replace those two). POST and PUT send an empty
//   body. Redirects are not followed.
// - A 2xx answer's body becomes the value of the endpoint's key, with its tags and the
//   source's ttl. A HEAD endpoint stores an empty value. Response headers are not kept.
// - 5xx answers, timeouts, refused or dropped connections and malformed responses are
//   tried again, up to `max_attempts` in all, waiting `backoff`, then twice that, and so
//   on between attempts. Other answers (1xx, 3xx, 4xx) and a body over `max_body_bytes` are
//   final at once. An endpoint that still fails is reported to the sink's Failed with the
//   endpoint's path and a Status saying why (kNotFound for 404 and 410, kTooLarge for 413
//   or an oversized body, kInvalidArgument for other 4xx, kDeadlineExceeded for a timeout,
//   kUnavailable for the rest); the run goes on with the next endpoint.
// - `timeout` bounds each attempt as a whole: connect, request and response.
// - The host is resolved once per run (within `timeout`); a host that does not resolve
//   fails the run with kUnavailable before any endpoint is attempted. Any other run
//   returns OK, however many endpoints failed: the sink counts them.
// - Connections are kept alive across endpoints when the origin allows it; a kept
//   connection that the origin closed meanwhile is reopened without using an attempt.
// - When the sink refuses an entry (Put false) or says it is cancelled, the run stops:
//   requests in flight are abandoned within a few tens of milliseconds, no further
//   endpoint is started, and Run returns OK.
//
// Keys and tags are templates over `{path}` (the endpoint's path as written) and `{name}`
// (the endpoint's name; a template that uses it needs a non-empty name). They are filled
// when the source is made, so a template mistake is a configuration error, not a failed
// run. The settings are HttpWarmOptions (http_warm_options.h).

// Validates `options` and returns the source. kInvalidArgument naming the setting: the
// form, scheme, host or port of base_url; no endpoints; a path that does not start with
// '/' or holds a space, control byte, non-ASCII byte or '#'; an unsupported method; a
// header name that is not a token or a value with CR, LF or NUL; a key or tag template
// with an unknown field (or {name} without a name), or one that fills to ""; two endpoints
// with the same key; max_attempts, timeout, max_body_bytes, concurrency, ttl or backoff
// out of range.
Result<std::unique_ptr<WarmSource>> MakeHttpWarmSource(HttpWarmOptions options);

}  // namespace tiercache
