#include "server/resp/resp_parser.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

namespace tiercache::resp {
namespace {

using Commands = std::vector<std::vector<std::string>>;

// Feeds `input` to a parser in pieces at `cuts`, as a connection's reads would, and
// returns every command found (or the error, as the last "command").
Commands ParseInPieces(std::string_view input, std::vector<size_t> cuts) {
  Parser parser;
  std::string buffer;
  Commands commands;
  std::vector<std::string_view> args;
  size_t fed = 0;
  cuts.push_back(input.size());
  for (size_t cut : cuts) {
    buffer.append(input.substr(fed, cut - fed));
    fed = cut;
    while (true) {
      ParseResult r = parser.Parse(buffer, args);
      if (r.outcome == ParseOutcome::kNeedMore) break;
      if (r.outcome == ParseOutcome::kError) {
        commands.push_back({"error", r.error});
        return commands;
      }
      if (r.outcome == ParseOutcome::kCommand) commands.emplace_back(args.begin(), args.end());
      buffer.erase(0, r.consumed);
    }
  }
  return commands;
}

Commands ParseAll(std::string_view input) { return ParseInPieces(input, {}); }

TEST_CASE("MultibulkRequestsAreSplitIntoTheirArguments", "[resp]") {
  CHECK(ParseAll("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n") ==
        Commands{{"SET", "k", "hello"}});
  // Arguments are bytes: CRLF and NUL inside a bulk belong to it.
  CHECK(ParseAll(std::string("*2\r\n$4\r\necho\r\n$4\r\na\r\n\0\r\n", 24)) ==
        Commands{{"echo", std::string("a\r\n\0", 4)}});
  CHECK(ParseAll("*1\r\n$0\r\n\r\n") == Commands{{""}});
}

TEST_CASE("InlineRequestsAreSplitOnSpacesAndUnquoted", "[resp]") {
  CHECK(ParseAll("PING\r\n") == Commands{{"PING"}});
  CHECK(ParseAll("set  k   v\n") == Commands{{"set", "k", "v"}});
  CHECK(ParseAll("set k \"a b\\n\\x41\"\r\n") == Commands{{"set", "k", "a b\nA"}});
  CHECK(ParseAll("set k 'it\\'s'\r\n") == Commands{{"set", "k", "it's"}});
  // An empty line is no request.
  CHECK(ParseAll("\r\n\r\nPING\r\n") == Commands{{"PING"}});
}

TEST_CASE("PipelinedRequestsParseTheSameHoweverTheBytesArrive", "[resp]") {
  std::string input;
  Commands expected;
  for (int i = 0; i < 50; ++i) {
    const std::string key = "key:" + std::to_string(i);
    const std::string value(static_cast<size_t>(i * 7), 'x');
    input += "*3\r\n$3\r\nSET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n$" +
             std::to_string(value.size()) + "\r\n" + value + "\r\n";
    expected.push_back({"SET", key, value});
    input += "GET " + key + "\r\n";
    expected.push_back({"GET", key});
  }
  REQUIRE(ParseAll(input) == expected);
  std::mt19937 random(42);
  for (int round = 0; round < 200; ++round) {
    std::vector<size_t> cuts;
    std::uniform_int_distribution<size_t> at(0, input.size());
    for (int c = 0; c < 20; ++c) cuts.push_back(at(random));
    std::sort(cuts.begin(), cuts.end());
    REQUIRE(ParseInPieces(input, cuts) == expected);
  }
  // One byte at a time.
  std::vector<size_t> every;
  for (size_t i = 1; i < input.size(); ++i) every.push_back(i);
  CHECK(ParseInPieces(input, every) == expected);
}

TEST_CASE("MalformedFramesGetRedisProtocolErrors", "[resp]") {
  const auto error = [](std::string_view input) {
    Commands c = ParseAll(input);
    REQUIRE(!c.empty());
    REQUIRE(c.back()[0] == "error");
    return c.back()[1];
  };
  CHECK(error("*abc\r\n") == "Protocol error: invalid multibulk length");
  CHECK(error("*1\r\n+PING\r\n") == "Protocol error: expected '$', got '+'");
  CHECK(error("*1\r\n$abc\r\n") == "Protocol error: invalid bulk length");
  CHECK(error("*1\r\n$-5\r\n") == "Protocol error: invalid bulk length");
  CHECK(error("set \"a b\r\n") == "Protocol error: unbalanced quotes in request");
  CHECK(error("set \"a\"b c\r\n") == "Protocol error: unbalanced quotes in request");
  CHECK(error("*99999999999\r\n") == "Protocol error: invalid multibulk length");
}

TEST_CASE("ABulkLongerThanTheLimitIsRefusedBeforeItsBytesArrive", "[resp]") {
  Parser parser(ParserLimits{1024, 1 << 20, 64 * 1024});
  std::vector<std::string_view> args;
  // 600 MB announced, nothing sent: refused from the header alone.
  ParseResult r = parser.Parse("*2\r\n$3\r\nGET\r\n$600000000\r\n", args);
  CHECK(r.outcome == ParseOutcome::kError);
  CHECK(r.error == "Protocol error: invalid bulk length");
  // Within the limit, the parser waits and says how much it needs.
  r = parser.Parse("*1\r\n$1000\r\nabc", args);
  CHECK(r.outcome == ParseOutcome::kNeedMore);
  CHECK(r.needed == std::string_view("*1\r\n$1000\r\n").size() + 1000 + 2);
  // Too many arguments announced.
  r = parser.Parse("*1025\r\n", args);
  CHECK(r.outcome == ParseOutcome::kError);
  CHECK(r.error == "Protocol error: invalid multibulk length");
}

TEST_CASE("AnInlineLineLongerThanTheLimitIsAnError", "[resp]") {
  Parser parser(ParserLimits{1024, 1 << 20, 100});
  std::vector<std::string_view> args;
  ParseResult r = parser.Parse(std::string(101, 'a'), args);
  CHECK(r.outcome == ParseOutcome::kError);
  CHECK(r.error == "Protocol error: too big inline request");
}

}  // namespace
}  // namespace tiercache::resp
