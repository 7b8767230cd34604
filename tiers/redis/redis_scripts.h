#pragma once

#include <string>
#include <vector>

namespace tiercache::redis {

// The Lua scripts of the tier (sources in redis_scripts.cc), loaded with SCRIPT LOAD on every
// connection and called with EVALSHA. Each runs atomically, so an entry and its tag
// memberships always change together, whichever server writes.
enum ScriptId : int {
  // KEYS[1] entry key; ARGV key, value, ttl ms, tag set prefix, content type, tags... -> 1.
  // Drops the old entry's memberships, writes the entry with PEXPIREAT, adds the new ones.
  kSetScript = 0,
  // KEYS entry keys, each at most once; ARGV tag set prefix, then per entry: key, value,
  // ttl ms, its tags encoded (EncodeTags, no repeats), content type, the count of its tags
  // no other entry of the call has, those tags...; then per tag several entries have: tag,
  // entry count, their indexes in KEYS (from 1)... -> number of entries. kSetScript for
  // each, in one call.
  kSetBatchScript,
  // KEYS entry keys; ARGV tag set prefix, length of the entry key prefix -> entries removed.
  kDeleteScript,
  // KEYS tag sets; ARGV entry key prefix, tag set prefix, batch size -> {removed, left}.
  // Pops up to a batch of memberships and removes the entries they still point at.
  kInvalidateTagsScript,
  // KEYS tag sets -> {sets left, memberships, bytes}: drops expired memberships, measures.
  kSweepScript,
  // KEYS[1] entry key; ARGV delta, ttl ms for a new entry -> {1, value as text, pttl ms,
  // encoded tags}, or
  // {0, error} when the value is no integer or the sum overflows. HINCRBY on the entry's
  // value: Redis checks and adds in 64 bits; tags and expiry stay.
  kIncrementScript,
  kScriptCount,
};

// The sources, indexed by ScriptId.
const std::vector<std::string>& ScriptSources();

}  // namespace tiercache::redis
