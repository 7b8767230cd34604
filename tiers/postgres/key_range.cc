#include "tiers/postgres/key_range.h"

#include <re2/re2.h>

namespace tiercache::postgres {

namespace {

// How far RE2 spells out the bounds; longer keys share the bounds' prefix.
constexpr int kMaxBoundLength = 256;
// As core/key_pattern.cc: the same pattern must compile here too.
constexpr int64_t kMaxProgramMemory = 8 << 20;

// Skips leading flag groups such as "(?i)" or "(?s-U)" that leave ^ meaning "start of
// text" (only m would change that); the rest of the pattern.
std::string_view SkipHarmlessFlags(std::string_view pattern) {
  while (pattern.starts_with("(?")) {
    const size_t close = pattern.find(')');
    if (close == std::string_view::npos) return pattern;
    const std::string_view flags = pattern.substr(2, close - 2);
    if (flags.find_first_not_of("isU-") != std::string_view::npos) return pattern;
    pattern.remove_prefix(close + 1);
  }
  return pattern;
}

// Whether `pattern` has a | outside every group and bracket expression, that is an
// alternative that need not start with the leading ^. Errs towards true: a false "no"
// would make pattern invalidation skip keys that match.
bool HasTopLevelAlternation(std::string_view pattern) {
  int depth = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 < pattern.size() && pattern[i + 1] == 'Q') {
        // \Q...\E quotes everything up to \E, brackets and bars included.
        const size_t end = pattern.find("\\E", i + 2);
        if (end == std::string_view::npos) return false;
        i = end + 1;
      } else {
        ++i;
      }
    } else if (c == '[') {
      // A bracket expression: a ] right after [ or [^ is a member, not its end.
      size_t j = i + 1;
      if (j < pattern.size() && pattern[j] == '^') ++j;
      if (j < pattern.size() && pattern[j] == ']') ++j;
      while (j < pattern.size() && pattern[j] != ']') j += pattern[j] == '\\' ? 2 : 1;
      i = j;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth <= 0) {
      return true;
    }
  }
  return false;
}

// Whether every match of `pattern` (RE2 syntax, multi-line off) starts at offset 0.
bool AnchoredAtStart(std::string_view pattern) {
  pattern = SkipHarmlessFlags(pattern);
  return pattern.starts_with('^') && !HasTopLevelAlternation(pattern);
}

// The shortest prefix of `s` that is not below `floor` (`s` itself if none).
std::string_view ShortestPrefixAtLeast(std::string_view s, std::string_view floor) {
  for (size_t n = 0; n <= s.size(); ++n) {
    if (s.substr(0, n) >= floor) return s.substr(0, n);
  }
  return s;
}

}  // namespace

std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string next(prefix);
  while (!next.empty() && static_cast<unsigned char>(next.back()) == 0xff) next.pop_back();
  if (next.empty()) return std::nullopt;
  next.back() = static_cast<char>(static_cast<unsigned char>(next.back()) + 1);
  return next;
}

KeyRange CandidateKeys(std::string_view pattern) {
  if (!AnchoredAtStart(pattern)) return {};
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(kMaxProgramMemory);
  options.set_encoding(RE2::Options::EncodingLatin1);
  const RE2 re(re2::StringPiece(pattern.data(), pattern.size()), options);
  std::string min;
  std::string max;
  if (!re.ok() || !re.PossibleMatchRange(&min, &max, kMaxBoundLength)) return {};
  // RE2 bounds the matched text m: min <= m <= max. A key is such an m followed by anything,
  // so it is not below min. And m is either a prefix of max, then at least as long as the
  // shortest prefix of max that is >= min, or below max where they first differ: either
  // way the key sorts before the successor of that shortest prefix.
  return KeyRange{min, PrefixSuccessor(ShortestPrefixAtLeast(max, min))};
}

KeyRange CandidateKeys(std::string_view scope, std::string_view pattern) {
  if (scope.empty()) return CandidateKeys(pattern);
  const KeyRange within = CandidateKeys(pattern);
  KeyRange range;
  range.from = std::string(scope) + within.from;
  range.until = within.until ? std::optional<std::string>(std::string(scope) + *within.until)
                             : PrefixSuccessor(scope);
  return range;
}

}  // namespace tiercache::postgres
