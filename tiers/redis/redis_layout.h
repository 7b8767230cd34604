#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tiercache::redis {

// The names of a tier's Redis keys (README.md, "Layout"):
//   {prefix}k:{key}  a hash per entry: v = value, t = tags (EncodeTags), x = expiry (ms since
//                    the Unix epoch, Redis's clock), c = content type ("" if none; absent in
//                    entries of older versions); PEXPIREAT x on the key itself.
//   {prefix}t:{tag}  a sorted set per tag: member = key, score = that entry's expiry.
//   {prefix}n:{name} a counter of the server's (Tier::AddToCounter): a namespace's version.
class Layout {
 public:
  explicit Layout(std::string prefix);

  const std::string& prefix() const { return prefix_; }
  const std::string& entry_prefix() const { return entry_prefix_; }
  const std::string& tag_prefix() const { return tag_prefix_; }

  std::string EntryKey(std::string_view key) const { return entry_prefix_ + std::string(key); }
  std::string TagKey(std::string_view tag) const { return tag_prefix_ + std::string(tag); }
  std::string CounterKey(std::string_view name) const {
    return counter_prefix_ + std::string(name);
  }
  bool IsCounterKey(std::string_view redis_key) const {
    return redis_key.starts_with(counter_prefix_);
  }
  bool IsEntryKey(std::string_view redis_key) const { return redis_key.starts_with(entry_prefix_); }
  // The cache key of an entry key. REQUIRES: IsEntryKey(redis_key).
  std::string_view KeyOf(std::string_view redis_key) const {
    return redis_key.substr(entry_prefix_.size());
  }

  // SCAN MATCH patterns: every key of the namespace, the entries, the tag sets.
  std::string NamespaceGlob() const;
  std::string EntryGlob() const;
  std::string TagGlob() const;

 private:
  std::string prefix_;
  std::string entry_prefix_;
  std::string tag_prefix_;
  std::string counter_prefix_;
};

// Tags as stored in an entry's `t` field: "<decimal length>:<bytes>" for each, concatenated
// (binary safe, and simple to take apart in Lua).
std::string EncodeTags(const std::vector<std::string>& tags);
// nullopt if `encoded` is not what EncodeTags makes.
std::optional<std::vector<std::string>> DecodeTags(std::string_view encoded);

// A whole decimal integer (as Redis sends them in strings), or nullopt.
std::optional<int64_t> ParseInt64(std::string_view text);

// `text` with the glob characters of Redis's MATCH (* ? [ ] \) escaped.
std::string GlobEscape(std::string_view text);

}  // namespace tiercache::redis
