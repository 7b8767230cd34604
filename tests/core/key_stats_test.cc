// Per-pattern statistics: how keys are grouped, and what L1 tells them about entries that
// come and go (bytes held, expirations, evictions, and why a read missed).

#include "core/key_stats.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/l1_store.h"

namespace tiercache {
namespace {

using std::chrono::seconds;

std::vector<KeyGroupPattern> Patterns(
    std::initializer_list<std::pair<std::string, std::string>> named) {
  std::vector<KeyGroupPattern> out;
  for (const auto& [name, regex] : named) {
    auto compiled = KeyPattern::Compile(regex);
    REQUIRE(compiled.ok());
    out.push_back({name, *compiled});
  }
  return out;
}

const KeyGroupStats* Find(const std::vector<KeyGroupStats>& groups, std::string_view name) {
  for (const auto& g : groups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

std::shared_ptr<const std::string> Value(size_t n) {
  return std::make_shared<const std::string>(n, 'v');
}

TEST_CASE("KeyStats: AKeyBelongsToTheFirstConfiguredPatternItMatchesElseItsFirstSegment") {
  KeyStats stats(Patterns({{"profile", "^user:[0-9]+:profile$"}, {"user", "^user:"}}), 100);
  const uint16_t profile = stats.GroupOf("user:42:profile");
  const uint16_t user = stats.GroupOf("user:42:settings");
  const uint16_t order = stats.GroupOf("order:7");
  CHECK(profile != user);
  CHECK(stats.GroupOf("user:43:profile") == profile);
  CHECK(stats.GroupOf("order:8:lines") == order);
  CHECK(stats.GroupOf("plain") != order);  // no ':' at all: the whole key is the segment

  stats.Read(profile, true);
  stats.Read(user, false);
  stats.Read(order, true);
  const auto groups = stats.Snapshot();
  REQUIRE(Find(groups, "profile") != nullptr);
  CHECK(Find(groups, "profile")->hits == 1);
  CHECK(Find(groups, "user")->misses == 1);
  REQUIRE(Find(groups, "order") != nullptr);
  CHECK(Find(groups, "order")->reads == 1);
  CHECK(Find(groups, "other") == nullptr);  // nothing counted there
}

TEST_CASE("KeyStats: PastMaxGroupsNewSegmentsAreCountedUnderOther") {
  KeyStats stats({}, 4);  // "other" and three segments
  for (int i = 0; i < 50; ++i) stats.Read(stats.GroupOf("seg" + std::to_string(i) + ":x"), true);
  const auto groups = stats.Snapshot();
  CHECK(groups.size() == 4);
  REQUIRE(Find(groups, "other") != nullptr);
  CHECK(Find(groups, "other")->reads == 47);
  CHECK(Find(groups, "seg0")->reads == 1);
  CHECK(stats.GroupOf("seg49:y") == KeyStats::kOther);
}

class L1WithStats {
 public:
  explicit L1WithStats(uint64_t max_entries = 1000)
      : stats_({}, 100), l1_(Options(max_entries), AdaptiveOptions{}, clock_, &stats_, 64) {}

  static L1Options Options(uint64_t max_entries) {
    L1Options o;
    o.shards = 1;
    o.max_entries = max_entries;
    o.policy = L1Policy::kLru;  // which entry an eviction takes is LRU's
    return o;
  }

  KeyGroupStats Group(std::string_view name) {
    const auto groups = stats_.Snapshot();
    const KeyGroupStats* g = Find(groups, name);
    REQUIRE(g != nullptr);
    return *g;
  }

  FakeClock clock_;
  KeyStats stats_;
  L1Store l1_;
};

TEST_CASE("KeyStats: L1BytesAndEntriesPerGroupFollowStoresAndRemovals") {
  L1WithStats t;
  REQUIRE(t.l1_.Set("a:1", Value(100), {}, {Lifetime::Kind::kFixed, seconds(60)}).ok());
  REQUIRE(t.l1_.Set("a:2", Value(50), {"tag"}, {Lifetime::Kind::kFixed, seconds(60)}).ok());
  REQUIRE(t.l1_.Set("b:1", Value(10), {}, {Lifetime::Kind::kFixed, seconds(60)}).ok());
  const L1Stats total = t.l1_.Stats();
  CHECK(t.Group("a").entries == 2);
  CHECK(t.Group("a").bytes + t.Group("b").bytes == total.bytes);

  REQUIRE(t.l1_.Set("a:1", Value(10), {}, {Lifetime::Kind::kFixed, seconds(60)}).ok());
  CHECK(t.l1_.Delete("a:2"));
  CHECK(t.Group("a").entries == 1);
  CHECK(t.Group("a").bytes + t.Group("b").bytes == t.l1_.Stats().bytes);
  // a:1's first value and a:2 left unread.
  CHECK(t.Group("a").unread_removals == 2);
  CHECK(t.l1_.Clear() == 2);
  CHECK(t.Group("a").bytes == 0);
  CHECK(t.Group("b").entries == 0);
}

TEST_CASE("KeyStats: L1TellsWhyAKeyIsGoneOnceForExpiryAndEviction") {
  L1WithStats t(/*max_entries=*/2);
  REQUIRE(t.l1_.Set("s:1", Value(1), {}, {Lifetime::Kind::kFixed, seconds(1)}).ok());
  t.clock_.Advance(seconds(2));
  CHECK_FALSE(t.l1_.Get("s:1").has_value());
  auto ghost = t.l1_.TakeGhost("s:1");
  REQUIRE(ghost.has_value());
  CHECK(ghost->cause == MissCause::kExpired);
  CHECK(t.clock_.Now() - ghost->stored_at == seconds(2));
  CHECK_FALSE(t.l1_.TakeGhost("s:1").has_value());  // one departure explains one miss

  // Expired but not yet looked at: TakeGhost finds it all the same.
  REQUIRE(t.l1_.Set("s:2", Value(1), {}, {Lifetime::Kind::kFixed, seconds(1)}).ok());
  t.clock_.Advance(seconds(3));
  ghost = t.l1_.TakeGhost("s:2");
  REQUIRE(ghost.has_value());
  CHECK(ghost->cause == MissCause::kExpired);

  REQUIRE(t.l1_.Set("e:1", Value(1), {}, {Lifetime::Kind::kFixed, seconds(60)}).ok());
  CHECK(t.l1_.Get("e:1").has_value());
  REQUIRE(t.l1_.Set("e:2", Value(1), {}, {Lifetime::Kind::kFixed, seconds(60)}).ok());
  REQUIRE(t.l1_.Set("e:3", Value(1), {}, {Lifetime::Kind::kFixed, seconds(60)}).ok());
  ghost = t.l1_.TakeGhost("e:1");  // the least recently used of two
  REQUIRE(ghost.has_value());
  CHECK(ghost->cause == MissCause::kEvicted);
  CHECK(t.Group("e").evictions == 1);
  CHECK(t.Group("e").evicted_after_reads == 1);
  CHECK(t.Group("s").expirations == 2);

  // Removed on purpose, or stored again: no explanation is kept.
  CHECK(t.l1_.Delete("e:2"));
  CHECK_FALSE(t.l1_.TakeGhost("e:2").has_value());
  REQUIRE(t.l1_.Set("x:1", Value(1), {}, {Lifetime::Kind::kFixed, seconds(1)}).ok());
  t.clock_.Advance(seconds(2));
  CHECK_FALSE(t.l1_.Get("x:1").has_value());
  REQUIRE(t.l1_.Set("x:1", Value(1), {}, {Lifetime::Kind::kFixed, seconds(1)}).ok());
  CHECK_FALSE(t.l1_.TakeGhost("x:1").has_value());
}

TEST_CASE("KeyStats: WithoutStatsL1RemembersNothing") {
  FakeClock clock;
  L1Store l1(L1WithStats::Options(10), AdaptiveOptions{}, clock);
  REQUIRE(l1.Set("k", Value(1), {}, {Lifetime::Kind::kFixed, seconds(1)}).ok());
  clock.Advance(seconds(2));
  CHECK_FALSE(l1.Get("k").has_value());
  CHECK_FALSE(l1.TakeGhost("k").has_value());
  CHECK(l1.key_stats() == nullptr);
}

}  // namespace
}  // namespace tiercache
