// Unit tests of the multi-tier data path over in-memory lower tiers: read-through with
// promotion and TTL factors, single flight, write-through and write-behind, failure
// handling and catching up on what a down tier missed. Health probes run on a fake clock:
// a test advances it a probe interval at a time instead of waiting for the prober.

#include "core/key_pattern.h"
#include "core/tiered_cache.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "tests/core/fake_tier.h"
#include "tests/core/fake_time.h"
#include "tests/core/status_printer.h"
#include "tests/core/sync_service.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;
using test::Await;
using test::FakeTier;

// L1 + L2 (factor 1, sync) + L3 (factor 10, sync or async); L1 on the system clock, the
// health probes on a fake one.
class TieredCacheTest {
 protected:
  explicit TieredCacheTest(WriteMode l3_mode = WriteMode::kSync,
                           WriteBehindOptions l3_queue = {}) {
    L1Options l1_options;
    l1_options.shards = 4;
    l1_options.max_entries = 10'000;
    l1_options.max_bytes = 1 << 22;
    l1_options.ttl_factor = 0.1;
    l1_ = std::make_unique<L1Store>(l1_options, AdaptiveOptions{}, Clock::System());
    auto l2 = std::make_unique<FakeTier>("L2");
    auto l3 = std::make_unique<FakeTier>("L3");
    l2_ = l2.get();
    l3_ = l3.get();
    std::vector<TieredCache::LowerTier> tiers;
    LowerTierOptions o2;
    o2.ttl_factor = 1.0;
    LowerTierOptions o3;
    o3.ttl_factor = 10.0;
    o3.write_mode = l3_mode;
    o3.write_behind = l3_queue;
    tiers.push_back({std::move(l2), o2});
    tiers.push_back({std::move(l3), o3});
    TierHealthOptions health;
    health.interval = kProbeInterval;
    cache_ = std::make_unique<TieredCache>(*l1_, 0.1, std::move(tiers), health, clock_);
    // The first round of probes, at start, is over once the prober waits on the clock.
    (void)clock_.AwaitWaiters(1);
  }

