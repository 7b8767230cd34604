#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tiercache::postgres {

// A range of keys in bytewise order: from <= key, and key < *until when there is an until.
// The default range holds every key.
struct KeyRange {
  std::string from;
  std::optional<std::string> until;

  bool Contains(std::string_view key) const {
    return key >= std::string_view(from) && (!until || key < std::string_view(*until));
  }
};

// The smallest string after every string that starts with `prefix`: its last byte below
// 0xff incremented, the bytes after it dropped; nullopt when there is none ("", "\xff\xff").
std::optional<std::string> PrefixSuccessor(std::string_view prefix);

// The keys that a KeyPattern compiled from `pattern` can match (a partial match, RE2
// semantics, Latin-1), found with RE2::PossibleMatchRange; every key when nothing useful
// is known. Only a pattern that can match nothing but the start of a key narrows the
// range: one that begins with ^ and has no | outside brackets and groups.
KeyRange CandidateKeys(std::string_view pattern);
// The same for a scoped pattern (KeyPattern::scope): keys that start with `scope`, followed
// by what CandidateKeys(pattern) allows.
KeyRange CandidateKeys(std::string_view scope, std::string_view pattern);

}  // namespace tiercache::postgres
