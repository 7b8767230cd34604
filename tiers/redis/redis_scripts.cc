#include "tiers/redis/redis_scripts.h"

namespace tiercache::redis {

namespace {

// Shared by every script. Times are milliseconds of Redis's own clock (TIME), the clock its
// key expiry uses. A membership is current only while its score equals the entry's `x`: a
// membership left behind by an expired entry must not let a later entry of the same key,
// written without that tag, be removed with it. A tag equal to its entry's own key (`user:42`
// on `user:42`, the usual tag of a row's entry) has no membership: the entry's `t` holds it,
// and invalidating the tag looks at that entry. A bulk load of such entries then creates one
// Redis key per entry instead of two.
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
local function carries(entry, tag)
  local tags = redis.call('HGET', entry, 't')
  if not tags then return false end
  for _, t in ipairs(decode_tags(tags)) do
    if t == tag then return true end
  end
  return false
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
for i = 6, #ARGV do
  local tag = ARGV[i]
  if not seen[tag] then
    seen[tag] = true
    encoded[#encoded + 1] = #tag .. ':' .. tag
    if tag ~= member then
      local set = tag_prefix .. tag
      redis.call('ZADD', set, expiry, member)
      redis.call('ZREMRANGEBYSCORE', set, '-inf', cutoff)
      -- The set lives as long as its longest-lived member (-1: no expiry yet).
      if redis.call('PEXPIRETIME', set) < tonumber(expiry) then
        redis.call('PEXPIREAT', set, expiry)
      end
    end
  end
end
redis.call('HSET', entry, 'v', ARGV[2], 't', table.concat(encoded), 'x', expiry, 'c', ARGV[5])
redis.call('PEXPIREAT', entry, expiry)
return 1
)lua";

// Many Sets in one call: the same effect as kSet per write, in order. The caller sends
// each key at most once per call, each entry's tags without repeats and already encoded,
// leaves the entry's own key out of its tags to add, and groups the tags several entries
// share, so that each tag set is touched once per call (one ZADD of all its new members,
// one trim, one expiry check) and the script does little but the Redis calls themselves:
// in a bulk load, Lua's own work per entry cost as much as the calls.
constexpr const char* kSetBatch = R"lua(
local tag_prefix = ARGV[1]
local now = now_ms()
local cutoff = '(' .. string.format('%d', now)
-- After a ZADD: the set lives as long as its longest-lived member. A set the ZADD just
-- made has no expiry yet (NX applies) and nothing expired to trim: one call, which is what
-- a bulk load of entries with a tag each mostly meets.
local function keep_alive(set, latest)
  local at = string.format('%d', latest)
  if redis.call('PEXPIREAT', set, at, 'NX') == 0 then
    redis.call('ZREMRANGEBYSCORE', set, '-inf', cutoff)
    redis.call('PEXPIREAT', set, at, 'GT')
  end
end
local members, x, expiries = {}, {}, {}
local pos = 2
for i, entry in ipairs(KEYS) do
  local member, encoded = ARGV[pos], ARGV[pos + 3]
  -- Only tags the entry drops (a re-warm usually keeps them all) cost a ZREM.
  local old = redis.call('HGET', entry, 't')
  local held = old == encoded
  if old and not held then
    local kept = {}
    for _, tag in ipairs(decode_tags(encoded)) do kept[tag] = true end
    for _, tag in ipairs(decode_tags(old)) do
      if not kept[tag] then redis.call('ZREM', tag_prefix .. tag, member) end
    end
  end
  local xi = now + tonumber(ARGV[pos + 2])
  local expiry = string.format('%d', xi)
  redis.call('HSET', entry, 'v', ARGV[pos + 1], 't', encoded, 'x', expiry, 'c', ARGV[pos + 4])
  redis.call('PEXPIREAT', entry, expiry)
  members[i], x[i], expiries[i] = member, xi, expiry
  local own = tonumber(ARGV[pos + 5])
  for j = pos + 6, pos + 5 + own do
    local set = tag_prefix .. ARGV[j]
    redis.call('ZADD', set, expiry, member)
    -- A tag the entry held already (a re-warm) has a set with an expiry: moving it later is
    -- one call, and the trim is left to the sweep. A set without one (the entry outlived
    -- it somehow) gets the full treatment.
    if not (held and redis.call('PEXPIREAT', set, expiry, 'GT') == 1) then
      keep_alive(set, xi)
    end
  end
  pos = pos + 6 + own
end
while pos <= #ARGV do
  local last = pos + 1 + tonumber(ARGV[pos + 1])
  local args, latest = {}, 0
  for j = pos + 2, last do
    local i = tonumber(ARGV[j])
    args[#args + 1] = expiries[i]
    args[#args + 1] = members[i]
    if x[i] > latest then latest = x[i] end
  end
  local set = tag_prefix .. ARGV[pos]
  for first = 1, #args, 1000 do  -- unpack's stack is bounded
    redis.call('ZADD', set, unpack(args, first, math.min(#args, first + 999)))
  end
  keep_alive(set, latest)
  pos = last + 1
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
-- The entry named like the tag carries it without a membership.
for _, set in ipairs(KEYS) do
  local tag = string.sub(set, #tag_prefix + 1)
  local entry = entry_prefix .. tag
  if carries(entry, tag) then removed = removed + remove_entry(entry, tag, tag_prefix) end
end
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

// The new value goes back as text: Lua numbers are doubles, exact to 2^53 only.
constexpr const char* kIncrement = R"lua(
local entry = KEYS[1]
if redis.call('EXISTS', entry) == 1 then
  local n = redis.pcall('HINCRBY', entry, 'v', ARGV[1])
  if type(n) == 'table' and n.err then return {0, n.err} end
  return {1, redis.call('HGET', entry, 'v'), redis.call('PTTL', entry),
          redis.call('HGET', entry, 't') or ''}
end
local expiry = string.format('%d', now_ms() + tonumber(ARGV[2]))
redis.call('HSET', entry, 'v', ARGV[1], 't', '', 'x', expiry, 'c', '')
redis.call('PEXPIREAT', entry, expiry)
return {1, ARGV[1], tonumber(ARGV[2]), ''}
)lua";

const std::vector<std::string>& ScriptSources() {
  static const std::vector<std::string> sources = [] {
    std::vector<std::string> s(kScriptCount);
    s[kSetScript] = std::string(kPreamble) + kSet;
    s[kSetBatchScript] = std::string(kPreamble) + kSetBatch;
    s[kDeleteScript] = std::string(kPreamble) + kDelete;
    s[kInvalidateTagsScript] = std::string(kPreamble) + kInvalidateTags;
    s[kSweepScript] = std::string(kPreamble) + kSweep;
    s[kIncrementScript] = std::string(kPreamble) + kIncrement;
    return s;
  }();
  return sources;
}

}  // namespace tiercache::redis
