#include "server/url.h"

#include <catch2/catch.hpp>

namespace tiercache::http_api {
namespace {

TEST_CASE("PercentDecodeDecodesEscapesAndKeepsPlus", "[url]") {
  CHECK(PercentDecode("a%2Fb%20c+d") == std::optional<std::string>("a/b c+d"));
  CHECK(PercentDecode("%00%ff") == std::optional<std::string>(std::string("\0\xff", 2)));
  CHECK(PercentDecode("") == std::optional<std::string>(""));
}

TEST_CASE("PercentDecodeRejectsMalformedEscapes", "[url]") {
  CHECK_FALSE(PercentDecode("%zz").has_value());
  CHECK_FALSE(PercentDecode("abc%").has_value());
  CHECK_FALSE(PercentDecode("abc%4").has_value());
}

TEST_CASE("SplitTargetSeparatesPathAndQuery", "[url]") {
  auto [path, query] = SplitTarget("/v1/keys/a?ttl=5&tags=x");
  CHECK(path == "/v1/keys/a");
  CHECK(query == "ttl=5&tags=x");
  CHECK(SplitTarget("/v1/status").second.empty());
}

TEST_CASE("ParseQueryDecodesNamesAndValues", "[url]") {
  auto params = ParseQuery("ttl=5&tags=a%2Cb,c&&flag");
  REQUIRE(params.has_value());
  REQUIRE(params->size() == 3);
  CHECK((*params)[0] == std::pair<std::string, std::string>("ttl", "5"));
  CHECK((*params)[1] == std::pair<std::string, std::string>("tags", "a,b,c"));
  CHECK((*params)[2] == std::pair<std::string, std::string>("flag", ""));
  CHECK_FALSE(ParseQuery("ttl=%g1").has_value());
}

}  // namespace
}  // namespace tiercache::http_api
