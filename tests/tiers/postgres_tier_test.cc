// The PostgreSQL tier against a real PostgreSQL 15: schema, reads and writes, removals, the
// sweep. One server per test process (initdb takes most of a second), one table per test.
// Failures and shutdown: postgres_failure_test.cc.

#include "tiers/postgres/postgres_tier.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "core/key_pattern.h"
#include "tests/support/poll.h"
#include "tests/support/postgres_server.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using std::chrono::steady_clock;

PostgresServer& Server() {
  static PostgresServer server;
  return server;
}

std::string FreshTable() {
  static std::atomic<int> n{0};
  return "entries_" + std::to_string(++n);
}

PostgresTierOptions Options(const std::string& table) {
  PostgresTierOptions o;
  o.dsn = Server().dsn();
  o.table = table;
  o.pool_size = 2;
  o.command_timeout = 5s;  // generous: the machine may be busy; timeouts have their own tests
  o.sweep_interval = 1h;   // tests that want the sweep ask for it
  return o;
}

// Calls `start` with a callback and waits a bounded time for its answer.
template <class T, class Start>
T Await(Start start, std::chrono::milliseconds bound = 20s) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> answer = promise->get_future();
  start([promise](T value) { promise->set_value(std::move(value)); });
  if (answer.wait_for(bound) != std::future_status::ready) FAIL("no answer within the bound");
  return answer.get();
}

TierWrite Write(std::string key, std::string value, std::vector<std::string> tags = {},
                Duration ttl = 60s) {
  return TierWrite{std::move(key), std::make_shared<const std::string>(std::move(value)),
                   std::move(tags), ttl};
}

// Synchronous wrappers over the asynchronous Tier, for tests.
struct Sync {
  Tier& tier;

  Status Ping() {
    return Await<Status>([&](auto done) { tier.Ping(done); });
  }
  Status Set(TierWrite w) {
    return Await<Status>([&](auto done) { tier.Set(std::move(w), done); });
  }
  Status SetBatch(std::vector<TierWrite> writes) {
    return Await<Status>([&](auto done) { tier.SetBatch(std::move(writes), done); });
  }
  Result<TierEntry> Get(const std::string& key) {
    return Await<Result<TierEntry>>([&](auto done) { tier.Get(key, done); });
  }
  Result<bool> Delete(const std::string& key) {
    return Await<Result<bool>>([&](auto done) { tier.Delete(key, done); });
  }
  Result<uint64_t> InvalidateTags(std::vector<std::string> tags) {
    return Await<Result<uint64_t>>([&](auto done) { tier.InvalidateTags(tags, done); });
  }
  Result<int64_t> AddToCounter(const std::string& name, int64_t delta) {
    return Await<Result<int64_t>>([&](auto done) { tier.AddToCounter(name, delta, done); });
  }
  Result<uint64_t> InvalidateMatching(const std::string& text, const std::string& scope = {}) {
    auto pattern = KeyPattern::Compile(text, scope);
    REQUIRE(pattern.ok());
    return Await<Result<uint64_t>>([&](auto done) { tier.InvalidateMatching(*pattern, done); },
                                   60s);
  }
  Result<uint64_t> Clear() {
    return Await<Result<uint64_t>>([&](auto done) { tier.Clear(done); }, 60s);
  }
};

// A tier on a fresh table of the shared server, connected.
struct TierOnTable {
  explicit TierOnTable(PostgresTierOptions options) : table(options.table) {
    auto made = MakePostgresTier(std::move(options));
    REQUIRE(made.ok());
    tier = std::move(*made);
    REQUIRE(PollUntil([&] { return sync().Ping().ok(); }, 20s));
  }
  explicit TierOnTable(const std::string& t = FreshTable()) : TierOnTable(Options(t)) {}

  Sync sync() { return Sync{*tier}; }
  std::string Sql(const std::string& sql) const { return Server().Psql(sql); }
  std::string Count() const { return Sql("SELECT count(*) FROM " + table); }

