#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace re2 {
class RE2;
}

namespace tiercache {

// A compiled regular expression over keys, in RE2 syntax: matching time is linear in
// the key's length whatever the pattern, so user input cannot stall the server.
// A pattern is searched anywhere in the key (like Python's re.search); anchor it with
// ^ and $ to match whole keys. Immutable and safe to share between threads.
//
// A scoped pattern (a namespace's: core/namespaces.h) matches the keys that start with its
// scope, applied to what follows the scope, so that ^ anchors where the client's key
// begins.
class KeyPattern {
 public:
  // Compiles `pattern`; InvalidArgument with RE2's explanation if it does not compile.
  static Result<std::shared_ptr<const KeyPattern>> Compile(std::string_view pattern,
                                                           std::string_view scope = {});

  ~KeyPattern();
  bool Matches(std::string_view key) const;

  // The same pattern compiled anew. RE2 serialises the threads that share one compiled
  // pattern on a lock around its cache; a thread of a parallel walk takes a copy.
  std::shared_ptr<const KeyPattern> Copy() const;

  // The source text it was compiled from; lower tiers use it to narrow their scans.
  const std::string& pattern() const;
  // What every key it matches starts with before the pattern applies; empty for most.
  const std::string& scope() const { return scope_; }

 private:
  KeyPattern(std::unique_ptr<re2::RE2> re, std::string scope);
  std::unique_ptr<re2::RE2> re_;
  const std::string scope_;
  // What every key the pattern matches starts with: the scope, then the common prefix of
  // the range RE2's PossibleMatchRange gives a pattern anchored at the start. A key without it is refused
  // by one comparison, without running the pattern. Often empty.
  std::string prefix_;
  // Strings of which every matching key holds at least one (RE2's FilteredRE2 atoms,
  // lowercase ASCII; compared ignoring case): a key holding none is refused without
  // running the pattern. Empty when the pattern has no such strings.
  std::vector<std::string> atoms_;
};

}  // namespace tiercache
