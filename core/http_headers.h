#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"

namespace tiercache {

// HTTP header fields as they came, in order, names as sent (compared case-insensitively).
using HeaderList = std::vector<std::pair<std::string, std::string>>;

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string LowerCase(std::string_view text);

// The first field named `name`, nullopt if none.
std::optional<std::string_view> FindHeader(const HeaderList& headers, std::string_view name);
// Every field named `name`, joined with ", " as RFC 9110 5.3 allows for list fields.
std::string CombinedHeader(const HeaderList& headers, std::string_view name);
void RemoveHeader(HeaderList& headers, std::string_view name);

// The members of a comma-separated list field ("a, b,,c" → a, b, c), trimmed.
std::vector<std::string_view> SplitList(std::string_view value);

// Hop-by-hop fields (RFC 9110 7.6.1: Connection and the fields it names, Keep-Alive,
// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade) are the connection's own: a
// proxy neither forwards nor stores them. Content-Length is dropped too: the sender
// recomputes it.
void RemoveHopByHop(HeaderList& headers);

// Cache-Control (RFC 9111 5.2). A directive given twice counts in its stricter form; a
// number that is not one counts as 0 (stale, as 4.2.1 asks for an invalid max-age).
struct CacheControl {
  bool no_store = false;
  bool no_cache = false;  // also no-cache="field": the whole response must be revalidated
  bool is_private = false;
  bool is_public = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool only_if_cached = false;
  std::optional<int64_t> max_age;  // seconds
  std::optional<int64_t> s_maxage;
  std::optional<int64_t> stale_while_revalidate;  // RFC 5861
  std::optional<int64_t> stale_if_error;
};
CacheControl ParseCacheControl(std::string_view value);

// An HTTP-date (RFC 9110 5.6.7): IMF-fixdate, and the obsolete RFC 850 and asctime forms a
// recipient must accept. nullopt if it is none of them.
std::optional<WallTime> ParseHttpDate(std::string_view text);
// IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT".
std::string FormatHttpDate(WallTime time);

}  // namespace tiercache
