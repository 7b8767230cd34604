// Tags in the Redis tier against a real redis-server: invalidation across instances, in
// batches, and the tag bookkeeping going away with the entries it describes.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/core/status_printer.h"
#include "tests/support/poll.h"
#include "tests/support/redis_server.h"
#include "tiers/redis/redis_tier.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Tier> MakeTier(const RedisServer& server, Duration sweep_interval = 1h) {
  RedisTierOptions o;
  o.url = server.url();
  o.command_timeout = 5s;  // generous: the machine may be busy; timeouts have their own tests
  o.sweep_interval = sweep_interval;
  auto tier = MakeRedisTier(o);
  REQUIRE(tier.ok());
  return std::move(*tier);
}

bool SameIndex(const TagIndexStats& a, const TagIndexStats& b) {
  return a.measured == b.measured && a.tags == b.tags && a.memberships == b.memberships &&
         a.bytes == b.bytes;
}

std::string Show(const TagIndexStats& s) {
  return "{tags " + std::to_string(s.tags) + ", memberships " + std::to_string(s.memberships) +
         ", bytes " + std::to_string(s.bytes) + "}";
}

TEST_CASE("RedisTags: InvalidationRemovesEntriesAnotherInstanceWroteAndCountsThem",
          "[redis][tags]") {
  RedisServer server;
  auto writer = MakeTier(server);
  auto invalidator = MakeTier(server);
  SyncTier w(*writer);
  REQUIRE(w.Set("user:1", "a", {"user:1", "users"}).ok());
  REQUIRE(w.Set("user:1:profile", "b", {"user:1"}).ok());
  REQUIRE(w.Set("user:2", "c", {"user:2", "users"}).ok());

  auto removed = SyncTier(*invalidator).InvalidateTags({"user:1"});
  REQUIRE(removed.ok());
  CHECK(*removed == 2);
  CHECK(server.Cli({"EXISTS", "tiercache:k:user:1"}) == "0");
  CHECK(server.Cli({"EXISTS", "tiercache:k:user:1:profile"}) == "0");
  CHECK(w.Get("user:2").ok());
  // user:1's membership of "users" went with it.
  CHECK(server.Cli({"ZRANGE", "tiercache:t:users", "0", "-1"}) == "user:2");

  removed = SyncTier(*invalidator).InvalidateTags({"user:1", "users", "users"});
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  CHECK(server.Cli({"DBSIZE"}) == "0");
  removed = SyncTier(*invalidator).InvalidateTags({});
  REQUIRE(removed.ok());
  CHECK(*removed == 0);
}

TEST_CASE("RedisTags: AnEntryTaggedWithItsOwnKeyHasNoMembershipAndGoesWithThatTag",
          "[redis][tags]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  REQUIRE(sync.Set("user:1", "a", {"user:1", "users"}).ok());
  std::vector<TierWrite> writes;
  writes.push_back(SyncTier::Write("user:2", "b", {"user:2", "users"}));
  writes.push_back(SyncTier::Write("user:2:profile", "c", {"user:2"}));
  writes.push_back(SyncTier::Write("user:3", "d", {"users"}));  // named like a tag it lacks
  REQUIRE(sync.SetBatch(std::move(writes)).ok());
  REQUIRE(sync.Set("user:1:profile", "e", {"user:1"}).ok());

  CHECK(server.Cli({"ZRANGE", "tiercache:t:user:1", "0", "-1"}) == "user:1:profile");
  CHECK(server.Cli({"ZRANGE", "tiercache:t:user:2", "0", "-1"}) == "user:2:profile");
  CHECK(server.Cli({"EXISTS", "tiercache:t:user:3"}) == "0");
  auto entry = sync.Get("user:2");
  REQUIRE(entry.ok());
  CHECK(entry->tags == std::vector<std::string>{"user:2", "users"});

  auto removed = sync.InvalidateTags({"user:3"});
  REQUIRE(removed.ok());
  CHECK(*removed == 0);
  CHECK(sync.Get("user:3").ok());
  removed = sync.InvalidateTags({"user:2"});
  REQUIRE(removed.ok());
  CHECK(*removed == 2);
  CHECK_FALSE(sync.Get("user:2").ok());
  CHECK_FALSE(sync.Get("user:2:profile").ok());
  CHECK(server.Cli({"ZRANGE", "tiercache:t:users", "0", "-1"}) == "user:1\nuser:3");
  removed = sync.InvalidateTags({"user:1", "users"});
  REQUIRE(removed.ok());
  CHECK(*removed == 3);
  CHECK(server.Cli({"DBSIZE"}) == "0");
}

TEST_CASE("RedisTags: AnOwnKeyTagKeptInASetByAnOlderVersionIsInvalidatedOnce",
          "[redis][tags]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  // Earlier versions gave such a tag a set like any other.
  REQUIRE(sync.Set("user:1", "a", {"user:1"}).ok());
  const std::string expiry = server.Cli({"HGET", "tiercache:k:user:1", "x"});
  server.Cli({"ZADD", "tiercache:t:user:1", expiry, "user:1"});
  server.Cli({"PEXPIREAT", "tiercache:t:user:1", expiry});

  auto removed = sync.InvalidateTags({"user:1"});
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  CHECK(server.Cli({"DBSIZE"}) == "0");
}

