#include "server/resp/resp_parser.h"


namespace tiercache::resp {

namespace {

// Longest "*<count>" or "$<length>" line Redis accepts before its CRLF.
constexpr size_t kMaxHeaderLine = 64 * 1024;

ParseResult Error(std::string message) {
  ParseResult r;
  r.outcome = ParseOutcome::kError;
  r.error = std::move(message);
  return r;
}

ParseResult NeedMore(size_t needed = 0) {
  ParseResult r;
  r.needed = needed;
  return r;
}

// A decimal integer as Redis's string2ll reads it: optional minus, digits, nothing else.
// By hand: two or three of these per argument make from_chars' generality show.
bool ParseLength(std::string_view text, int64_t& value) {
  if (text.empty()) return false;
  const bool negative = text[0] == '-';
  size_t i = negative ? 1 : 0;
  // 18 digits at most: far past any limit, and no overflow below.
  if (text.size() == i || text.size() - i > 18) return false;
  int64_t n = 0;
  for (; i < text.size(); ++i) {
    const unsigned d = static_cast<unsigned char>(text[i]) - '0';
    if (d > 9) return false;
    n = n * 10 + d;
  }
  value = negative ? -n : n;
  return true;
}

// The line starting at `from` (after the type byte), up to its CRLF; npos when the CRLF
// has not arrived. Redis looks for '\r' and requires the '\n' to follow.
size_t FindCr(std::string_view input, size_t from) { return input.find('\r', from); }

bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits an inline request line as Redis's sdssplitargs does: spaces separate arguments;
// "double quotes" take \n \r \t \b \a \\ \" and \xHH escapes; 'single quotes' take \' only;
// a closing quote must be followed by a space or the end. False on unbalanced quotes.
bool SplitInline(std::string_view line, std::vector<std::string>& out) {
  size_t i = 0;
  while (true) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i == line.size()) return true;
    std::string arg;
    bool in_double = false, in_single = false, done = false;
    while (!done) {
      if (in_double) {
        if (i == line.size()) return false;
        const char c = line[i];
        if (c == '\\' && i + 3 < line.size() && line[i + 1] == 'x' &&
            HexDigit(line[i + 2]) >= 0 && HexDigit(line[i + 3]) >= 0) {
          arg.push_back(static_cast<char>(HexDigit(line[i + 2]) * 16 + HexDigit(line[i + 3])));
          i += 3;
        } else if (c == '\\' && i + 1 < line.size()) {
          ++i;
          switch (line[i]) {
            case 'n': arg.push_back('\n'); break;
            case 'r': arg.push_back('\r'); break;
            case 't': arg.push_back('\t'); break;
            case 'b': arg.push_back('\b'); break;
            case 'a': arg.push_back('\a'); break;
            default: arg.push_back(line[i]); break;
          }
        } else if (c == '"') {
          if (i + 1 < line.size() && !IsSpace(line[i + 1])) return false;
          done = true;
        } else {
          arg.push_back(c);
        }
      } else if (in_single) {
        if (i == line.size()) return false;
        const char c = line[i];
        if (c == '\\' && i + 1 < line.size() && line[i + 1] == '\'') {
          ++i;
          arg.push_back('\'');
        } else if (c == '\'') {
          if (i + 1 < line.size() && !IsSpace(line[i + 1])) return false;
          done = true;
        } else {
          arg.push_back(c);
        }
      } else if (i == line.size()) {
        done = true;
        --i;  // balanced by the increment below
      } else {
        const char c = line[i];
        if (IsSpace(c)) {
          done = true;
        } else if (c == '"') {
          in_double = true;
        } else if (c == '\'') {
          in_single = true;
        } else {
          arg.push_back(c);
        }
      }
      ++i;
    }
    out.push_back(std::move(arg));
  }
}

}  // namespace

ParseResult Parser::Parse(std::string_view input, std::vector<std::string_view>& args) {
  args.clear();
  if (input.empty()) return NeedMore();
  return input[0] == '*' ? ParseMultibulk(input, args) : ParseInline(input, args);
}

ParseResult Parser::ParseMultibulk(std::string_view input, std::vector<std::string_view>& args) {
  size_t cr = FindCr(input, 1);
  if (cr == std::string_view::npos) {
    if (input.size() > kMaxHeaderLine) return Error("Protocol error: too big mbulk count string");
    return NeedMore();
  }
  if (cr + 1 >= input.size()) return NeedMore();
  int64_t count = 0;
  if (!ParseLength(input.substr(1, cr - 1), count) ||
      count > static_cast<int64_t>(limits_.max_arguments)) {
    return Error("Protocol error: invalid multibulk length");
  }
  size_t pos = cr + 2;
  if (count <= 0) {
    ParseResult r;
    r.outcome = ParseOutcome::kEmpty;
    r.consumed = pos;
    return r;
  }
  // Not reserved from the count: a client may announce a million arguments and send none.
  for (int64_t n = 0; n < count; ++n) {
    if (pos >= input.size()) return NeedMore();
    if (input[pos] != '$') {
      return Error(std::string("Protocol error: expected '$', got '") + input[pos] + "'");
    }
    cr = FindCr(input, pos + 1);
    if (cr == std::string_view::npos) {
      if (input.size() - pos > kMaxHeaderLine) {
        return Error("Protocol error: too big bulk count string");
      }
      return NeedMore();
    }
    if (cr + 1 >= input.size()) return NeedMore();
    int64_t length = 0;
    if (!ParseLength(input.substr(pos + 1, cr - pos - 1), length) || length < 0 ||
        static_cast<uint64_t>(length) > limits_.max_bulk_bytes) {
      return Error("Protocol error: invalid bulk length");
    }
    const size_t start = cr + 2;
    const size_t end = start + static_cast<size_t>(length);
    if (end + 2 > input.size()) return NeedMore(end + 2);
    args.push_back(input.substr(start, static_cast<size_t>(length)));
    pos = end + 2;
  }
  ParseResult r;
  r.outcome = ParseOutcome::kCommand;
  r.consumed = pos;
  return r;
}

ParseResult Parser::ParseInline(std::string_view input, std::vector<std::string_view>& args) {
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) {
    if (input.size() > limits_.max_inline_bytes) {
      return Error("Protocol error: too big inline request");
    }
    return NeedMore();
  }
  std::string_view line = input.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  ParseResult r;
  r.consumed = newline + 1;
  // The common case (PING, GET key) has neither quotes nor escapes: views, no copies.
  if (line.find_first_of("\"'") == std::string_view::npos) {
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && IsSpace(line[i])) ++i;
      const size_t start = i;
      while (i < line.size() && !IsSpace(line[i])) ++i;
      if (i > start) args.push_back(line.substr(start, i - start));
    }
  } else {
    decoded_.clear();
    if (!SplitInline(line, decoded_)) return Error("Protocol error: unbalanced quotes in request");
    for (const auto& a : decoded_) args.emplace_back(a);
  }
  r.outcome = args.empty() ? ParseOutcome::kEmpty : ParseOutcome::kCommand;
  return r;
}

}  // namespace tiercache::resp
