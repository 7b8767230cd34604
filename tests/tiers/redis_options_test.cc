// The Redis tier's pure parts, without a server: option validation, URL parsing, the
// encoding of tags in an entry and the escaping of the key prefix in SCAN patterns.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/core/status_printer.h"
#include "tiers/redis/redis_layout.h"
#include "tiers/redis/redis_tier.h"
#include "tiers/redis/redis_url.h"

namespace tiercache::test {
namespace {

using Catch::Matchers::Contains;
using redis::ParseRedisUrl;

TEST_CASE("RedisOptions: BadSettingsAreRejectedWithTheSettingNamed", "[redis][options]") {
  const auto rejected = [](auto change) {
    RedisTierOptions o;
    change(o);
    auto tier = MakeRedisTier(o);
    REQUIRE_FALSE(tier.ok());
    CHECK(tier.status().code() == StatusCode::kInvalidArgument);
    return tier.status().message();
  };
  CHECK_THAT(rejected([](auto& o) { o.pool_size = 0; }), Contains("pool_size"));
  CHECK_THAT(rejected([](auto& o) { o.key_prefix = ""; }), Contains("key_prefix"));
  CHECK_THAT(rejected([](auto& o) { o.name = ""; }), Contains("name"));
  CHECK_THAT(rejected([](auto& o) { o.command_timeout = Duration::zero(); }),
             Contains("command_timeout"));
  CHECK_THAT(rejected([](auto& o) { o.connect_timeout = Duration::zero(); }),
             Contains("connect_timeout"));
  CHECK_THAT(rejected([](auto& o) { o.sweep_interval = Duration::zero(); }),
             Contains("sweep_interval"));
  CHECK_THAT(rejected([](auto& o) { o.max_queued = 0; }), Contains("max_queued"));
  CHECK_THAT(rejected([](auto& o) { o.url = "http://localhost"; }), Contains("redis://"));
  CHECK_THAT(rejected([](auto& o) { o.url = "rediss://localhost"; }), Contains("TLS"));
}

TEST_CASE("RedisOptions: MakingATierDoesNotWaitForRedis", "[redis][options]") {
  RedisTierOptions o;
  o.url = "redis://192.0.2.1:6379";  // TEST-NET-1: never answers
  o.connect_timeout = std::chrono::seconds(5);
  const auto started = std::chrono::steady_clock::now();
  auto tier = MakeRedisTier(o);
  REQUIRE(tier.ok());
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(100));
  CHECK((*tier)->kind() == "redis");
  CHECK((*tier)->name() == "L2");
  CHECK_FALSE((*tier)->tag_index().measured);
}

TEST_CASE("RedisUrl: HostPortCredentialsAndDatabase", "[redis][options]") {
  auto e = ParseRedisUrl("redis://alice:s%40cret@cache.local:6390/4", 0);
  REQUIRE(e.ok());
  CHECK(e->host == "cache.local");
  CHECK(e->port == 6390);
  CHECK(e->user == "alice");
  CHECK(e->password == "s@cret");
  CHECK(e->database == 4);
  CHECK(e->Label() == "cache.local:6390");

  e = ParseRedisUrl("redis://:pw@10.0.0.1", 2);
  REQUIRE(e.ok());
  CHECK(e->user.empty());
  CHECK(e->password == "pw");
  CHECK(e->port == 6379);
  CHECK(e->database == 2);  // the option, as the URL names none

  e = ParseRedisUrl("redis://[::1]:7000/", 1);
  REQUIRE(e.ok());
  CHECK(e->host == "::1");
  CHECK(e->port == 7000);
  CHECK(e->database == 1);
  CHECK(e->Label() == "[::1]:7000");

  e = ParseRedisUrl("redis://u:p@ss@host", 0);  // the host starts after the last @
  REQUIRE(e.ok());
  CHECK(e->password == "p@ss");
  CHECK(e->host == "host");
}

TEST_CASE("RedisUrl: MalformedUrlsSayWhatIsWrong", "[redis][options]") {
  const auto error = [](const char* url) {
    auto e = ParseRedisUrl(url, 0);
    REQUIRE_FALSE(e.ok());
    CHECK(e.status().code() == StatusCode::kInvalidArgument);
    return e.status().message();
  };
  CHECK_THAT(error("localhost:6379"), Contains("expected redis://"));
  CHECK_THAT(error("redis://"), Contains("no host"));
  CHECK_THAT(error("redis://host:0"), Contains("port"));
  CHECK_THAT(error("redis://host:70000"), Contains("port"));
  CHECK_THAT(error("redis://host:abc"), Contains("port"));
  CHECK_THAT(error("redis://host/x"), Contains("database"));
  CHECK_THAT(error("redis://host/-1"), Contains("database"));
  CHECK_THAT(error("redis://secret@host"), Contains("user:password@"));
  CHECK_THAT(error("redis://u:%zz@host"), Contains("escape"));
  CHECK_THAT(error("redis://host?timeout=1"), Contains("query"));
  CHECK_THAT(error("redis://[::1:6379"), Contains("IPv6"));
}

TEST_CASE("RedisLayout: TagsRoundTripThroughTheirEncodingWhateverTheirBytes", "[redis][options]") {
  const std::vector<std::string> tags = {"plain", "with:colons:", std::string("nul\0byte", 8),
                                         "",      "12:34",        std::string(300, 'x')};
  const std::string encoded = redis::EncodeTags(tags);
  const auto decoded = redis::DecodeTags(encoded);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == tags);
  CHECK(redis::DecodeTags("")->empty());
  CHECK_FALSE(redis::DecodeTags("5:abc").has_value());
  CHECK_FALSE(redis::DecodeTags("x:abc").has_value());
  CHECK_FALSE(redis::DecodeTags("3abc").has_value());
}

TEST_CASE("RedisLayout: KeysAndScanPatternsStayInsideThePrefix", "[redis][options]") {
  const redis::Layout layout("app[1]*?\\:");
  CHECK(layout.EntryKey("user:1") == "app[1]*?\\:k:user:1");
  CHECK(layout.TagKey("users") == "app[1]*?\\:t:users");
  CHECK(layout.EntryGlob() == "app\\[1\\]\\*\\?\\\\:k:*");
  CHECK(layout.TagGlob() == "app\\[1\\]\\*\\?\\\\:t:*");
  CHECK(layout.NamespaceGlob() == "app\\[1\\]\\*\\?\\\\:*");
  CHECK(layout.IsEntryKey("app[1]*?\\:k:x"));
  CHECK_FALSE(layout.IsEntryKey("app[1]*?\\:t:x"));
  CHECK(layout.KeyOf("app[1]*?\\:k:x") == "x");
}

}  // namespace
}  // namespace tiercache::test
