#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tiercache::config {

// An address a front end listens on.
struct ListenAddress {
  // An IPv4 address, a host name, or an IPv6 address (stored without brackets).
  std::string host;
  // 1..65535 once parsed; 0 only in a default-constructed value.
  uint16_t port = 0;

  // "127.0.0.1:8080" or "[::1]:8080": the form ParseListenAddress reads back.
  std::string ToString() const;

  bool operator==(const ListenAddress&) const = default;
};

// Parses "host:port" or "[ipv6]:port" (the syntax of `server.*_listen` and of the
// --http-listen/--grpc-listen flags). The host must be non-empty and the port in 1..65535;
// an IPv6 address must be bracketed, since "::1:8080" is ambiguous. Names are not resolved
// here: that happens when the front end binds. Throws ConfigError naming the text and the
// problem, without a file position (the loader adds it).
ListenAddress ParseListenAddress(std::string_view text);

}  // namespace tiercache::config
