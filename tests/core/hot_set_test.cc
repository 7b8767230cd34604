// Unit tests of the hot set kept across restarts: which entries L1 gives as its most read,
// the snapshot file (round trip, damage detected), and the restore from the snapshot's
// values (L1 alone) or through a lower tier.

#include "core/hot_set.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/tiered_cache.h"
#include "tests/core/fake_tier.h"
#include "tests/core/status_printer.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;

// A directory of its own under the system's temporary directory, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hot-set-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

L1Options SmallL1() {
  L1Options o;
  o.shards = 4;
  o.max_entries = 10'000;
  o.max_bytes = 1 << 24;
  return o;
}

void Read(L1Store& l1, const std::string& key, int times) {
  for (int i = 0; i < times; ++i) REQUIRE(l1.Get(key).has_value());
}

Status Put(L1Store& l1, const std::string& key, const std::string& value, Duration ttl = 300s,
           std::vector<std::string> tags = {}, ContentType type = nullptr) {
  return l1.Set(key, std::make_shared<const std::string>(value), std::move(tags),
                Lifetime{Lifetime::Kind::kExact, ttl}, SetMode::kReplace, std::move(type));
}

TEST_CASE("HotSet: L1GivesItsMostReadEntriesMostReadFirstAndLeavesOutUnreadOnes", "[hot_set]") {
  FakeClock clock;
  L1Store l1(SmallL1(), AdaptiveOptions{}, clock);
  for (int i = 0; i < 100; ++i) REQUIRE(Put(l1, "k" + std::to_string(i), "v").ok());
  // k0..k9 read 10 + i times, k10..k49 once, k50.. never.
  for (int i = 0; i < 10; ++i) Read(l1, "k" + std::to_string(i), 10 + i);
  for (int i = 10; i < 50; ++i) Read(l1, "k" + std::to_string(i), 1);

  const auto top = l1.Hottest(5, false);
  REQUIRE(top.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(top[i].key == "k" + std::to_string(9 - i));
    CHECK(top[i].reads == static_cast<uint32_t>(19 - i));
    CHECK_FALSE(top[i].value);  // keys only
  }
  // Ties at the threshold fill what room is left, never more.
  const auto twenty = l1.Hottest(20, false);
  REQUIRE(twenty.size() == 20);
  CHECK(twenty[9].key == "k0");
  for (size_t i = 10; i < 20; ++i) CHECK(twenty[i].reads == 1);
  // Everything read, and nothing unread.
  CHECK(l1.Hottest(1000, false).size() == 50);
}

TEST_CASE("HotSet: ExpiredEntriesAreNotAmongTheHottest", "[hot_set]") {
  FakeClock clock;
  L1Store l1(SmallL1(), AdaptiveOptions{}, clock);
  REQUIRE(Put(l1, "short", "v", 1s).ok());
  REQUIRE(Put(l1, "long", "v", 60s).ok());
  Read(l1, "short", 5);
  Read(l1, "long", 1);
  clock.Advance(2s);
  const auto hot = l1.Hottest(10, false);
  REQUIRE(hot.size() == 1);
  CHECK(hot[0].key == "long");
}

TEST_CASE("HotSet: ASnapshotFileRoundTripsKeysValuesTagsTypesAndExpiry", "[hot_set]") {
  ScratchDir dir;
  FakeClock clock;
  L1Store l1(SmallL1(), AdaptiveOptions{}, clock);
  const std::string binary("a\0b\xff", 4);
  const std::string large(100'000, 'x');  // kept out of line in L1
  REQUIRE(Put(l1, "small", binary, 100s, {"t1", "t2"}, MakeContentType("application/json")).ok());
  REQUIRE(Put(l1, "large", large, 50s).ok());
  Read(l1, "small", 2);
  Read(l1, "large", 1);
  const std::string path = dir.File("hot");
  REQUIRE(WriteHotSetFile(path, l1.Hottest(10, true), true, clock.Now(), clock.WallNow()).ok());
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  auto snapshot = ReadHotSetFile(path);
  REQUIRE(snapshot.ok());
  const std::vector<HotSetEntry>* read = &snapshot->entries;
  REQUIRE(read->size() == 2);
  const HotSetEntry& a = (*read)[0];
  CHECK(a.key == "small");
  CHECK(a.reads == 2);
  CHECK(a.has_value);
  CHECK(a.value == binary);
  CHECK(a.tags == std::vector<std::string>{"t1", "t2"});
  CHECK(a.content_type == "application/json");
  CHECK(UnixMillis(a.expires_at) == UnixMillis(clock.WallNow() + 100s));
  CHECK((*read)[1].value == large);
  CHECK(UnixMillis((*read)[1].expires_at) == UnixMillis(clock.WallNow() + 50s));

  // Keys only: no values written. Namespace versions go along.
  REQUIRE(WriteHotSetFile(path, l1.Hottest(10, false), false, clock.Now(), clock.WallNow(),
                          {{"app", 7}, {"api", 2}})
              .ok());
  snapshot = ReadHotSetFile(path);
  REQUIRE(snapshot.ok());
  CHECK_FALSE(snapshot->entries[0].has_value);
  CHECK(snapshot->versions == NamespaceVersions{{"app", 7}, {"api", 2}});
  CHECK(std::filesystem::file_size(path) < 100);
}

TEST_CASE("HotSet: ADamagedOrTruncatedOrMissingSnapshotIsRefused", "[hot_set]") {
  ScratchDir dir;
  FakeClock clock;
  L1Store l1(SmallL1(), AdaptiveOptions{}, clock);
  REQUIRE(Put(l1, "key", "value").ok());
  Read(l1, "key", 1);
  const std::string path = dir.File("hot");
  REQUIRE(WriteHotSetFile(path, l1.Hottest(10, true), true, clock.Now(), clock.WallNow()).ok());
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto write = [&](const std::string& contents) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
  };

  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x20;
  write(flipped);
  CHECK(ReadHotSetFile(path).status().code() == StatusCode::kInvalidArgument);
  write(bytes.substr(0, bytes.size() - 3));
  CHECK(ReadHotSetFile(path).status().code() == StatusCode::kInvalidArgument);
  write("something else entirely");
  CHECK(ReadHotSetFile(path).status().code() == StatusCode::kInvalidArgument);
  write(bytes);
  CHECK(ReadHotSetFile(path).ok());
  CHECK(ReadHotSetFile(dir.File("none")).status().code() == StatusCode::kNotFound);
}

