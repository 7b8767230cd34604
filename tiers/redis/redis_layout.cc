#include "tiers/redis/redis_layout.h"

#include <charconv>

namespace tiercache::redis {

Layout::Layout(std::string prefix)
    : prefix_(std::move(prefix)),
      entry_prefix_(prefix_ + "k:"),
      tag_prefix_(prefix_ + "t:"),
      counter_prefix_(prefix_ + "n:") {}

std::string Layout::NamespaceGlob() const { return GlobEscape(prefix_) + "*"; }
std::string Layout::EntryGlob() const { return GlobEscape(entry_prefix_) + "*"; }
std::string Layout::TagGlob() const { return GlobEscape(tag_prefix_) + "*"; }

std::string EncodeTags(const std::vector<std::string>& tags) {
  std::string out;
  for (const std::string& tag : tags) {
    out += std::to_string(tag.size());
    out += ':';
    out += tag;
  }
  return out;
}

std::optional<std::vector<std::string>> DecodeTags(std::string_view encoded) {
  std::vector<std::string> tags;
  while (!encoded.empty()) {
    const size_t colon = encoded.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    size_t length = 0;
    const auto [end, error] = std::from_chars(encoded.data(), encoded.data() + colon, length);
    if (error != std::errc() || end != encoded.data() + colon) return std::nullopt;
    encoded.remove_prefix(colon + 1);
    if (length > encoded.size()) return std::nullopt;
    tags.emplace_back(encoded.substr(0, length));
    encoded.remove_prefix(length);
  }
  return tags;
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string GlobEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace tiercache::redis
