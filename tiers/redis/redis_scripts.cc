#include "tiers/redis/redis_scripts.h"

namespace tiercache::redis {

namespace {

// Shared by every script. Times are milliseconds of Redis's own clock (TIME), the clock its
// key expiry uses. A membership is current only while its score equals the entry's `x`: a
// membership left behind by an expired entry must not let a later entry of the same key,
// written without that tag, be removed with it.
constexpr const char* kPreamble = R"lua(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function decode_tags(s)
  local tags, pos = {}, 1
  while pos <= #s do
    local colon = string.find(s, ':', pos, true)
    local len = tonumber(string.sub(s, pos, colon - 1))
    tags[#tags + 1] = string.sub(s, colon + 1, colon + len)
    pos = colon + len + 1
  end
  return tags
end
local function remove_entry(entry, member, tag_prefix)
  local tags = redis.call('HGET', entry, 't')
  if not tags then return 0 end
  for _, tag in ipairs(decode_tags(tags)) do
    redis.call('ZREM', tag_prefix .. tag, member)
  end
  return redis.call('UNLINK', entry)
end
)lua";

constexpr const char* kSet = R"lua(
local entry, member, tag_prefix = KEYS[1], ARGV[1], ARGV[4]
local now = now_ms()
local expiry = string.format('%d', now + tonumber(ARGV[3]))
local old = redis.call('HGET', entry, 't')
if old then
  for _, tag in ipairs(decode_tags(old)) do redis.call('ZREM', tag_prefix .. tag, member) end
end
local encoded, seen = {}, {}
local cutoff = '(' .. string.format('%d', now)
for i = 5, #ARGV do
  local tag = ARGV[i]
  if not seen[tag] then
    seen[tag] = true
    encoded[#encoded + 1] = #tag .. ':' .. tag
    local set = tag_prefix .. tag
    redis.call('ZADD', set, expiry, member)
    redis.call('ZREMRANGEBYSCORE', set, '-inf', cutoff)
    -- The set lives as long as its longest-lived member (-1: no expiry yet).
    if redis.call('PEXPIRETIME', set) < tonumber(expiry) then
      redis.call('PEXPIREAT', set, expiry)
    end
  end
end
redis.call('HSET', entry, 'v', ARGV[2], 't', table.concat(encoded), 'x', expiry)
redis.call('PEXPIREAT', entry, expiry)
return 1
)lua";

// Many Sets in one call: the same effect as kSet per write, in order, but each tag set is
// touched once per call (one ZADD of all its new members, one trim, one expiry check)
// rather than once per write, which is most of the cost when a bulk load tags every entry
// with a shared tag. A membership queued earlier in this call for a key written again is
// dropped, as kSet's ZREM would have dropped it.
constexpr const char* kSetBatch = R"lua(
local tag_prefix = ARGV[1]
local now = now_ms()
local pending, order, latest = {}, {}, {}  -- tag -> {member -> expiry}; tags in first-use order
local pos = 2
for _, entry in ipairs(KEYS) do
  local member, value = ARGV[pos], ARGV[pos + 1]
  local x = now + tonumber(ARGV[pos + 2])
  local ntags = tonumber(ARGV[pos + 3])
  local encoded, seen = {}, {}
  for i = pos + 4, pos + 3 + ntags do
    local tag = ARGV[i]
    if not seen[tag] then
      seen[tag] = true
      encoded[#encoded + 1] = #tag .. ':' .. tag
    end
  end
  pos = pos + 4 + ntags
  encoded = table.concat(encoded)
  -- Memberships of tags the entry keeps are moved by the ZADD below; only dropped tags
  -- (the usual re-warm keeps them all) cost a ZREM.
  local old = redis.call('HGET', entry, 't')
  if old and old ~= encoded then
    for _, tag in ipairs(decode_tags(old)) do
      if not seen[tag] then
        redis.call('ZREM', tag_prefix .. tag, member)
        if pending[tag] then pending[tag][member] = nil end
      end
    end
  end
  for tag in pairs(seen) do
    if not pending[tag] then
      pending[tag] = {}
      order[#order + 1] = tag
    end
    pending[tag][member] = x
    if not latest[tag] or latest[tag] < x then latest[tag] = x end
  end
  local expiry = string.format('%d', x)
  redis.call('HSET', entry, 'v', value, 't', encoded, 'x', expiry)
  redis.call('PEXPIREAT', entry, expiry)
end
local cutoff = '(' .. string.format('%d', now)
for _, tag in ipairs(order) do
  local set = tag_prefix .. tag
  local args, added = {}, false
  for member, x in pairs(pending[tag]) do
    args[#args + 1] = string.format('%d', x)
    args[#args + 1] = member
    added = true
    if #args >= 1000 then  -- unpack's stack is bounded
      redis.call('ZADD', set, unpack(args))
      args = {}
    end
  end
  if #args > 0 then redis.call('ZADD', set, unpack(args)) end
  if added then
    -- -1: a set just made by the ZADD, with nothing expired to trim.
    local set_expiry = redis.call('PEXPIRETIME', set)
    if set_expiry ~= -1 then redis.call('ZREMRANGEBYSCORE', set, '-inf', cutoff) end
    if set_expiry < latest[tag] then
      redis.call('PEXPIREAT', set, string.format('%d', latest[tag]))
    end
  end
end
return #KEYS
)lua";

constexpr const char* kDelete = R"lua(
local removed, skip = 0, tonumber(ARGV[2])
for _, entry in ipairs(KEYS) do
  removed = removed + remove_entry(entry, string.sub(entry, skip + 1), ARGV[1])
end
return removed
)lua";

constexpr const char* kInvalidateTags = R"lua(
local entry_prefix, tag_prefix = ARGV[1], ARGV[2]
local budget, removed = tonumber(ARGV[3]), 0
for _, set in ipairs(KEYS) do
  if budget <= 0 then break end
  local popped = redis.call('ZPOPMIN', set, budget)
  for i = 1, #popped, 2 do
    local member, score = popped[i], popped[i + 1]
    local entry = entry_prefix .. member
    local expiry = redis.call('HGET', entry, 'x')
    if expiry and tonumber(expiry) == tonumber(score) then
      removed = removed + remove_entry(entry, member, tag_prefix)
    end
  end
  budget = budget - #popped / 2
end
local left = 0
for _, set in ipairs(KEYS) do left = left + redis.call('ZCARD', set) end
return {removed, left}
)lua";

constexpr const char* kSweep = R"lua(
local cutoff = '(' .. string.format('%d', now_ms())
local sets, members, bytes = 0, 0, 0
for _, set in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', set, '-inf', cutoff)
  local n = redis.call('ZCARD', set)
  if n > 0 then
    sets = sets + 1
    members = members + n
    bytes = bytes + (redis.call('MEMORY', 'USAGE', set) or 0)
  end
end
return {sets, members, bytes}
)lua";

}  // namespace

const std::vector<std::string>& ScriptSources() {
  static const std::vector<std::string> sources = [] {
    std::vector<std::string> s(kScriptCount);
    s[kSetScript] = std::string(kPreamble) + kSet;
    s[kSetBatchScript] = std::string(kPreamble) + kSetBatch;
    s[kDeleteScript] = std::string(kPreamble) + kDelete;
    s[kInvalidateTagsScript] = std::string(kPreamble) + kInvalidateTags;
    s[kSweepScript] = std::string(kPreamble) + kSweep;
    return s;
  }();
  return sources;
}

}  // namespace tiercache::redis