  std::string table;
  std::unique_ptr<Tier> tier;
};

TEST_CASE("SchemaIsCreatedAtFirstConnectAndASecondTierOnTheTableMigratesNothing", "[postgres]") {
  TierOnTable first;
  const std::string& t = first.table;
  CHECK(first.Sql("SELECT string_agg(version || '|' || file, ' ' ORDER BY version) FROM " + t +
                  "_schema") ==
        "1|001_entries.sql 2|002_jobs.sql 3|003_content_type.sql 4|004_state.sql");
  CHECK(first.Sql("SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY "
                  "ordinal_position) FROM information_schema.columns WHERE table_name = '" +
                  t + "'") ==
        "key bytea, value bytea, tags ARRAY, expires_at timestamp with "
        "time zone, content_type text");
  CHECK_THAT(first.Sql("SELECT indexdef FROM pg_indexes WHERE indexname = '" + t + "_tags'"),
             Contains("USING gin (tags)"));
  CHECK_THAT(first.Sql("SELECT indexdef FROM pg_indexes WHERE indexname = '" + t + "_expiry'"),
             Contains("(expires_at)"));
  CHECK_THAT(first.Sql("SELECT indexdef FROM pg_indexes WHERE indexname = '" + t + "_pkey'"),
             Contains("(key)"));
  const std::string applied = first.Sql("SELECT max(applied_at) FROM " + t + "_schema");

  TierOnTable second(t);
  CHECK(second.Sql("SELECT count(*) || ' ' || max(applied_at) FROM " + t + "_schema") ==
        "4 " + applied);
  REQUIRE(first.sync().Set(Write("shared", "by the first")).ok());
  const Result<TierEntry> read = second.sync().Get("shared");
  REQUIRE(read.ok());
  CHECK(read->value == "by the first");
}

TEST_CASE("SeveralTiersStartingAtOnceCreateTheSchemaOnce", "[postgres]") {
  const std::string table = FreshTable();
  std::vector<std::unique_ptr<Tier>> tiers;
  for (int i = 0; i < 4; ++i) {
    auto made = MakePostgresTier(Options(table));
    REQUIRE(made.ok());
    tiers.push_back(std::move(*made));
  }
  for (auto& tier : tiers) CHECK(PollUntil([&] { return Sync{*tier}.Ping().ok(); }, 20s));
  CHECK(Server().Psql("SELECT count(*) FROM " + table + "_schema") == "4");
  CHECK(Server().Psql("SELECT count(*) FROM pg_indexes WHERE tablename = '" + table + "'") == "3");
}

TEST_CASE("SetThenGetReturnsTheValueTagsAndRemainingLifetime", "[postgres]") {
  TierOnTable t;
  const std::vector<std::string> tags = {"plain",       "with space", "comma,quote\"brace{}",
                                         "back\\slash", "ünïcödé",    ""};
  REQUIRE(t.sync().Set(Write("k", "value", tags, 100s)).ok());

  const Result<TierEntry> got = t.sync().Get("k");
  REQUIRE(got.ok());
  CHECK(got->value == "value");
  CHECK(got->tags == tags);
  CHECK(got->ttl_left > 99s);
  CHECK(got->ttl_left <= 100s);
  const double seconds_left =
      std::stod(t.Sql("SELECT extract(epoch FROM expires_at - now()) FROM " + t.table +
                      " WHERE key = "
                      "'k'::bytea"));
  CHECK(seconds_left > 98);
  CHECK(seconds_left <= 100);
  CHECK(t.Sql("SELECT cardinality(tags) FROM " + t.table) == "6");

  const Result<TierEntry> miss = t.sync().Get("absent");
  CHECK(miss.status().code() == StatusCode::kNotFound);
}

