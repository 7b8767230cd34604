#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tiercache::resp {

// Bounds on what one request may hold, checked before anything is allocated for it.
struct ParserLimits {
  size_t max_arguments = 1024 * 1024;      // elements of one multibulk request
  size_t max_bulk_bytes = size_t{9} << 20;  // one argument
  size_t max_inline_bytes = 64 * 1024;      // one inline request line, as Redis bounds it
};

// What Parse found at the front of its input.
enum class ParseOutcome : uint8_t {
  kCommand,   // a whole request: `args` holds it
  kEmpty,     // a request with no arguments (an empty line, "*0"): skip `consumed` bytes
  kNeedMore,  // the request is not complete yet; nothing consumed
  kError,     // a protocol error: reply `error` and close the connection, as Redis does
};

struct ParseResult {
  ParseOutcome outcome = ParseOutcome::kNeedMore;
  size_t consumed = 0;  // bytes of the input the request took
  // kNeedMore: the input size below which parsing again is pointless (a bulk's length is
  // known before its bytes arrive), so that a large value arriving in pieces is not
  // rescanned for every piece.
  size_t needed = 0;
  std::string error;  // kError: the message, without "-ERR " and CRLF
};

// The Redis protocol's request side (RESP2 multibulk, and inline commands as
// redis-benchmark and telnet send them), with no I/O: the connection keeps the bytes,
// Parse reads one request from their front. Arguments are views into the input, valid
// until the caller consumes it, except inline arguments with quotes or escapes, which are
// decoded into storage the parser owns (valid until the next Parse).
class Parser {
 public:
  explicit Parser(ParserLimits limits = {}) : limits_(limits) {}

  ParseResult Parse(std::string_view input, std::vector<std::string_view>& args);

 private:
  ParseResult ParseMultibulk(std::string_view input, std::vector<std::string_view>& args);
  ParseResult ParseInline(std::string_view input, std::vector<std::string_view>& args);

  ParserLimits limits_;
  std::vector<std::string> decoded_;  // inline arguments that needed unquoting
};

}  // namespace tiercache::resp
