#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace tiercache {

// An origin as a base URL names it: "http://host[:port][/prefix]".
struct BaseUrl {
  std::string host;         // for the resolver: without IPv6 brackets
  std::string port;         // decimal
  std::string host_header;  // "host" or "host:port", IPv6 in brackets
  std::string prefix;       // "" or "/app", no trailing '/'
};

// kInvalidArgument naming what is wrong ("base_url '...': ..."): https, a query, user
// info, a bad host or port.
Result<BaseUrl> ParseBaseUrl(std::string_view url);

// Visible ASCII without '#': what may go into a request target as written.
inline bool IsTargetChar(char c) { return c > 0x20 && c < 0x7f && c != '#'; }

}  // namespace tiercache
