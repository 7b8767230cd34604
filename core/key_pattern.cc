#include "core/key_pattern.h"

#include <algorithm>
#include <string>

#include <re2/filtered_re2.h>
#include <re2/re2.h>

namespace tiercache {

namespace {
// Bounds the memory one compiled pattern may use; RE2 reports patterns over it as errors.
constexpr int64_t kMaxProgramMemory = 8 << 20;
// Shorter atoms are in too many keys to refuse any.
constexpr int kMinAtomBytes = 2;

RE2::Options PatternOptions() {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(kMaxProgramMemory);
  // Keys are byte strings: match bytes, not UTF-8 code points.
  options.set_encoding(RE2::Options::EncodingLatin1);
  return options;
}

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool ContainsIgnoringCase(std::string_view text, std::string_view atom) {
  // Most atoms of key patterns have no letters (separators, digits): a plain search.
  if (std::none_of(atom.begin(), atom.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
    return text.find(atom) != std::string_view::npos;
  }
  return std::search(text.begin(), text.end(), atom.begin(), atom.end(), [](char a, char b) {
           return LowerAscii(a) == b;
         }) != text.end();
}

// The atoms of `pattern` if every key it matches must hold one of them, else none.
std::vector<std::string> RequiredAtoms(const std::string& pattern) {
  re2::FilteredRE2 filter(kMinAtomBytes);
  int id = 0;
  if (filter.Add(pattern, PatternOptions(), &id) != RE2::NoError) return {};
  std::vector<std::string> atoms;
  filter.Compile(&atoms);
  // A pattern that passes the filter with no atom found needs none.
  std::vector<int> without_atoms;
  filter.AllPotentials({}, &without_atoms);
  if (atoms.empty() || !without_atoms.empty()) return {};
  // FilteredRE2 lowercases atoms by Latin-1 case folding; the comparison here folds ASCII
  // only, so an atom with other bytes is not trusted to refuse anything.
  for (const auto& atom : atoms) {
    for (const char c : atom) {
      if (static_cast<unsigned char>(c) >= 0x80) return {};
    }
  }
  return atoms;
}

}  // namespace

Result<std::shared_ptr<const KeyPattern>> KeyPattern::Compile(std::string_view pattern,
                                                              std::string_view scope) {
  auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()),
                                  PatternOptions());
  if (!re->ok()) {
    return Status::InvalidArgument("invalid pattern: " + re->error());
  }
  return std::shared_ptr<const KeyPattern>(new KeyPattern(std::move(re), std::string(scope)));
}

KeyPattern::KeyPattern(std::unique_ptr<re2::RE2> re, std::string scope)
    : re_(std::move(re)), scope_(std::move(scope)) {
  // Only a pattern anchored at the start narrows anything; RE2 gives others the whole range.
  // A match is a prefix of the key in [min, max]; every string in that range starts with
  // the range's common prefix, and so does the key.
  constexpr int kMaxRangeBytes = 64;
  std::string min, max;
  if (!re_->pattern().empty() && re_->pattern()[0] == '^' &&
      re_->PossibleMatchRange(&min, &max, kMaxRangeBytes)) {
    const auto [m, _] = std::mismatch(min.begin(), min.end(), max.begin(), max.end());
    prefix_.assign(min.begin(), m);
  }
  prefix_.insert(0, scope_);
  atoms_ = RequiredAtoms(re_->pattern());
}

std::shared_ptr<const KeyPattern> KeyPattern::Copy() const {
  auto copy = Compile(re_->pattern(), scope_);
  return copy.ok() ? *copy : nullptr;  // it compiled once, so it compiles again
}
KeyPattern::~KeyPattern() = default;

const std::string& KeyPattern::pattern() const { return re_->pattern(); }

bool KeyPattern::Matches(std::string_view key) const {
  if (!prefix_.empty() && !key.starts_with(prefix_)) return false;
  key.remove_prefix(scope_.size());  // prefix_ starts with it
  if (!atoms_.empty() &&
      std::none_of(atoms_.begin(), atoms_.end(),
                   [&](const std::string& atom) { return ContainsIgnoringCase(key, atom); })) {
    return false;
  }
  return RE2::PartialMatch(re2::StringPiece(key.data(), key.size()), *re_);
}

}  // namespace tiercache
