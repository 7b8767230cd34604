#include "tiers/redis/redis_url.h"

#include <charconv>
#include <optional>

namespace tiercache::redis {

namespace {

constexpr std::string_view kScheme = "redis://";

std::optional<int> HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

// %XX escapes decoded; nullopt for a malformed escape.
std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const auto high = HexDigit(text[i + 1]);
    const auto low = HexDigit(text[i + 2]);
    if (!high || !low) return std::nullopt;
    out += static_cast<char>(*high * 16 + *low);
    i += 2;
  }
  return out;
}

template <class Int>
std::optional<Int> ParseInt(std::string_view text) {
  Int value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

Status Bad(std::string_view url, const std::string& why) {
  return Status::InvalidArgument("url \"" + std::string(url) + "\": " + why);
}

}  // namespace

std::string Endpoint::Label() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Endpoint> ParseRedisUrl(std::string_view url, int default_database) {
  if (url.starts_with("rediss://")) return Bad(url, "TLS (rediss://) is not supported");
  if (!url.starts_with(kScheme)) {
    return Bad(url, "expected redis://[[user]:password@]host[:port][/db]");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Bad(url, "query parameters and fragments are not supported");
  }

  Endpoint endpoint;
  endpoint.database = default_database;
  std::string_view authority = rest.substr(0, rest.find('/'));
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      const auto n = ParseInt<int>(db);
      if (!n || *n < 0) {
        return Bad(url, "the database must be a number >= 0, got \"" + std::string(db) + "\"");
      }
      endpoint.database = *n;
    }
  }

  // The password may hold '@' unescaped: the host starts after the last one.
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return Bad(url, "credentials must be user:password@ or :password@");
    }
    const auto user = PercentDecode(userinfo.substr(0, colon));
    const auto password = PercentDecode(userinfo.substr(colon + 1));
    if (!user || !password) return Bad(url, "malformed %-escape in the credentials");
    endpoint.user = *user;
    endpoint.password = *password;
    if (endpoint.password.empty()) return Bad(url, "empty password");
  }

  std::string_view port;
  if (authority.starts_with("[")) {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Bad(url, "unterminated [IPv6 address]");
    endpoint.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(":")) return Bad(url, "unexpected text after ]");
    if (!after.empty()) port = after.substr(1);
  } else {
    const size_t colon = authority.find(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (endpoint.host.empty()) return Bad(url, "no host");
  if (!port.empty() || authority.ends_with(":")) {
    const auto n = ParseInt<unsigned>(port);
    if (!n || *n == 0 || *n > 65535) {
      return Bad(url, "the port must be 1 to 65535, got \"" + std::string(port) + "\"");
    }
    endpoint.port = static_cast<uint16_t>(*n);
  }
  return endpoint;
}

}  // namespace tiercache::redis