TEST_CASE("HotSet: WithL1AloneTheSnapshotsValuesComeBackWithTheLifetimeTheyHadLeft",
          "[hot_set]") {
  ScratchDir dir;
  HotSetOptions options;
  options.path = dir.File("hot");
  options.max_keys = 3;
  FakeClock clock;
  {
    L1Store l1(SmallL1(), AdaptiveOptions{}, clock);
    REQUIRE(Put(l1, "a", "1", 100s, {"tag"}, MakeContentType("text/plain")).ok());
    REQUIRE(Put(l1, "b", "2", 10s).ok());
    REQUIRE(Put(l1, "c", "3", 100s).ok());
    REQUIRE(Put(l1, "d", "4", 100s).ok());
    Read(l1, "a", 3);
    Read(l1, "b", 3);
    Read(l1, "c", 2);
    Read(l1, "d", 1);  // fourth: beyond max_keys
    auto saved = SaveHotSet(l1, clock, options, true);
    REQUIRE(saved.ok());
    CHECK(*saved == 3);
  }
  clock.Advance(20s);  // the stop and start took a while: b expired meanwhile
  L1Store l1(SmallL1(), AdaptiveOptions{}, clock);
  TieredCache cache(l1, 1.0, {}, TierHealthOptions{}, clock);
  auto report = RestoreHotSet(cache, clock, options, Limits{});
  REQUIRE(report);
  CHECK(report->error.empty());
  CHECK(report->from_values);
  CHECK(report->in_snapshot == 3);
  CHECK(report->restored == 2);
  CHECK(report->missing == 1);
  CHECK(report->failed == 0);
  CHECK_FALSE(report->timed_out);

  auto a = l1.Get("a");
  REQUIRE(a);
  CHECK(*a->value == "1");
  CHECK(ContentTypeText(a->content_type) == "text/plain");
  CHECK(a->expires_at - clock.Now() == 80s);
  CHECK(l1.Inspect("a")->tags == std::vector<std::string>{"tag"});
  CHECK(l1.InvalidateTags({"tag"}) == 1);
  CHECK(l1.Get("c"));
  CHECK_FALSE(l1.Get("b"));
  CHECK_FALSE(l1.Get("d"));
  // Used once: a later start (after a crash, say) does not bring these values back.
  CHECK_FALSE(std::filesystem::exists(options.path));
  CHECK_FALSE(RestoreHotSet(cache, clock, options, Limits{}));
}

TEST_CASE("HotSet: EntriesBeyondTodaysLimitsAreLeftOut", "[hot_set]") {
  ScratchDir dir;
  HotSetOptions options;
  options.path = dir.File("hot");
  FakeClock clock;
  {
    L1Store l1(SmallL1(), AdaptiveOptions{}, clock);
    REQUIRE(Put(l1, "short", "v").ok());
    REQUIRE(Put(l1, std::string(300, 'k'), "v").ok());
    REQUIRE(Put(l1, "big", std::string(5000, 'v')).ok());
    Read(l1, "short", 1);
    Read(l1, std::string(300, 'k'), 1);
    Read(l1, "big", 1);
    REQUIRE(SaveHotSet(l1, clock, options, true).ok());
  }
  Limits limits;
  limits.max_key_bytes = 256;
  limits.max_value_bytes = 4096;
  L1Store l1(SmallL1(), AdaptiveOptions{}, clock);
  TieredCache cache(l1, 1.0, {}, TierHealthOptions{}, clock);
  auto report = RestoreHotSet(cache, clock, options, limits);
  REQUIRE(report);
  CHECK(report->restored == 1);
  CHECK(report->failed == 2);
  CHECK(l1.Stats().entries == 1);
}