TEST_CASE("AContentTypeIsKeptWithItsEntryAndOneWrittenBeforeItReadsAsNone", "[postgres]") {
  // A table as the schema of version 2 left it, with an entry in it.
  const std::string table = FreshTable();
  Server().Psql("CREATE TABLE " + table + " (key bytea PRIMARY KEY, value bytea NOT NULL, "
                "tags text[] NOT NULL DEFAULT '{}', expires_at timestamptz NOT NULL); "
                "CREATE TABLE " + table + "_schema (version integer PRIMARY KEY, file text NOT "
                "NULL, applied_at timestamptz NOT NULL DEFAULT now()); "
                "INSERT INTO " + table + "_schema (version, file) VALUES (1, '001_entries.sql'), "
                "(2, '002_jobs.sql'); "
                "INSERT INTO " + table + " VALUES ('old'::bytea, 'v'::bytea, '{}', "
                "now() + interval '1 hour')");
  TierOnTable t(table);
  CHECK(t.Sql("SELECT max(version) FROM " + table + "_schema") == "4");
  const Result<TierEntry> old = t.sync().Get("old");
  REQUIRE(old.ok());
  CHECK(old->value == "v");
  CHECK(old->content_type.empty());

  TierWrite json = Write("json", "{}");
  json.content_type = MakeContentType("application/json");
  REQUIRE(t.sync().Set(std::move(json)).ok());
  CHECK(t.sync().Get("json")->content_type == "application/json");
  std::vector<TierWrite> batch;
  batch.push_back(Write("page", "<p>"));
  batch.back().content_type = MakeContentType("text/html; charset=utf-8");
  batch.push_back(Write("bytes", "\x01"));
  REQUIRE(t.sync().SetBatch(std::move(batch)).ok());
  CHECK(t.sync().Get("page")->content_type == "text/html; charset=utf-8");
  CHECK(t.sync().Get("bytes")->content_type.empty());
}

TEST_CASE("KeysAndValuesAreBinarySafe", "[postgres]") {
  TierOnTable t;
  const std::string key("k\0\xff\x01", 4);
  std::string value;
  for (int b = 0; b < 256; ++b) value.push_back(static_cast<char>(b));
  REQUIRE(t.sync().Set(Write(key, value)).ok());
  REQUIRE(t.sync().Set(Write("k", "prefix of the other key")).ok());
  REQUIRE(t.sync().Set(Write("empty value", "")).ok());

  const Result<TierEntry> got = t.sync().Get(key);
  REQUIRE(got.ok());
  CHECK(got->value == value);
  CHECK(t.sync().Get("k")->value == "prefix of the other key");
  CHECK(t.sync().Get("empty value")->value.empty());
  CHECK(t.Sql("SELECT encode(key, 'hex') || ' ' || length(value) FROM " + t.table +
              " WHERE length(key) = 4") == "6b00ff01 256");
}

TEST_CASE("SetReplacesTheValueTagsAndLifetime", "[postgres]") {
  TierOnTable t;
  REQUIRE(t.sync().Set(Write("k", "old", {"old-tag"}, 100s)).ok());
  REQUIRE(t.sync().Set(Write("k", "new", {"new-tag"}, 10s)).ok());
  const Result<TierEntry> got = t.sync().Get("k");
  REQUIRE(got.ok());
  CHECK(got->value == "new");
  CHECK(got->tags == std::vector<std::string>{"new-tag"});
  CHECK(got->ttl_left <= 10s);
  CHECK(*t.sync().InvalidateTags({"old-tag"}) == 0);
  CHECK(*t.sync().InvalidateTags({"new-tag"}) == 1);
}

TEST_CASE("DeleteRemovesTheKeyAndSaysWhetherALiveEntryWasThere", "[postgres]") {
  TierOnTable t;
  CHECK(*t.sync().Delete("k") == false);
  REQUIRE(t.sync().Set(Write("k", "v")).ok());
  CHECK(*t.sync().Delete("k") == true);
  CHECK(t.sync().Get("k").status().code() == StatusCode::kNotFound);
  CHECK(*t.sync().Delete("k") == false);

  REQUIRE(t.sync().Set(Write("short", "v", {}, 1ms)).ok());
  std::this_thread::sleep_for(20ms);
  CHECK(*t.sync().Delete("short") == false);
  CHECK(t.Count() == "0");
}

