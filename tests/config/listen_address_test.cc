#include "config/listen_address.h"

#include <catch2/catch.hpp>
#include <string>

#include "config/config_error.h"

namespace tiercache::config {
namespace {

// The message of ParseListenAddress's ConfigError, or "" if it did not throw.
std::string ErrorOf(std::string_view text) {
  try {
    ParseListenAddress(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("ParsesIpv4HostAndPort", "[config][listen]") {
  CHECK(ParseListenAddress("127.0.0.1:8080") == ListenAddress{"127.0.0.1", 8080});
  CHECK(ParseListenAddress("0.0.0.0:1") == ListenAddress{"0.0.0.0", 1});
  CHECK(ParseListenAddress("localhost:65535") == ListenAddress{"localhost", 65535});
}

TEST_CASE("ParsesBracketedIpv6AndStoresItWithoutBrackets", "[config][listen]") {
  CHECK(ParseListenAddress("[::1]:8080") == ListenAddress{"::1", 8080});
  CHECK(ParseListenAddress("[::]:50051") == ListenAddress{"::", 50051});
  CHECK(ParseListenAddress("[fe80::1%eth0]:80") == ListenAddress{"fe80::1%eth0", 80});
}

TEST_CASE("ToStringBracketsIpv6AndReadsBack", "[config][listen]") {
  CHECK(ListenAddress{"127.0.0.1", 8080}.ToString() == "127.0.0.1:8080");
  CHECK(ListenAddress{"::1", 8080}.ToString() == "[::1]:8080");
  for (const char* text : {"127.0.0.1:8080", "[::1]:8080", "example.com:443"}) {
    CHECK(ParseListenAddress(text).ToString() == text);
  }
}

TEST_CASE("RejectsListenAddressWithoutPort", "[config][listen]") {
  for (const char* text : {"127.0.0.1", "127.0.0.1:", "[::1]", "[::1]:", "localhost"}) {
    INFO(text);
    CHECK_THAT(ErrorOf(text), Catch::Contains("missing port"));
  }
}

TEST_CASE("RejectsPortOutsideOneTo65535", "[config][listen]") {
  CHECK(ErrorOf("127.0.0.1:0") ==
        "invalid listen address '127.0.0.1:0': the port must be in 1..65535 (expected host:port "
        "or [ipv6]:port, e.g. 127.0.0.1:8080)");
  CHECK_THAT(ErrorOf("127.0.0.1:70000"), Catch::Contains("the port must be in 1..65535"));
  CHECK_THAT(ErrorOf("[::1]:65536"), Catch::Contains("the port must be in 1..65535"));
  CHECK_THAT(ErrorOf("127.0.0.1:99999999999999999999"),
             Catch::Contains("the port must be in 1..65535"));
}

TEST_CASE("RejectsNonNumericPort", "[config][listen]") {
  for (const char* text : {"127.0.0.1:http", "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:80 "}) {
    INFO(text);
    CHECK_THAT(ErrorOf(text), Catch::Contains("the port is not a number"));
  }
}

TEST_CASE("RejectsEmptyHost", "[config][listen]") {
  CHECK_THAT(ErrorOf(":8080"), Catch::Contains("empty host"));
  CHECK_THAT(ErrorOf("[]:8080"), Catch::Contains("empty host"));
  CHECK_THAT(ErrorOf(""), Catch::Contains("missing port"));
}

TEST_CASE("RejectsUnbracketedIpv6", "[config][listen]") {
  CHECK_THAT(ErrorOf("::1:8080"), Catch::Contains("an IPv6 address must be in brackets"));
}

TEST_CASE("RejectsMalformedBrackets", "[config][listen]") {
  CHECK_THAT(ErrorOf("[::1:8080"), Catch::Contains("'[' without a matching ']'"));
  CHECK_THAT(ErrorOf("[::1]8080"), Catch::Contains("missing port"));
  CHECK_THAT(ErrorOf("[localhost]:80"), Catch::Contains("brackets are only for IPv6"));
  CHECK_THAT(ErrorOf("local]host:80"), Catch::Contains("stray bracket"));
}

TEST_CASE("RejectsHostWithWhitespace", "[config][listen]") {
  CHECK_THAT(ErrorOf("local host:80"), Catch::Contains("whitespace"));
}

}  // namespace
}  // namespace tiercache::config