  Result<Hit> Get(const std::string& key) {
    return Await<Result<Hit>>([&](auto done) { cache_->Get(key, std::move(done)); });
  }
  Status Set(const std::string& key, const std::string& value, Duration timeout,
             std::vector<std::string> tags = {}) {
    TieredWrite w{key, std::make_shared<const std::string>(value), std::move(tags),
                  Lifetime{Lifetime::Kind::kFixed, timeout}};
    return Await<Status>([&](auto done) { cache_->Set(std::move(w), std::move(done)); });
  }
  std::vector<TierRemoval> InvalidateTags(std::vector<std::string> tags) {
    return Await<std::vector<TierRemoval>>(
        [&](auto done) { cache_->InvalidateTags(std::move(tags), std::move(done)); });
  }
  bool Delete(const std::string& key) {
    return Await<bool>([&](auto done) { cache_->Delete(key, std::move(done)); });
  }
  TierState StateOf(size_t index) { return cache_->LowerTiers()[index].state; }
  // Runs rounds of health probes (the clock advanced one interval, then the prober done
  // and waiting again) until tier `index` is in `state`; false if it is not within 10 s of
  // the clock.
  bool ProbeUntil(size_t index, TierState state) {
    return probes_.AdvanceUntil([&] { return StateOf(index) == state; }, kProbeInterval);
  }
  // Waits up to `bound` of real time for `condition`, which the tiers' own threads bring
  // about (a promotion written to L2, a batch sent).
  template <class Condition>
  static bool Eventually(Condition condition, Duration bound = test::kRealTimeBound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(1ms);
    }
    return condition();
  }

  static constexpr Duration kProbeInterval = 50ms;
  FakeClock clock_;
  test::ClockDriver probes_{clock_, 1};  // idle, the prober waits on the clock
  std::unique_ptr<L1Store> l1_;
  FakeTier* l2_ = nullptr;
  FakeTier* l3_ = nullptr;
  std::unique_ptr<TieredCache> cache_;
};

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: SetStoresEachTierWithItsTtlFactor", "[tiered]") {
  REQUIRE(Set("k", "v", 100s).ok());
  auto in_l2 = l2_->Peek("k");
  auto in_l3 = l3_->Peek("k");
  REQUIRE(in_l2);
  REQUIRE(in_l3);
  REQUIRE(in_l2->ttl_left == Duration(100s));
  REQUIRE(in_l3->ttl_left == Duration(1000s));
  auto hit = Get("k");
  REQUIRE(hit.ok());
  REQUIRE(hit->tier == "L1");
  REQUIRE(ToSeconds(hit->ttl_left) == Approx(10).margin(0.5));
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: AScopedWriteFillsOnlyItsTiersAndDropsL1sOlderCopy",
                 "[tiered]") {
  REQUIRE(Set("k", "old", 100s).ok());
  TieredWrite w{"k", std::make_shared<const std::string>("new"), {},
                Lifetime{Lifetime::Kind::kFixed, 100s}};
  w.tiers = 0b010;  // L2 only
  REQUIRE(Await<Status>([&](auto done) { cache_->Set(std::move(w), std::move(done)); }).ok());
  CHECK(l2_->Peek("k")->value == "new");
  CHECK(l3_->Peek("k")->value == "old");  // left alone
  auto hit = Get("k");
  REQUIRE(hit.ok());
  CHECK(hit->tier == "L2");  // L1's older copy is gone
  CHECK(*hit->value == "new");
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: ABatchWriteStoresEveryEntryInItsTiers",
                 "[tiered]") {
  std::vector<TieredWrite> writes;
  for (int i = 0; i < 3; ++i) {
    writes.push_back({"b" + std::to_string(i), std::make_shared<const std::string>("v"),
                      {"t"}, Lifetime{Lifetime::Kind::kFixed, 100s}});
  }
  writes.push_back({"huge", std::make_shared<const std::string>(std::string(1 << 23, 'x')),
                    {}, Lifetime{Lifetime::Kind::kFixed, 100s}});
  const auto r = Await<TieredCache::BatchResult>([&](auto done) {
    cache_->SetBatch(std::move(writes), 0b011, std::move(done));  // L1 and L2
  });
  CHECK(r.stored == 3);
  CHECK(r.failed == 1);  // too large for L1, so stored nowhere
  CHECK_THAT(r.error, Catch::StartsWith("huge: "));
  for (int i = 0; i < 3; ++i) {
    const std::string key = "b" + std::to_string(i);
    CHECK(l2_->Peek(key)->ttl_left == Duration(100s));
    CHECK(!l3_->Peek(key));
    CHECK(Get(key)->tier == "L1");
  }
  CHECK(!l2_->Peek("huge"));
  CHECK(InvalidateTags({"t"})[0].removed == 3);
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: AMissInL1IsServedByL2AndPromotedScaled",
                 "[tiered]") {
  l2_->Store("k", "from-l2", 100s, {"t"});
  auto first = Get("k");
  REQUIRE(first.ok());
  REQUIRE(first->tier == "L2");
  REQUIRE(*first->value == "from-l2");
  auto second = Get("k");
  REQUIRE(second.ok());
  REQUIRE(second->tier == "L1");
  // 100 s left in L2 (factor 1.0) is 10 s in L1 (factor 0.1).
  REQUIRE(ToSeconds(second->ttl_left) == Approx(10).margin(0.5));
  // The promoted entry keeps its tags.
  REQUIRE(l1_->InvalidateTags({"t"}) == 1);
}