TEST_CASE("HotSet: ADamagedSnapshotRestoresNothingAndSaysWhy", "[hot_set]") {
  ScratchDir dir;
  HotSetOptions options;
  options.path = dir.File("hot");
  std::ofstream(options.path) << "tiercache hot set 1\nnot really";
  FakeClock clock;
  L1Store l1(SmallL1(), AdaptiveOptions{}, clock);
  TieredCache cache(l1, 1.0, {}, TierHealthOptions{}, clock);
  auto report = RestoreHotSet(cache, clock, options, Limits{});
  REQUIRE(report);
  CHECK_THAT(report->error, Catch::Contains("checksum"));
  CHECK(report->restored == 0);
  CHECK(l1.Stats().entries == 0);
  CHECK_FALSE(std::filesystem::exists(options.path));
}

TEST_CASE("HotSet: WithALowerTierTheKeysAreReadThroughItSoL1GetsWhatItHoldsNow",
          "[hot_set]") {
  ScratchDir dir;
  HotSetOptions options;
  options.path = dir.File("hot");
  {
    L1Store l1(SmallL1(), AdaptiveOptions{}, Clock::System());
    for (int i = 0; i < 1000; ++i) REQUIRE(Put(l1, "k" + std::to_string(i), "old").ok());
    for (int i = 0; i < 1000; ++i) Read(l1, "k" + std::to_string(i), 1);
    REQUIRE(SaveHotSet(l1, Clock::System(), options, false).ok());
  }
  L1Store l1(SmallL1(), AdaptiveOptions{}, Clock::System());
  auto l2 = std::make_unique<test::FakeTier>("L2");
  // Written by another instance meanwhile; k900.. are gone from L2.
  for (int i = 0; i < 900; ++i) l2->Store("k" + std::to_string(i), "new", 300s);
  std::vector<TieredCache::LowerTier> tiers;
  tiers.push_back({std::move(l2), LowerTierOptions{}});
  TieredCache cache(l1, 1.0, std::move(tiers), TierHealthOptions{}, Clock::System());
  auto report = RestoreHotSet(cache, Clock::System(), options, Limits{});
  REQUIRE(report);
  CHECK_FALSE(report->from_values);
  CHECK(report->in_snapshot == 1000);
  CHECK(report->restored == 900);
  CHECK(report->missing == 100);
  CHECK(report->failed == 0);
  CHECK(l1.Stats().entries == 900);
  for (int i = 0; i < 900; ++i) {
    auto v = l1.Get("k" + std::to_string(i));
    REQUIRE(v);
    REQUIRE(*v->value == "new");
  }
}

TEST_CASE("HotSet: ARestoreStopsAtItsTimeBound", "[hot_set]") {
  ScratchDir dir;
  HotSetOptions options;
  options.path = dir.File("hot");
  options.restore_timeout = 200ms;
  {
    L1Store l1(SmallL1(), AdaptiveOptions{}, Clock::System());
    for (int i = 0; i < 2000; ++i) REQUIRE(Put(l1, "k" + std::to_string(i), "v").ok());
    for (int i = 0; i < 2000; ++i) Read(l1, "k" + std::to_string(i), 1);
    REQUIRE(SaveHotSet(l1, Clock::System(), options, false).ok());
  }
  L1Store l1(SmallL1(), AdaptiveOptions{}, Clock::System());
  auto l2 = std::make_unique<test::FakeTier>("L2");
  test::FakeTier* slow = l2.get();
  for (int i = 0; i < 2000; ++i) slow->Store("k" + std::to_string(i), "v", 300s);
  slow->get_delay_ms = 5;  // one reply at a time: 2000 take 10 s
  std::vector<TieredCache::LowerTier> tiers;
  tiers.push_back({std::move(l2), LowerTierOptions{}});
  TieredCache cache(l1, 1.0, std::move(tiers), TierHealthOptions{}, Clock::System());
  const auto started = std::chrono::steady_clock::now();
  auto report = RestoreHotSet(cache, Clock::System(), options, Limits{});
  const auto took = std::chrono::steady_clock::now() - started;
  REQUIRE(report);
  CHECK(report->timed_out);
  CHECK(report->restored < 2000);
  CHECK(report->restored + report->failed == 2000);
  CHECK(took < 5s);
  slow->get_delay_ms = 0;  // let the reads still queued drain before the cache goes
}

}  // namespace
}  // namespace tiercache