TEST_CASE("AnExpiredRowIsAMissUntilTheSweepDeletesIt", "[postgres]") {
  TierOnTable t;
  REQUIRE(t.sync().Set(Write("k", "v", {}, 50ms)).ok());
  CHECK(t.sync().Get("k").ok());
  std::this_thread::sleep_for(100ms);
  CHECK(t.sync().Get("k").status().code() == StatusCode::kNotFound);
  CHECK(t.Count() == "1");
}

TEST_CASE("InvalidateTagsRemovesTaggedRowsWhoeverWroteThemAndCountsThem", "[postgres]") {
  const std::string table = FreshTable();
  PostgresTierOptions small_batches = Options(table);
  small_batches.sweep_batch = 2;  // several statements per invalidation
  TierOnTable writer(table);
  TierOnTable invalidator(small_batches);
  REQUIRE(writer.sync().Set(Write("a", "v", {"t1"})).ok());
  REQUIRE(writer.sync().Set(Write("b", "v", {"t1", "t2"})).ok());
  REQUIRE(invalidator.sync().Set(Write("c", "v", {"t2"})).ok());
  REQUIRE(invalidator.sync().Set(Write("d", "v", {"t3"})).ok());
  REQUIRE(invalidator.sync().Set(Write("e", "v")).ok());
  for (int i = 0; i < 5; ++i) {
    REQUIRE(writer.sync().Set(Write("many" + std::to_string(i), "v", {"t2"})).ok());
  }

  const Result<uint64_t> removed = invalidator.sync().InvalidateTags({"t1", "t2"});
  REQUIRE(removed.ok());
  CHECK(*removed == 8);
  CHECK(writer.Sql("SELECT string_agg(convert_from(key, 'UTF8'), ',' ORDER BY key) FROM " +
                   table) == "d,e");
  CHECK(*writer.sync().InvalidateTags({"unknown"}) == 0);
}

// 10,000 keys: half "user:<n>:profile", half "order:<n>".
std::vector<TierWrite> UsersAndOrders() {
  std::vector<TierWrite> writes;
  for (int i = 0; i < 5000; ++i) {
    writes.push_back(Write("user:" + std::to_string(i) + ":profile", "p"));
    writes.push_back(Write("order:" + std::to_string(i), "o"));
  }
  return writes;
}

