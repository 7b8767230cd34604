#include "config/listen_address.h"

#include <charconv>
#include <string>

#include "config/config_error.h"

namespace tiercache::config {
namespace {

[[noreturn]] void Invalid(std::string_view text, std::string_view problem) {
  throw ConfigError("invalid listen address '" + std::string(text) + "': " + std::string(problem) +
                    " (expected host:port or [ipv6]:port, e.g. 127.0.0.1:8080)");
}

}  // namespace

std::string ListenAddress::ToString() const {
  const std::string port_text = std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

ListenAddress ParseListenAddress(std::string_view text) {
  std::string_view host;
  std::string_view rest;  // ":port" or whatever follows the host
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) Invalid(text, "'[' without a matching ']'");
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    if (host.empty()) Invalid(text, "empty host");
    // Brackets exist to delimit the colons of an IPv6 address; anything else is a typo.
    if (host.find(':') == std::string_view::npos) {
      Invalid(text, "brackets are only for IPv6 addresses");
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) Invalid(text, "missing port");
    host = text.substr(0, colon);
    rest = text.substr(colon);
    if (host.empty()) Invalid(text, "empty host");
    if (host.find(':') != std::string_view::npos) {
      Invalid(text, "an IPv6 address must be in brackets");
    }
    if (host.find_first_of("[]") != std::string_view::npos) Invalid(text, "stray bracket");
  }
  if (host.find_first_of(" \t\r\n/") != std::string_view::npos) {
    Invalid(text, "the host contains whitespace or '/'");
  }
  if (rest.empty() || rest.front() != ':') Invalid(text, "missing port");
  const std::string_view port_text = rest.substr(1);
  if (port_text.empty()) Invalid(text, "missing port");
  if (port_text.find_first_not_of("0123456789") != std::string_view::npos) {
    Invalid(text, "the port is not a number");
  }
  uint32_t port = 0;
  const std::from_chars_result parsed =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (parsed.ec != std::errc() || port < 1 || port > 65535) {
    Invalid(text, "the port must be in 1..65535");
  }
  return ListenAddress{std::string(host), static_cast<uint16_t>(port)};
}

}  // namespace tiercache::config
