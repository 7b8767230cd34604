#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tiercache::redis {

// Where a tier's connections go and how they log in.
struct Endpoint {
  std::string host;
  uint16_t port = 6379;
  std::string user;      // empty: AUTH with the password alone (the "default" user)
  std::string password;  // empty: no AUTH
  int database = 0;      // SELECTed after connecting unless 0

  // "host:port" ("[::1]:6379" for IPv6), for messages.
  std::string Label() const;
};

// Parses redis://[[user]:password@]host[:port][/db]. User and password are percent-decoded;
// `default_database` applies when the URL names no database. kInvalidArgument saying what
// is wrong otherwise (including rediss://, which is not supported).
Result<Endpoint> ParseRedisUrl(std::string_view url, int default_database);

}  // namespace tiercache::redis