TEST_CASE_METHOD(TieredCacheTest,
                 "TieredCache: AReadWhileARemovalIsUnderWayIsServedButNotPromoted",
                 "[tiered]") {
  for (const bool by_tag : {true, false}) {
    INFO((by_tag ? "by tag" : "by key"));
    // Only L3 has it, and L3 has not got to the removal yet when the read comes.
    l3_->Store("k", "old", 100s, {"t"});
    l3_->HoldRemovals();
    std::promise<std::vector<TierRemoval>> removed;
    auto callback = [&](std::vector<TierRemoval> r) { removed.set_value(std::move(r)); };
    if (by_tag) {
      cache_->InvalidateTags({"t"}, callback);
    } else {
      cache_->InvalidateKeys({"k"}, callback);
    }
    auto read = Get("k");
    REQUIRE(read.ok());
    CHECK(read->tier == "L3");
    // Served, but copied nowhere: L1 and L2 would keep what is being removed.
    CHECK_FALSE(l1_->Inspect("k"));
    CHECK_FALSE(l2_->Peek("k"));
    l3_->ReleaseRemovals();
    auto done = removed.get_future();
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    CHECK(done.get()[2].removed == 1);
    CHECK(Get("k").status().code() == StatusCode::kNotFound);
    // Once the removal is over, promotion is back.
    l3_->Store("k", "new", 100s, {"t"});
    REQUIRE(Get("k").ok());
    CHECK(l1_->Inspect("k"));
    CHECK(*Get("k")->value == "new");
    REQUIRE(l1_->Delete("k"));
    for (test::FakeTier* tier : {l2_, l3_}) {
      REQUIRE(Await<Result<uint64_t>>([&](auto cleared) { tier->Clear(cleared); }).ok());
    }
  }
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: AnAbsentKeyOfANegativeRuleIsAskedForOncePerTtl",
                 "[tiered][negative]") {
  auto rule = KeyPattern::Compile("^user:");
  REQUIRE(rule.ok());
  cache_->SetNegativeCaching({{*rule, 60s}});
  const int l2_before = l2_->get_calls.load(), l3_before = l3_->get_calls.load();
  for (int i = 0; i < 5; ++i) REQUIRE(Get("user:1").status().code() == StatusCode::kNotFound);
  CHECK(l2_->get_calls.load() - l2_before == 1);  // the first read asked; four were spared
  CHECK(l3_->get_calls.load() - l3_before == 1);
  CHECK(l1_->Stats().absences == 1);
  CHECK(l1_->Stats().absence_hits == 4);
  CHECK(l1_->Stats().entries == 0);  // an absence is not an entry

  // A key no rule matches is asked for every time.
  for (int i = 0; i < 3; ++i) REQUIRE(Get("page:1").status().code() == StatusCode::kNotFound);
  CHECK(l2_->get_calls.load() - l2_before == 4);

  // A write makes it present at once.
  REQUIRE(Set("user:1", "v", 100s).ok());
  auto hit = Get("user:1");
  REQUIRE(hit.ok());
  CHECK(*hit->value == "v");
  CHECK(l1_->Stats().absences == 0);
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: AnInvalidationForgetsARememberedAbsence",
                 "[tiered][negative]") {
  auto rule = KeyPattern::Compile("^user:");
  REQUIRE(rule.ok());
  cache_->SetNegativeCaching({{*rule, 60s}});
  REQUIRE(Get("user:2").status().code() == StatusCode::kNotFound);
  REQUIRE(l1_->Stats().absences == 1);
  // Another instance wrote it to L2 and told the others (coherence): this one asks again.
  l2_->Store("user:2", "from-l2", 100s, {});
  cache_->ApplyRemoteChange(CoherenceMessage{CoherenceMessage::Kind::kKeys, "", {"user:2"}});
  CHECK(l1_->Stats().absences == 0);
  auto hit = Get("user:2");
  REQUIRE(hit.ok());
  CHECK(hit->tier == "L2");
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: AnAbsenceIsNotRememberedWhenATierCouldNotAnswer",
                 "[tiered][negative]") {
  auto rule = KeyPattern::Compile("^user:");
  REQUIRE(rule.ok());
  cache_->SetNegativeCaching({{*rule, 60s}});
  l3_->failing = true;
  REQUIRE_FALSE(Get("user:3").ok());
  CHECK(l1_->Stats().absences == 0);
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: AnL3HitIsPromotedIntoL2AndL1", "[tiered]") {
  l3_->Store("k", "from-l3", 1000s);
  auto hit = Get("k");
  REQUIRE(hit.ok());
  REQUIRE(hit->tier == "L3");
  REQUIRE(Eventually([&] { return l2_->Peek("k").has_value(); }));
  REQUIRE(l2_->Peek("k")->ttl_left == Duration(100s));
  REQUIRE(Get("k")->tier == "L1");
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: AContentTypeTravelsWithItsValueThroughEveryTier",
                 "[tiered]") {
  TieredWrite w{"doc", std::make_shared<const std::string>("{}"), {},
                Lifetime{Lifetime::Kind::kFixed, 100s},
                MakeContentType("application/json")};
  REQUIRE(Await<Status>([&](auto done) { cache_->Set(std::move(w), std::move(done)); }).ok());
  REQUIRE(l2_->Peek("doc")->content_type == "application/json");
  REQUIRE(l3_->Peek("doc")->content_type == "application/json");
  auto hit = Get("doc");
  REQUIRE(hit.ok());
  REQUIRE(hit->tier == "L1");
  REQUIRE(ContentTypeText(hit->content_type) == "application/json");

  // Read from L3, promoted into L2 and L1 with it.
  REQUIRE(Await<Status>([&](auto done) {
              l3_->Set(TierWrite{"page", std::make_shared<const std::string>("<p>"), {}, 1000s,
                                 MakeContentType("text/html")},
                       std::move(done));
            }).ok());
  hit = Get("page");
  REQUIRE(hit.ok());
  REQUIRE(hit->tier == "L3");
  REQUIRE(ContentTypeText(hit->content_type) == "text/html");
  REQUIRE(Eventually([&] { return l2_->Peek("page").has_value(); }));
  REQUIRE(l2_->Peek("page")->content_type == "text/html");
  hit = Get("page");
  REQUIRE(hit->tier == "L1");
  REQUIRE(ContentTypeText(hit->content_type) == "text/html");

  // None given, none kept.
  REQUIRE(Set("plain", "v", 100s).ok());
  REQUIRE(Get("plain")->content_type == nullptr);
  REQUIRE(l2_->Peek("plain")->content_type.empty());
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: AKeyNoTierHoldsIsNotFound", "[tiered]") {
  auto hit = Get("absent");
  REQUIRE(hit.status().code() == StatusCode::kNotFound);
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: ConcurrentMissesOfOneKeyReadTheTiersOnce",
                 "[tiered]") {
  l2_->Store("hot", "v", 100s);
  l2_->get_delay_ms = 100;
  std::vector<std::future<Result<Hit>>> answers;
  for (int i = 0; i < 50; ++i) {
    answers.push_back(std::async(std::launch::async, [&] { return Get("hot"); }));
  }
  for (auto& a : answers) REQUIRE(*a.get()->value == "v");
  REQUIRE(l2_->get_calls.load() <= 2);  // one flight; a late caller may find L1 filled
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: AFailingTierNeverFailsARequestAndIsMarkedDown",
                 "[tiered]") {
  l2_->failing = true;
  REQUIRE(Set("k", "v", 100s).ok());
  l3_->Store("other", "v3", 1000s);
  for (int i = 0; i < 3; ++i) REQUIRE(Get("other-" + std::to_string(i)).status().code() ==
                                      StatusCode::kNotFound);
  // Marked down by the failures themselves, not by a probe: the clock has not moved.
  REQUIRE(StateOf(0) == TierState::kDown);
  // While down, reads skip it without a call and fall through to L3.
  const int calls = l2_->get_calls.load();
  auto hit = Get("other");
  REQUIRE(hit.ok());
  REQUIRE(hit->tier == "L3");
  REQUIRE(l2_->get_calls.load() == calls);
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: ATierBackFromDownFirstAppliesWhatItMissed",
                 "[tiered]") {
  l2_->Store("user:1", "old", 100s, {"user"});
  l2_->Store("user:2", "old", 100s);
  l2_->failing = true;
  REQUIRE(ProbeUntil(0, TierState::kDown));
  // Removals while it is down cannot reach it...
  REQUIRE(InvalidateTags({"user"})[1].error != "");
  REQUIRE_FALSE(Delete("nothing-anywhere"));
  REQUIRE(Set("user:2", "new", 100s).ok());
  l1_->Clear();
  l2_->failing = false;
  REQUIRE(ProbeUntil(0, TierState::kUp));
  // ...and are applied before it serves again: no old value comes back.
  REQUIRE_FALSE(l2_->Peek("user:1").has_value());
  auto hit = Get("user:2");
  REQUIRE((!hit.ok() || *hit->value == "new"));
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: ATierOutlivesEveryCallStillInsideIt",
                 "[tiered]") {
  // L2 misses, so its thread asks L3; L3 answers, and the read is over, while that thread
  // is still inside L3's Get. Stopping must wait for it to leave before L3 goes.
  l3_->Store("k", "v", 100s);
  l3_->linger_in_get_ms = 200;
  const auto l3_calls = l3_->watch_calls();
  auto hit = Get("k");
  REQUIRE(hit.ok());
  REQUIRE(hit->tier == "L3");
  cache_.reset();
  CHECK(l3_calls->inside.load() == 0);
  CHECK_FALSE(l3_calls->destroyed_during_one.load());
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: InvalidationReachesEveryTierWithCounts",
                 "[tiered]") {
  REQUIRE(Set("a", "v", 100s, {"t"}).ok());
  REQUIRE(Set("b", "v", 100s, {"t"}).ok());
  REQUIRE(Set("c", "v", 100s, {"other"}).ok());
  auto removed = InvalidateTags({"t"});
  REQUIRE(removed.size() == 3);
  REQUIRE(removed[0].tier == "L1");
  for (const auto& r : removed) REQUIRE(r.removed == 2);
  REQUIRE(l2_->size() == 1);
  REQUIRE(l3_->size() == 1);
  REQUIRE(Get("a").status().code() == StatusCode::kNotFound);
}