TEST_CASE("RedisTags: ALargeTagIsInvalidatedInBatchesUntilItsSetIsGone", "[redis][tags]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  std::vector<TierWrite> writes;
  for (int i = 0; i < 5000; ++i) {
    writes.push_back(
        SyncTier::Write("e:" + std::to_string(i), "v", {"big", "own:" + std::to_string(i)}));
  }
  REQUIRE(sync.SetBatch(std::move(writes)).ok());
  REQUIRE(server.Cli({"DBSIZE"}) == "10001");

  auto removed = sync.InvalidateTags({"big"});
  REQUIRE(removed.ok());
  CHECK(*removed == 5000);
  CHECK(server.Cli({"DBSIZE"}) == "0");
}

TEST_CASE("RedisTags: AMembershipLeftByAnExpiredEntryDoesNotCatchTheKeysNextEntry",
          "[redis][tags]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  REQUIRE(sync.Set("long", "v", {"x"}, 1h).ok());  // keeps the tag set alive
  REQUIRE(sync.Set("k", "first", {"x"}, 100ms).ok());
  std::this_thread::sleep_for(200ms);
  // The expired entry's membership is still there (no sweep yet); the new entry has no tag.
  REQUIRE(sync.Set("k", "second", {}, 1h).ok());
  REQUIRE_FALSE(server.Cli({"ZSCORE", "tiercache:t:x", "k"}).empty());

  auto removed = sync.InvalidateTags({"x"});
  REQUIRE(removed.ok());
  CHECK(*removed == 1);  // "long" only
  auto entry = sync.Get("k");
  REQUIRE(entry.ok());
  CHECK(entry->value == "second");
}

TEST_CASE("RedisTags: TagIndexCountsTagsMembershipsAndBytes", "[redis][tags]") {
  RedisServer server;
  auto tier = MakeTier(server, 100ms);
  SyncTier sync(*tier);
  REQUIRE(sync.Set("a", "v", {"t1", "t2"}).ok());
  REQUIRE(sync.Set("b", "v", {"t1"}).ok());
  REQUIRE(PollUntil([&] { return tier->tag_index().memberships == 3; }, 5s));
  const TagIndexStats stats = tier->tag_index();
  CHECK(stats.measured);
  CHECK(stats.tags == 2);
  CHECK(stats.bytes > 0);
}

TEST_CASE("RedisTags: TheSweepDropsMembershipsOfExpiredEntriesFromATagSetThatLivesOn",
          "[redis][tags]") {
  RedisServer server;
  auto tier = MakeTier(server, 100ms);
  SyncTier sync(*tier);
  REQUIRE(sync.Set("long", "v", {"shared"}, 1h).ok());
  REQUIRE(sync.Set("short", "v", {"shared"}, 200ms).ok());
  REQUIRE(server.Cli({"ZCARD", "tiercache:t:shared"}) == "2");
  // Expiry at 200 ms, then at most a sweep interval (and the sweep's own time).
  CHECK(PollUntil([&] { return server.Cli({"ZCARD", "tiercache:t:shared"}) == "1"; }, 2s));
  CHECK(PollUntil([&] { return tier->tag_index().memberships == 1; }, 2s));
}

TEST_CASE("RedisTags: BookkeepingReturnsToItsBaselineAfterShortLivedEntriesExpire",
          "[redis][tags]") {
  RedisServer server;
  auto tier = MakeTier(server, 200ms);
  SyncTier sync(*tier);
  REQUIRE(sync.Set("keeper", "v", {"keep"}, 1h).ok());
  REQUIRE(PollUntil([&] { return tier->tag_index().memberships == 1; }, 5s));
  const TagIndexStats before = tier->tag_index();
  const std::string keys_before = server.Cli({"DBSIZE"});
  REQUIRE(keys_before == "2");

  // 20,000 entries with a tag each of their own and one they share, living 1 s.
  constexpr int kEntries = 20'000;
  for (int first = 0; first < kEntries; first += 1000) {
    std::vector<TierWrite> writes;
    for (int i = first; i < first + 1000; ++i) {
      writes.push_back(SyncTier::Write("short:" + std::to_string(i), "v",
                                       {"item:" + std::to_string(i), "short"}, 1s));
    }
    REQUIRE(sync.SetBatch(std::move(writes)).ok());
  }
  const auto written = std::chrono::steady_clock::now();
  CHECK(std::stoll(server.Cli({"ZCARD", "tiercache:t:short"})) > 0);

  const bool back = PollUntil(
      [&] { return SameIndex(tier->tag_index(), before) && server.Cli({"DBSIZE"}) == keys_before; },
      20s);
  INFO("tag index before " << Show(before) << ", now " << Show(tier->tag_index()));
  INFO("keys before " << keys_before << ", now " << server.Cli({"DBSIZE"}));
  INFO("back after "
       << std::chrono::duration<double>(std::chrono::steady_clock::now() - written).count()
       << " s");
  CHECK(back);
  CHECK(sync.Get("keeper").ok());
}

}  // namespace
}  // namespace tiercache::test
