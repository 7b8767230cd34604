// The Redis tier against a real redis-server: the data path, the layout other servers and
// redis-cli see, key and pattern removal, clear, and many callers at once. Tags and their
// bookkeeping: redis_tags_test.cc; failures and shutdown: redis_failure_test.cc.

#include "tiers/redis/redis_tier.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/key_pattern.h"
#include "tests/core/status_printer.h"
#include "tests/support/redis_server.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Tier> MakeTier(const RedisServer& server, std::string prefix = "tiercache:") {
  RedisTierOptions o;
  o.url = server.url();
  o.key_prefix = std::move(prefix);
  o.command_timeout = 5s;  // generous: the machine may be busy; timeouts have their own tests
  o.sweep_interval = 1h;   // tests that want the sweep ask for it
  auto tier = MakeRedisTier(o);
  REQUIRE(tier.ok());
  return std::move(*tier);
}

int64_t ToInt(const std::string& text) { return std::stoll(text); }

TEST_CASE("RedisTier: SetThenGetReturnsValueTagsAndRemainingLifetime", "[redis]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  REQUIRE(sync.Set("greeting", "hello", {"a", "b"}, 60s).ok());

  auto entry = sync.Get("greeting");
  REQUIRE(entry.ok());
  CHECK(entry->value == "hello");
  CHECK(entry->tags == std::vector<std::string>{"a", "b"});
  CHECK(entry->ttl_left > 59s);
  CHECK(entry->ttl_left <= 60s);
  // Redis's own expiry is the entry's.
  const int64_t pttl = ToInt(server.Cli({"PTTL", "tiercache:k:greeting"}));
  CHECK(pttl > 59'000);
  CHECK(pttl <= 60'000);
  CHECK(server.Cli({"HGET", "tiercache:k:greeting", "v"}) == "hello");
  CHECK(server.Cli({"TYPE", "tiercache:t:a"}) == "zset");
  CHECK(server.Cli({"ZRANGE", "tiercache:t:a", "0", "-1"}) == "greeting");

  CHECK(sync.Get("absent").status().code() == StatusCode::kNotFound);
}

TEST_CASE("RedisTier: AnEntryExpiresWithItsTtl", "[redis]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  REQUIRE(sync.Set("brief", "v", {"t"}, 150ms).ok());
  REQUIRE(sync.Get("brief").ok());
  std::this_thread::sleep_for(250ms);
  CHECK(sync.Get("brief").status().code() == StatusCode::kNotFound);
  CHECK(server.Cli({"EXISTS", "tiercache:k:brief"}) == "0");
}

TEST_CASE("RedisTier: AnotherInstanceWithTheSamePrefixReadsTheIdenticalEntry", "[redis]") {
  RedisServer server;
  auto writer = MakeTier(server);
  auto reader = MakeTier(server);
  REQUIRE(SyncTier(*writer).Set("shared", "value", {"x", "y", "z"}, 30s).ok());

  auto mine = SyncTier(*writer).Get("shared");
  auto theirs = SyncTier(*reader).Get("shared");
  REQUIRE(mine.ok());
  REQUIRE(theirs.ok());
  CHECK(theirs->value == mine->value);
  CHECK(theirs->tags == mine->tags);
  // Both count from the same expiry on Redis's clock: what differs is the time between the
  // two reads.
  const auto apart = theirs->ttl_left > mine->ttl_left ? theirs->ttl_left - mine->ttl_left
                                                       : mine->ttl_left - theirs->ttl_left;
  CHECK(apart < 100ms);
}

TEST_CASE("RedisTier: KeysValuesAndTagsAreBinarySafe", "[redis]") {
  RedisServer server;
  auto writer = MakeTier(server);
  auto reader = MakeTier(server);
  std::string value;
  for (int i = 0; i < 256; ++i) value += static_cast<char>(i);
  value += std::string(100'000, '\0');  // and large
  const std::string key("bin\0key\r\n\xff:*?[", 14);
  const std::vector<std::string> tags = {std::string("t\0g", 3), "3:abc", "\xfe\xff", ""};
  REQUIRE(SyncTier(*writer).Set(key, value, tags).ok());

  auto entry = SyncTier(*reader).Get(key);
  REQUIRE(entry.ok());
  CHECK(entry->value == value);
  CHECK(entry->tags == tags);
  CHECK(SyncTier(*reader).Get(std::string("bin")).status().code() == StatusCode::kNotFound);

  auto removed = SyncTier(*reader).InvalidateTags({std::string("t\0g", 3)});
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  CHECK(SyncTier(*writer).Get(key).status().code() == StatusCode::kNotFound);
  CHECK(server.Cli({"DBSIZE"}) == "0");  // the other three tag sets went with it
}

TEST_CASE("RedisTier: OverwritingAnEntryDropsItsOldTagMemberships", "[redis]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  REQUIRE(sync.Set("k", "v1", {"old", "kept"}).ok());
  REQUIRE(sync.Set("k", "v2", {"new", "kept"}).ok());

  CHECK(server.Cli({"EXISTS", "tiercache:t:old"}) == "0");
  CHECK(server.Cli({"ZCARD", "tiercache:t:kept"}) == "1");
  auto removed = sync.InvalidateTags({"old"});
  REQUIRE(removed.ok());
  CHECK(*removed == 0);
  auto entry = sync.Get("k");
  REQUIRE(entry.ok());
  CHECK(entry->value == "v2");
  CHECK(entry->tags == std::vector<std::string>{"new", "kept"});
  removed = sync.InvalidateTags({"new"});
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  CHECK(server.Cli({"DBSIZE"}) == "0");
}

TEST_CASE("RedisTier: DeleteRemovesTheEntryAndItsMembershipsAndSaysWhetherItWasThere", "[redis]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  REQUIRE(sync.Set("gone", "v", {"t1", "t2"}).ok());
  REQUIRE(sync.Set("stays", "v", {"t1"}).ok());

  auto deleted = sync.Delete("gone");
  REQUIRE(deleted.ok());
  CHECK(*deleted);
  deleted = sync.Delete("gone");
  REQUIRE(deleted.ok());
  CHECK_FALSE(*deleted);
  CHECK(sync.Get("gone").status().code() == StatusCode::kNotFound);
  CHECK(server.Cli({"EXISTS", "tiercache:t:t2"}) == "0");
  CHECK(server.Cli({"ZRANGE", "tiercache:t:t1", "0", "-1"}) == "stays");
}

TEST_CASE("RedisTier: SetBatchWritesEveryEntryInOnePipeline", "[redis]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  std::vector<TierWrite> writes;
  for (int i = 0; i < 5000; ++i) {
    writes.push_back(
        SyncTier::Write("batch:" + std::to_string(i), "value-" + std::to_string(i), {"batch"}));
  }
  REQUIRE(sync.SetBatch(std::move(writes)).ok());
  REQUIRE(sync.SetBatch({}).ok());

  CHECK(server.Cli({"ZCARD", "tiercache:t:batch"}) == "5000");
  for (int i : {0, 1234, 4999}) {
    auto entry = sync.Get("batch:" + std::to_string(i));
    REQUIRE(entry.ok());
    CHECK(entry->value == "value-" + std::to_string(i));
  }
}

TEST_CASE("RedisTier: SetBatchActsLikeOneSetPerWriteInOrder", "[redis]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  REQUIRE(sync.Set("old", "before", {"was"}).ok());
  std::vector<TierWrite> writes;
  writes.push_back(SyncTier::Write("twice", "first", {"first-tag", "both"}));
  writes.push_back(SyncTier::Write("old", "after", {"now"}, std::chrono::seconds(30)));
  writes.push_back(SyncTier::Write("twice", "second", {"second-tag", "both", "both"},
                                   std::chrono::minutes(10)));
  REQUIRE(sync.SetBatch(std::move(writes)).ok());

  auto twice = sync.Get("twice");
  REQUIRE(twice.ok());
  CHECK(twice->value == "second");
  CHECK(twice->tags == std::vector<std::string>{"second-tag", "both"});
  CHECK(twice->ttl_left > std::chrono::minutes(9));
  // The first write's membership went with it, as a second Set would have dropped it.
  CHECK(server.Cli({"EXISTS", "tiercache:t:first-tag"}) == "0");
  CHECK(server.Cli({"ZCARD", "tiercache:t:both"}) == "1");
  CHECK(server.Cli({"EXISTS", "tiercache:t:was"}) == "0");
  CHECK(server.Cli({"ZRANGE", "tiercache:t:now", "0", "-1"}) == "old");
  // A tag set lives as long as its longest-lived member.
  CHECK(std::stoll(server.Cli({"PTTL", "tiercache:t:both"})) > 9 * 60 * 1000);
  CHECK(std::stoll(server.Cli({"PTTL", "tiercache:t:now"})) <= 30 * 1000);

  auto removed = sync.InvalidateTags({"first-tag"});
  REQUIRE(removed.ok());
  CHECK(*removed == 0);
  removed = sync.InvalidateTags({"second-tag"});
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  CHECK(sync.Get("old").ok());
}

TEST_CASE("RedisTier: SetBatchGivesEachTagSetExactlyTheEntriesThatCarryIt", "[redis]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  // An existing set with a membership that expired: the batch trims it.
  server.Cli({"ZADD", "tiercache:t:shared", "1", "long-gone"});
  server.Cli({"PEXPIRE", "tiercache:t:shared", "1000"});
  std::vector<TierWrite> writes;
  writes.push_back(SyncTier::Write("a", "1", {"own-a", "shared"}));
  writes.push_back(SyncTier::Write("b", "2", {"shared", "pair"}, std::chrono::minutes(10)));
  writes.push_back(SyncTier::Write("c", "3", {"pair"}));
  writes.push_back(SyncTier::Write("d", "4", {}));
  REQUIRE(sync.SetBatch(std::move(writes)).ok());

  CHECK(server.Cli({"ZRANGE", "tiercache:t:own-a", "0", "-1"}) == "a");
  CHECK(server.Cli({"ZRANGE", "tiercache:t:shared", "0", "-1"}) == "a\nb");
  CHECK(server.Cli({"ZRANGE", "tiercache:t:pair", "0", "-1"}) == "c\nb");  // by expiry
  CHECK(std::stoll(server.Cli({"PTTL", "tiercache:t:shared"})) > 9 * 60 * 1000);
  CHECK(std::stoll(server.Cli({"PTTL", "tiercache:t:own-a"})) <= 60 * 1000);
  auto b = sync.Get("b");
  REQUIRE(b.ok());
  CHECK(b->tags == std::vector<std::string>{"shared", "pair"});
  auto d = sync.Get("d");
  REQUIRE(d.ok());
  CHECK(d->tags.empty());
  // Each membership's score is its entry's expiry, so invalidation finds them current.
  auto removed = sync.InvalidateTags({"pair"});
  REQUIRE(removed.ok());
  CHECK(*removed == 2);
  CHECK(sync.Get("a").ok());
  CHECK(server.Cli({"ZRANGE", "tiercache:t:shared", "0", "-1"}) == "a");
}

TEST_CASE("RedisTier: ARewarmThatKeepsAnEntrysTagsMovesTheirSetsExpiryLater", "[redis]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  const auto write = [&](std::chrono::seconds ttl) {
    std::vector<TierWrite> writes;
    writes.push_back(SyncTier::Write("a", "1", {"own-a"}, ttl));
    writes.push_back(SyncTier::Write("b", "2", {"own-b"}, ttl));
    return sync.SetBatch(std::move(writes));
  };
  REQUIRE(write(std::chrono::seconds(60)).ok());
  CHECK(std::stoll(server.Cli({"PTTL", "tiercache:t:own-a"})) <= 60 * 1000);
  // A set that lost its expiry behind the tier's back gets one again on the next write.
  server.Cli({"PERSIST", "tiercache:t:own-b"});

  REQUIRE(write(std::chrono::seconds(600)).ok());
  for (const std::string tag : {"own-a", "own-b"}) {
    CAPTURE(tag);
    CHECK(server.Cli({"ZRANGE", "tiercache:t:" + tag, "0", "-1"}) ==
          (tag == "own-a" ? "a" : "b"));
    const long long ttl = std::stoll(server.Cli({"PTTL", "tiercache:t:" + tag}));
    CHECK(ttl > 9 * 60 * 1000);
    CHECK(ttl <= 600 * 1000);
  }
  // The memberships carry the new expiry: invalidation finds them current.
  auto removed = sync.InvalidateTags({"own-a"});
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  CHECK_FALSE(sync.Get("a").ok());
  CHECK(sync.Get("b").ok());
}

TEST_CASE("RedisTier: AContentTypeIsKeptWithItsEntryAndOneWrittenBeforeItReadsAsNone",
          "[redis]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  TierWrite json = SyncTier::Write("json", "{}");
  json.content_type = MakeContentType("application/json");
  REQUIRE(sync.Set(std::move(json)).ok());
  CHECK(sync.Get("json")->content_type == "application/json");
  CHECK(server.Cli({"HGET", "tiercache:k:json", "c"}) == "application/json");

  std::vector<TierWrite> batch;
  batch.push_back(SyncTier::Write("page", "<p>", {"pages"}));
  batch.back().content_type = MakeContentType("text/html; charset=utf-8");
  batch.push_back(SyncTier::Write("bytes", "x", {"pages"}));
  REQUIRE(sync.SetBatch(std::move(batch)).ok());
  CHECK(sync.Get("page")->content_type == "text/html; charset=utf-8");
  CHECK(sync.Get("bytes")->content_type.empty());

  // An entry as an older version wrote it: no c field.
  REQUIRE(sync.Set("old", "v").ok());
  server.Cli({"HDEL", "tiercache:k:old", "c"});
  const auto old = sync.Get("old");
  REQUIRE(old.ok());
  CHECK(old->value == "v");
  CHECK(old->content_type.empty());
}

TEST_CASE("RedisTier: PatternInvalidationRemovesExactlyTheMatchingKeys", "[redis]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  std::vector<TierWrite> writes;
  for (int i = 0; i < 10'000; ++i) {
    writes.push_back(SyncTier::Write("item:" + std::to_string(i), "v", {"all"}));
  }
  REQUIRE(sync.SetBatch(std::move(writes)).ok());
  server.Cli({"SET", "elsewhere:item:7", "not ours"});

  auto pattern = KeyPattern::Compile(R"(^item:\d*7$)");  // 1,000 of them
  REQUIRE(pattern.ok());
  auto removed = sync.InvalidateMatching(*pattern);
  REQUIRE(removed.ok());
  CHECK(*removed == 1000);

  CHECK(sync.Get("item:7").status().code() == StatusCode::kNotFound);
  CHECK(sync.Get("item:9997").status().code() == StatusCode::kNotFound);
  CHECK(sync.Get("item:70").ok());
  CHECK(sync.Get("item:9999").ok());
  CHECK(server.Cli({"ZCARD", "tiercache:t:all"}) == "9000");  // memberships went too
  CHECK(server.Cli({"GET", "elsewhere:item:7"}) == "not ours");
  // 9,000 entries, the tag set, the foreign key.
  CHECK(server.Cli({"DBSIZE"}) == "9002");

  // A pattern that matches inside keys, not only at their start.
  pattern = KeyPattern::Compile("m:99");
  REQUIRE(pattern.ok());
  removed = sync.InvalidateMatching(*pattern);
  REQUIRE(removed.ok());
  CHECK(*removed == 100);  // item:99, item:99x, item:99xx, less those ending in 7
}

TEST_CASE("RedisTier: ClearRemovesOnlyTheTiersNamespaceAndCountsEntries", "[redis]") {
  RedisServer server;
  // A prefix full of glob characters must still match only itself.
  auto mine = MakeTier(server, "app[1]*:");
  auto theirs = MakeTier(server, "app1x:");
  for (int i = 0; i < 2500; ++i) {
    REQUIRE(SyncTier(*mine).Set("k" + std::to_string(i), "v", {"t" + std::to_string(i % 3)}).ok());
  }
  REQUIRE(SyncTier(*theirs).Set("k1", "v", {"t0"}).ok());
  server.Cli({"SET", "unrelated", "v"});

  auto cleared = SyncTier(*mine).Clear();
  REQUIRE(cleared.ok());
  CHECK(*cleared == 2500);  // entries, not the tag sets
  CHECK(server.Cli({"DBSIZE"}) == "3");
  CHECK(SyncTier(*theirs).Get("k1").ok());
  CHECK(server.Cli({"GET", "unrelated"}) == "v");
  CHECK(SyncTier(*mine).Get("k1").status().code() == StatusCode::kNotFound);

  cleared = SyncTier(*mine).Clear();
  REQUIRE(cleared.ok());
  CHECK(*cleared == 0);
}

TEST_CASE("RedisTier: TheDatabaseAndPasswordOfTheUrlAreUsed", "[redis]") {
  RedisServer server({"--requirepass", "s3cret"});
  RedisTierOptions o;
  o.url = "redis://:s3cret@127.0.0.1:" + std::to_string(server.port()) + "/3";
  auto tier = MakeRedisTier(o);
  REQUIRE(tier.ok());
  REQUIRE(SyncTier(**tier).Set("k", "v").ok());
  CHECK(server.Cli({"-a", "s3cret", "--no-auth-warning", "-n", "3", "EXISTS", "tiercache:k:k"}) ==
        "1");
  CHECK(server.Cli({"-a", "s3cret", "--no-auth-warning", "-n", "0", "DBSIZE"}) == "0");

  o.url = "redis://:wrong@127.0.0.1:" + std::to_string(server.port());
  auto refused = MakeRedisTier(o);
  REQUIRE(refused.ok());
  const Status ping = SyncTier(**refused).Ping();
  CHECK(ping.code() == StatusCode::kUnavailable);
  CHECK_THAT(ping.message(),
             Catch::Matchers::Contains("WRONGPASS") && Catch::Matchers::Contains("AUTH"));
}

TEST_CASE("RedisTier: OperationsOnOneKeyReachRedisInTheOrderTheyWereIssued", "[redis]") {
  RedisServer server;
  auto tier = MakeTier(server);
  // Issued without waiting for each other, from one thread, some as batches.
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  const auto answer = [&](auto) {
    std::lock_guard lock(mu);
    ++answered;
    cv.notify_one();
  };
  constexpr int kRounds = 500;
  for (int i = 0; i < kRounds; ++i) {
    const std::string n = std::to_string(i);
    tier->Set(SyncTier::Write("ordered", n), answer);
    std::vector<TierWrite> batch;
    batch.push_back(SyncTier::Write("other:" + n, n));
    batch.push_back(SyncTier::Write("batched", n));
    tier->SetBatch(std::move(batch), answer);
    tier->Set(SyncTier::Write("deleted", n), answer);
    tier->Delete("deleted", answer);
  }
  std::unique_lock lock(mu);
  REQUIRE(cv.wait_for(lock, 20s, [&] { return answered == 4 * kRounds; }));
  lock.unlock();
  SyncTier sync(*tier);
  CHECK(sync.Get("ordered")->value == std::to_string(kRounds - 1));
  CHECK(sync.Get("batched")->value == std::to_string(kRounds - 1));
  CHECK(sync.Get("deleted").status().code() == StatusCode::kNotFound);
}

TEST_CASE("RedisTier: ManyConcurrentCallersAllGetTheirAnswers", "[redis]") {
  RedisServer server;
  auto tier = MakeTier(server);
  SyncTier sync(*tier);
  for (int i = 0; i < 100; ++i) REQUIRE(sync.Set("hot:" + std::to_string(i), "v").ok());

  constexpr int kThreads = 8;
  constexpr int kPerThread = 5000;
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  std::atomic<int> hits{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Some misses, some hits, a few writes among them.
        const std::string key = "hot:" + std::to_string((t * kPerThread + i) % 150);
        const auto answer = [&](bool ok, bool error) {
          if (ok) hits.fetch_add(1);
          if (error) errors.fetch_add(1);
          std::lock_guard lock(mu);
          if (++answered == kThreads * kPerThread) cv.notify_one();
        };
        if (i % 10 == 0) {
          tier->Set(SyncTier::Write(key, "v"), [answer](Status s) { answer(false, !s.ok()); });
        } else {
          tier->Get(key, [answer](Result<TierEntry> r) {
            answer(r.ok(), !r.ok() && r.status().code() != StatusCode::kNotFound);
          });
        }
      }
    });
  }
  for (auto& c : callers) c.join();
  std::unique_lock lock(mu);
  REQUIRE(cv.wait_for(lock, 30s, [&] { return answered == kThreads * kPerThread; }));
  CHECK(errors.load() == 0);
  CHECK(hits.load() > kThreads * kPerThread / 2);
}

TEST_CASE("RedisTier: CountersAreSharedByInstancesAndSurviveAClear", "[redis]") {
  RedisServer server;
  auto first = MakeTier(server);
  auto second = MakeTier(server);
  REQUIRE(first->supports_counters());
  CHECK(*SyncTier(*first).AddToCounter("namespace-version:app", 0) == 0);
  CHECK(*SyncTier(*first).AddToCounter("namespace-version:app", 3) == 3);
  CHECK(*SyncTier(*second).AddToCounter("namespace-version:app", 1) == 4);
  CHECK(server.Cli({"GET", "tiercache:n:namespace-version:app"}) == "4");
  REQUIRE(SyncTier(*first).Set("k", "v").ok());
  REQUIRE(SyncTier(*first).Clear().ok());
  CHECK_FALSE(SyncTier(*first).Get("k").ok());
  CHECK(*SyncTier(*second).AddToCounter("namespace-version:app", 0) == 4);
}

}  // namespace
}  // namespace tiercache::test