TEST_CASE_METHOD(TieredCacheTest, "TieredCache: APromotionNeverOverwritesANewerWrite",
                 "[tiered]") {
  l2_->Store("k", "old", 100s);
  l2_->get_delay_ms = 200;
  auto reading = std::async(std::launch::async, [&] { return Get("k"); });
  std::this_thread::sleep_for(50ms);
  l2_->get_delay_ms = 0;
  REQUIRE(Set("k", "new", 100s).ok());
  reading.get();
  auto hit = Get("k");
  REQUIRE(hit.ok());
  REQUIRE(*hit->value == "new");
}

class AsyncL3Test : public TieredCacheTest {
 protected:
  static WriteBehindOptions SmallQueue() {
    WriteBehindOptions o;
    o.capacity = 1000;
    o.batch_size = 100;
    return o;
  }
  AsyncL3Test() : TieredCacheTest(WriteMode::kAsync, SmallQueue()) {}
};

TEST_CASE_METHOD(AsyncL3Test, "TieredCache: AsyncTierWritesAreBatchedAndFlushed", "[tiered]") {
  // The first batch is held on its way, so the writes after it queue up behind it whatever
  // the threads' timing: a flusher that kept pace with the writer would otherwise send
  // each write alone (seen once in 30 runs on a loaded machine).
  l3_->HoldBatches();
  for (int i = 0; i < 500; ++i) REQUIRE(Set("k" + std::to_string(i), "v", 100s).ok());
  l3_->ReleaseBatches();
  REQUIRE(cache_->FlushWriteBehind(10s) == 0);
  REQUIRE(l3_->size() == 500);
  REQUIRE(l3_->batch_calls.load() < 500);
  REQUIRE(l3_->Peek("k7")->ttl_left > Duration(990s));
  auto status = cache_->LowerTiers()[1];
  REQUIRE(status.write_behind);
  REQUIRE(status.write_behind->flushed == 500);
  REQUIRE(status.write_behind->depth == 0);
}

