#include "core/key_pattern.h"

#include <re2/re2.h>

namespace tiercache {

namespace {
// Bounds the memory one compiled pattern may use; RE2 reports patterns over it as errors.
constexpr int64_t kMaxProgramMemory = 8 << 20;
}  // namespace

Result<std::shared_ptr<const KeyPattern>> KeyPattern::Compile(std::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(kMaxProgramMemory);
  // Keys are byte strings: match bytes, not UTF-8 code points.
  options.set_encoding(RE2::Options::EncodingLatin1);
  auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    return Status::InvalidArgument("invalid pattern: " + re->error());
  }
  return std::shared_ptr<const KeyPattern>(new KeyPattern(std::move(re)));
}

KeyPattern::KeyPattern(std::unique_ptr<re2::RE2> re) : re_(std::move(re)) {}
KeyPattern::~KeyPattern() = default;

const std::string& KeyPattern::pattern() const { return re_->pattern(); }

bool KeyPattern::Matches(std::string_view key) const {
  return RE2::PartialMatch(re2::StringPiece(key.data(), key.size()), *re_);
}

}  // namespace tiercache
