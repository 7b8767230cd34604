// Pattern invalidation's key ranges (tiers/postgres/key_range.h) and the embedded schema
// files, without a server.

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/key_pattern.h"
#include "tiers/postgres/key_range.h"
#include "tiers/postgres/schema.h"
#include "tiers/postgres/schema_files.h"

namespace tiercache::postgres {
namespace {

using Catch::Matchers::Contains;

// Random keys over bytes that the patterns below care about, 0x00 and 0xff included.
std::vector<std::string> RandomKeys(size_t count) {
  static const std::string alphabet("abckuxz019:|]ABC\x00\xff\x7f", 20);
  std::mt19937 rng(42);
  std::uniform_int_distribution<size_t> length(0, 7);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::vector<std::string> keys;
  for (size_t i = 0; i < count; ++i) {
    std::string key;
    for (size_t n = length(rng); n > 0; --n) key.push_back(alphabet[pick(rng)]);
    keys.push_back(key);
  }
  return keys;
}

TEST_CASE("PrefixSuccessorIsTheFirstStringAfterEveryExtensionOfThePrefix", "[unit]") {
  CHECK(PrefixSuccessor("abc") == "abd");
  CHECK(PrefixSuccessor(std::string("a\xff\xff", 3)) == "b");
  CHECK(PrefixSuccessor(std::string("a\x00", 2)) == std::string("a\x01", 2));
  CHECK_FALSE(PrefixSuccessor("").has_value());
  CHECK_FALSE(PrefixSuccessor("\xff\xff").has_value());
}

TEST_CASE("AnchoredPatternsNarrowTheScanToTheirPrefix", "[unit]") {
  const KeyRange user = CandidateKeys("^user:1");
  CHECK(user.from == "user:1");
  CHECK(user.until == "user:2");

  const KeyRange digits = CandidateKeys("^k[0-9]{3}$");
  CHECK(digits.from == "k000");
  CHECK(digits.until == "k:");  // after "k9..."

  // Either of two first letters: from the smaller to after the larger.
  const KeyRange either = CandidateKeys("^(a|b)c");
  CHECK(either.from == "ac");
  CHECK(either.until == "c");

  // Leading flags that leave ^ at the start of the key are fine; case folding widens.
  const KeyRange folded = CandidateKeys("(?i)^abc");
  CHECK(folded.from == "ABC");
  CHECK(folded.until == "b");

  // A bar inside brackets or \Q...\E is a literal.
  CHECK(CandidateKeys("^[|]x").from == "|x");
  CHECK(CandidateKeys("^\\Q|\\E").from == "|");
}

TEST_CASE("PatternsThatCanMatchInsideAKeyScanEveryKey", "[unit]") {
  for (const char* pattern :
       {"user", "user$", "^a|b", "^abc|^x", "(?m)^abc", "^\\Q(|\\E|x", "(^a)", "^", "^.*x"}) {
    INFO(pattern);
    const KeyRange range = CandidateKeys(pattern);
    CHECK(range.from.empty());
    CHECK_FALSE(range.until.has_value());
  }
}

TEST_CASE("EveryKeyAPatternMatchesIsInsideItsRange", "[unit]") {
  const std::vector<std::string> keys = RandomKeys(30'000);
  for (const char* text : {"^ab(c)?",   "^k[0-9]{3}",  "^a+b",     "(?i)^ab",     "^\\x{ff}+",
                           "^a\\x{ff}", "^$",          "^.*x",     "^[]a]b",      "^a|^b",
                           "^ab.*z$",   "^(a|b|\\|)c", "^u:?1",    "^(?s).\\x00", "^z*a",
                           "^[^a-z]",   "^(?i)k[u-x]", "^a?b?c?$", "^\\Q|]\\E",   "^b{2,}"}) {
    INFO(text);
    auto pattern = KeyPattern::Compile(text);
    REQUIRE(pattern.ok());
    const KeyRange range = CandidateKeys(text);
    size_t matched = 0;
    for (const std::string& key : keys) {
      if (!(*pattern)->Matches(key)) continue;
      ++matched;
      INFO("key of " << key.size() << " bytes: " << key);
      REQUIRE(range.Contains(key));
    }
    CHECK(matched > 0);  // the check above was not vacuous
  }
}

TEST_CASE("SchemaFilesAreNumberedInOrderAndTheirNamesFitPostgres", "[unit]") {
  const auto files = SchemaFiles();
  REQUIRE_FALSE(files.empty());
  int previous = 0;
  for (const SqlFile& file : files) {
    INFO(file.name);
    CHECK(SchemaVersion(file) > previous);
    previous = SchemaVersion(file);
    // Names made from the table: a 56-character table plus the suffix must fit 63.
    const std::string sql(file.text);
    for (size_t at = sql.find("{{table}}"); at != std::string::npos;
         at = sql.find("{{table}}", at + 1)) {
      size_t end = at + 9;
      while (end < sql.size() &&
             (std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_')) {
        ++end;
      }
      CHECK(56 + (end - at - 9) <= 63);
    }
  }
  CHECK_THAT(RenderSql("CREATE TABLE \"{{table}}\" ({{table}}_x)", "t"),
             Contains("CREATE TABLE \"t\" (t_x)"));
}

}  // namespace
}  // namespace tiercache::postgres
