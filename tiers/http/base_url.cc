#include "tiers/http/base_url.h"

#include <boost/asio/ip/address.hpp>
#include <algorithm>
#include <cctype>

namespace tiercache {

namespace net = boost::asio;

namespace {

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<BaseUrl> ParseBaseUrl(std::string_view url) {
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("base_url '" + std::string(url) + "': " + std::string(why));
  };
  if (StartsWithIgnoreCase(url, "https://")) {
    return bad("https is not supported; use an http:// origin (a TLS-terminating proxy on "
               "the same host, for an https-only one)");
  }
  if (!StartsWithIgnoreCase(url, "http://")) return bad("expected http://host[:port][/prefix]");
  std::string_view rest = url.substr(7);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return bad("a query or fragment is not allowed; put it in the endpoints' paths");
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view prefix = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) return bad("user info is not supported");

  BaseUrl origin;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    origin.host = std::string(authority.substr(1, close - 1));
    boost::system::error_code ec;
    net::ip::make_address_v6(origin.host, ec);
    if (ec) return bad("'" + origin.host + "' is not an IPv6 address");
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("expected ':port' after the IPv6 address");
      port_text = after.substr(1);
      has_port = true;
    }
    origin.host_header = "[" + origin.host + "]";
  } else {
    const size_t colon = authority.find(':');
    origin.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
    if (origin.host.empty()) return bad("no host");
    if (origin.host.size() > 253) return bad("the host name is too long");
    for (const char c : origin.host) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
        return bad("the host holds '" + std::string(1, c) + "'");
      }
    }
    origin.host_header = origin.host;
  }
  if (has_port) {
    const bool digits = !port_text.empty() && port_text.size() <= 5 &&
                        std::all_of(port_text.begin(), port_text.end(),
                                    [](char c) { return c >= '0' && c <= '9'; });
    const unsigned long port = digits ? std::stoul(std::string(port_text)) : 0;
    if (port < 1 || port > 65535) return bad("the port must be 1 to 65535");
    origin.port = std::to_string(port);
    if (port != 80) origin.host_header += ":" + origin.port;
  } else {
    origin.port = "80";
  }
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (!std::all_of(prefix.begin(), prefix.end(), IsTargetChar)) {
    return bad("the path prefix holds a space, control or non-ASCII byte");
  }
  origin.prefix = std::string(prefix);
  return origin;
}

}  // namespace tiercache