TEST_CASE_METHOD(AsyncL3Test, "TieredCache: AQueuedWriteNeverOutlivesAnInvalidation",
                 "[tiered]") {
  l3_->failing = true;  // keeps writes queued
  REQUIRE(Set("a", "v", 100s, {"t"}).ok());
  REQUIRE(Set("b", "v", 100s).ok());
  InvalidateTags({"t"});
  l3_->failing = false;
  REQUIRE(cache_->FlushWriteBehind(10s) == 0);
  REQUIRE_FALSE(l3_->Peek("a").has_value());
  REQUIRE(l3_->Peek("b").has_value());
}

TEST_CASE_METHOD(AsyncL3Test,
                 "TieredCache: AnInvalidationWaitsForABatchOnItsWayToATierMarkedDown",
                 "[tiered]") {
  l3_->failing = true;
  l3_->ping_failing = true;  // down until the end: the held invalidation stays held
  REQUIRE(ProbeUntil(1, TierState::kDown));
  REQUIRE(Set("a", "v", 100s, {"t"}).ok());  // queued while the tier is down
  // A drain sends even to a tier marked down; the batch is held on its way.
  l3_->HoldBatches();
  std::thread drain([&] { cache_->FlushWriteBehind(10s); });
  REQUIRE(Eventually([&] { return l3_->batches_pending.load() > 0; }));
  // Held for the tier's return, but only once the batch has landed (and failed): the
  // invalidation cannot finish while the batch is still on its way.
  auto answer = std::make_shared<std::promise<std::vector<TierRemoval>>>();
  auto answered = answer->get_future();
  cache_->InvalidateTags({"t"}, [answer](std::vector<TierRemoval> r) {
    answer->set_value(std::move(r));
  });
  CHECK(answered.wait_for(20ms) == std::future_status::timeout);
  l3_->ReleaseBatches();
  REQUIRE(answered.wait_for(test::kRealTimeBound) == std::future_status::ready);
  const auto removals = answered.get();
  l3_->failing = false;
  drain.join();
  REQUIRE(removals.size() == 3);
  CHECK(removals[2].error == "tier is down; applied when it is back");
  CHECK_FALSE(l3_->Peek("a").has_value());
}

TEST_CASE("TieredCache: AFullWriteBehindQueueDropsByItsPolicyAndCounts", "[tiered]") {
  FakeTier tier("L3");
  tier.failing = true;
  WriteBehindOptions o;
  o.capacity = 10;
  o.batch_size = 5;
  o.overflow = OverflowPolicy::kDropOldest;
  std::atomic<bool> usable{false};
  WriteBehindQueue queue(tier, o, [&] { return usable.load(); });
  for (int i = 0; i < 15; ++i) {
    queue.Push(TierWrite{"k" + std::to_string(i), std::make_shared<const std::string>("v"), {},
                         100s});
  }
  REQUIRE(queue.stats().dropped == 5);
  REQUIRE(queue.stats().depth == 10);
  tier.failing = false;
  usable = true;
  REQUIRE(queue.Drain(10s) == 0);
  REQUIRE_FALSE(tier.Peek("k0").has_value());  // the oldest went
  REQUIRE(tier.Peek("k14").has_value());
}

}  // namespace
}  // namespace tiercache