TEST_CASE("InvalidateMatchingRemovesExactlyTheMatchingKeys", "[postgres]") {
  TierOnTable t;
  const std::vector<TierWrite> writes = UsersAndOrders();
  REQUIRE(t.sync().SetBatch(writes).ok());
  const auto expect = [&](const std::string& text) {
    auto pattern = KeyPattern::Compile(text);
    REQUIRE(pattern.ok());
    uint64_t n = 0;
    for (const auto& w : writes) n += (*pattern)->Matches(w.key) ? 1 : 0;
    return n;
  };
  const auto remaining_matching = [&](const std::string& posix_regex) {
    return t.Sql("SELECT count(*) FROM " + t.table + " WHERE convert_from(key, 'UTF8') ~ '" +
                 posix_regex + "'");
  };

  SECTION("anchored") {
    const std::string pattern = "^user:1[0-9]*:profile$";
    CHECK(expect(pattern) == 1111);  // 1, 10-19, 100-199, 1000-1999
    const Result<uint64_t> removed = t.sync().InvalidateMatching(pattern);
    REQUIRE(removed.ok());
    CHECK(*removed == 1111);
    CHECK(t.Count() == std::to_string(10'000 - 1111));
    CHECK(remaining_matching(pattern) == "0");
  }
  SECTION("unanchored") {
    const uint64_t expected = expect("99");
    const Result<uint64_t> removed = t.sync().InvalidateMatching("99");
    REQUIRE(removed.ok());
    CHECK(*removed == expected);
    CHECK(t.Count() == std::to_string(10'000 - expected));
    CHECK(remaining_matching("99") == "0");
  }
  SECTION("matching nothing") {
    CHECK(*t.sync().InvalidateMatching("^nobody") == 0);
    CHECK(t.Count() == "10000");
  }
}

TEST_CASE("ClearEmptiesThisTiersTableAndNoOther", "[postgres]") {
  TierOnTable mine;
  TierOnTable other;
  for (int i = 0; i < 12; ++i) REQUIRE(mine.sync().Set(Write("k" + std::to_string(i), "v")).ok());
  REQUIRE(mine.sync().Set(Write("expired", "v", {}, 1ms)).ok());
  REQUIRE(other.sync().Set(Write("k1", "v")).ok());
  std::this_thread::sleep_for(10ms);

  const Result<uint64_t> removed = mine.sync().Clear();
  REQUIRE(removed.ok());
  CHECK(*removed == 12);  // entries; the expired row goes too but was no entry
  CHECK(mine.Count() == "0");
  CHECK(other.Count() == "1");
  CHECK(other.sync().Get("k1").ok());
}

TEST_CASE("SetBatchOf10000RowsLandsAtOnceAndTheLastWriteOfAKeyWins", "[postgres]") {
  TierOnTable t;
  std::vector<TierWrite> writes;
  for (int i = 0; i < 10'000; ++i) {
    writes.push_back(Write("batch:" + std::to_string(i), "value " + std::to_string(i),
                           {"batch", "n" + std::to_string(i % 7)}, 120s));
    if (i % 2500 == 0) {
      writes.push_back(Write("dup", "version " + std::to_string(i), {"v" + std::to_string(i)}));
    }
  }
  writes.push_back(Write("untagged", "u", {}));
  const std::vector<std::string> odd_tags = {
      "with space", "comma,quote\"brace{}", "back\\slash", "ünïcödé", "", "NULL"};
  writes.push_back(Write("odd tags", "o", odd_tags));
  REQUIRE(t.sync().SetBatch(writes).ok());

  CHECK(t.Count() == "10003");
  CHECK(t.sync().Get("odd tags")->tags == odd_tags);
  const Result<TierEntry> dup = t.sync().Get("dup");
  REQUIRE(dup.ok());
  CHECK(dup->value == "version 7500");
  CHECK(dup->tags == std::vector<std::string>{"v7500"});
  const Result<TierEntry> row = t.sync().Get("batch:1234");
  REQUIRE(row.ok());
  CHECK(row->value == "value 1234");
  CHECK(row->tags == std::vector<std::string>{"batch", "n2"});
  CHECK(row->ttl_left > 110s);
  CHECK(t.sync().Get("untagged")->tags.empty());
  CHECK(*t.sync().InvalidateTags({"n3"}) == 1429);
  CHECK(t.sync().SetBatch({}).ok());
}

TEST_CASE("SetBatchIsAllOrNothing", "[postgres]") {
  TierOnTable t;
  std::vector<TierWrite> writes;
  for (int i = 0; i < 1000; ++i) writes.push_back(Write("b" + std::to_string(i), "v"));
  // A text value may not hold a zero byte: PostgreSQL rejects the whole statement.
  writes.push_back(Write("bad", "v", {std::string("nul\0inside", 10)}));
  const Status s = t.sync().SetBatch(writes);
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK_THAT(s.message(), Contains("127.0.0.1:" + std::to_string(Server().port())));
  CHECK_THAT(s.message(), Contains("SQLSTATE"));
  CHECK(t.Count() == "0");
  // The connection survives an SQL error.
  CHECK(t.sync().Set(Write("after", "v")).ok());
}

TEST_CASE("TheSweepDeletesExpiredRowsAndTheTagIndexReturnsToItsBaseline", "[postgres]") {
  PostgresTierOptions options = Options(FreshTable());
  options.sweep_interval = 200ms;
  TierOnTable t(options);
  REQUIRE(t.sync().Set(Write("keeper", "v", {"keep"}, 3600s)).ok());
  REQUIRE(PollUntil([&] { return t.tier->tag_index().memberships == 1; }, 10s));
  const TagIndexStats before = t.tier->tag_index();
  CHECK(before.measured);
  CHECK(before.tags == 1);
  CHECK(before.bytes > 0);

  // 100,000 entries with two tags each and a 1 s lifetime.
  for (int batch = 0; batch < 10; ++batch) {
    std::vector<TierWrite> writes;
    for (int i = 0; i < 10'000; ++i) {
      const std::string n = std::to_string(batch * 10'000 + i);
      writes.push_back(Write("short:" + n, "v", {"item:" + n, "short"}, 1s));
    }
    REQUIRE(t.sync().SetBatch(std::move(writes)).ok());
  }
  CHECK(PollUntil([&] { return t.tier->tag_index().memberships > before.memberships; }, 5s));

  const auto written = steady_clock::now();
  const bool back = PollUntil(
      [&] {
        const TagIndexStats now = t.tier->tag_index();
        return now.tags == before.tags && now.memberships == before.memberships &&
               now.bytes == before.bytes;
      },
      30s);
  const TagIndexStats after = t.tier->tag_index();
  INFO("before: " << before.tags << " tags, " << before.memberships << " memberships, "
                  << before.bytes << " bytes; after: " << after.tags << ", " << after.memberships
                  << ", " << after.bytes << "; "
                  << std::chrono::duration<double>(steady_clock::now() - written).count()
                  << " s after the writes");
  CHECK(back);
  CHECK(t.Count() == "1");
  CHECK(t.sync().Get("keeper").ok());
}

TEST_CASE("ManyThreadsReadAndWriteAtOnce", "[postgres]") {
  TierOnTable t;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < 4; ++n) {
    threads.emplace_back([&, n] {
      for (int i = 0; i < 300; ++i) {
        const std::string key = "k" + std::to_string(n) + ":" + std::to_string(i % 50);
        Sync s = t.sync();
        if (!s.Set(Write(key, std::to_string(i))).ok()) failures.fetch_add(1);
        const Result<TierEntry> got = s.Get(key);
        if (!got.ok() || got->value != std::to_string(i)) failures.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);
  CHECK(t.Count() == "200");
}

TEST_CASE("CountersAreSharedByTiersOnTheTableAndSurviveAClear", "[postgres]") {
  TierOnTable first;
  TierOnTable second(first.table);
  REQUIRE(first.tier->supports_counters());
  CHECK(*first.sync().AddToCounter("namespace-version:app", 0) == 0);
  CHECK(*first.sync().AddToCounter("namespace-version:app", 5) == 5);
  CHECK(*second.sync().AddToCounter("namespace-version:app", 1) == 6);
  REQUIRE(first.sync().Set(Write("k", "v")).ok());
  REQUIRE(first.sync().Clear().ok());
  CHECK(*second.sync().AddToCounter("namespace-version:app", 0) == 6);
  CHECK(first.Sql("SELECT value FROM " + first.table + "_state") == "6");
}

TEST_CASE("AScopedPatternRemovesOnlyTheKeysOfItsScope", "[postgres]") {
  TierOnTable t;
  for (const std::string key : {"app:v2:user:1", "app:v2:user:2:x", "app:v1:user:1",
                                "api:v2:user:1", "user:1"}) {
    REQUIRE(t.sync().Set(Write(key, "v")).ok());
  }
  auto removed = t.sync().InvalidateMatching("^user:[0-9]+$", "app:v2:");
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  CHECK(t.Sql("SELECT string_agg(convert_from(key, 'UTF8'), ' ' ORDER BY key) FROM " + t.table) ==
        "api:v2:user:1 app:v1:user:1 app:v2:user:2:x user:1");
}

}  // namespace
}  // namespace tiercache::test
