// The `sql` warming source against a real PostgreSQL 15: which rows become which entries,
// that rows stream batch by batch, and how a bad template, a NULL, an unreachable or
// rejecting database and a sink that says stop end a run.

#include "tiers/postgres/sql_warm_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/postgres_server.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using nlohmann::json;
using std::chrono::steady_clock;

constexpr int kUsers = 100'000;

PostgresServer& SharedServer() {
  static PostgresServer server;
  return server;
}

// app_users: 100,000 rows, the even ids active. Created once per process.
const PostgresServer& UsersServer() {
  static const bool created = [] {
    SharedServer().Psql(
        "CREATE TABLE app_users (id int PRIMARY KEY, name text, email text, active bool);"
        "INSERT INTO app_users SELECT i, 'user ' || i, 'u' || i || '@example.com', i % 2 = 0 "
        "FROM generate_series(1, " +
        std::to_string(kUsers) + ") i");
    return true;
  }();
  (void)created;
  return SharedServer();
}

// Records what a run produced. Run calls it on the test's own thread.
class FakeSink : public WarmSink {
 public:
  bool Put(WarmEntry entry) override {
    ++puts;
    if (on_put) on_put(entry);
    if (keep_entries) entries.push_back(std::move(entry));
    return stop_after == 0 || puts < stop_after;
  }
  void Attempted(uint64_t n) override { attempted += n; }
  void Failed(std::string_view what, const Status& why) override {
    failures.emplace_back(std::string(what), why);
  }
  bool cancelled() const override { return false; }

  bool keep_entries = true;
  uint64_t stop_after = 0;  // Put returns false on this call; 0: never
  std::function<void(const WarmEntry&)> on_put;
  uint64_t puts = 0;
  uint64_t attempted = 0;
  std::vector<WarmEntry> entries;
  std::vector<std::pair<std::string, Status>> failures;
};

SqlWarmOptions UserOptions() {
  SqlWarmOptions o;
  o.dsn = UsersServer().dsn();
  o.query = "SELECT id, name, email FROM app_users WHERE active";
  o.key = "user:{id}";
  o.tags = {"user:{id}", "user_list"};
  o.connect_timeout = 2s;
  return o;
}

std::unique_ptr<WarmSource> Make(SqlWarmOptions options) {
  auto source = MakeSqlWarmSource(std::move(options));
  INFO(source.status().message());
  REQUIRE(source.ok());
  return std::move(*source);
}

Status RunInto(SqlWarmOptions options, FakeSink& sink) {
  return Make(std::move(options))->Run(sink);
}

double SecondsSince(steady_clock::time_point start) {
  return std::chrono::duration<double>(steady_clock::now() - start).count();
}

TEST_CASE("sql warming: active users become keyed, tagged JSON entries", "[sql_warm]") {
  FakeSink sink;
  SqlWarmOptions options = UserOptions();
  options.ttl = 600s;
  REQUIRE(Make(options)->kind() == "sql");
  const Status run = RunInto(options, sink);
  INFO(run.message());
  REQUIRE(run.ok());

  REQUIRE(sink.entries.size() == kUsers / 2);
  CHECK(sink.attempted == kUsers / 2);
  CHECK(sink.failures.empty());
  std::set<int> ids;
  for (const WarmEntry& e : sink.entries) {
    const json value = json::parse(e.value);
    const int id = value.at("id").get<int>();
    REQUIRE(id % 2 == 0);
    ids.insert(id);
    REQUIRE(e.key == "user:" + std::to_string(id));
    REQUIRE(e.tags == std::vector<std::string>{"user:" + std::to_string(id), "user_list"});
    REQUIRE(value.size() == 3);
    REQUIRE(value.at("name") == "user " + std::to_string(id));
    REQUIRE(value.at("email") == "u" + std::to_string(id) + "@example.com");
    REQUIRE(e.ttl == std::optional<Duration>(600s));
  }
  CHECK(ids.size() == kUsers / 2);
  CHECK(*ids.begin() == 2);
  CHECK(*ids.rbegin() == kUsers);
  // The columns in the query's order.
  CHECK(sink.entries.front().value.rfind("{\"id\":", 0) == 0);
}

TEST_CASE("sql warming: rows stream batch by batch", "[sql_warm]") {
  // clock_timestamp() is computed when a row is fetched. The sink holds up its first entry
  // for 300 ms: the rows of the first batch were computed before that, every later row
  // after, so the source hands rows over before it has fetched them all.
  FakeSink sink;
  SqlWarmOptions options = UserOptions();
  options.query =
      "SELECT i AS id, extract(epoch FROM clock_timestamp())::float8 * 1000 AS at_ms "
      "FROM generate_series(1, 5000) i";
  options.tags.clear();
  options.batch_rows = 1000;
  double first_put_ms = 0;
  sink.on_put = [&](const WarmEntry&) {
    if (sink.puts != 1) return;
    first_put_ms = std::chrono::duration<double, std::milli>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
    std::this_thread::sleep_for(300ms);
  };
  REQUIRE(RunInto(options, sink).ok());
  REQUIRE(sink.entries.size() == 5000);
  for (size_t i = 0; i < sink.entries.size(); ++i) {
    const json value = json::parse(sink.entries[i].value);
    REQUIRE(value.at("id") == i + 1);
    const double at_ms = value.at("at_ms").get<double>();
    if (i < 1000) {
      REQUIRE(at_ms <= first_put_ms + 1);  // fetched before the sink saw the first entry
    } else {
      REQUIRE(at_ms >= first_put_ms + 250);  // fetched after the sink let it go
    }
  }
}

TEST_CASE("sql warming: an exact multiple of batch_rows ends with an empty batch", "[sql_warm]") {
  FakeSink sink;
  SqlWarmOptions options = UserOptions();
  options.query = "SELECT i AS id FROM generate_series(1, 30) i";
  options.batch_rows = 10;
  REQUIRE(RunInto(options, sink).ok());
  CHECK(sink.entries.size() == 30);
  CHECK(sink.entries.back().key == "user:30");

  FakeSink empty;
  options.query = "SELECT i AS id FROM generate_series(1, 0) i";
  REQUIRE(RunInto(options, empty).ok());
  CHECK(empty.entries.empty());
  CHECK(empty.attempted == 0);
}

TEST_CASE("sql warming: value_column picks one column's bytes", "[sql_warm]") {
  const PostgresServer& server = UsersServer();
  server.Psql(
      "DROP TABLE IF EXISTS warm_blobs; CREATE TABLE warm_blobs (id int, data bytea, label text);"
      "INSERT INTO warm_blobs VALUES (1, '\\x00ff0a41'::bytea, 'one'), (2, ''::bytea, 'two'),"
      "(3, NULL, 'three')");
  SqlWarmOptions options = UserOptions();
  options.query = "SELECT id, data, label FROM warm_blobs ORDER BY id";
  options.key = "blob:{id}";
  options.tags = {"blob"};

  SECTION("bytea: the bytes themselves") {
    options.value_column = "data";
    FakeSink sink;
    REQUIRE(RunInto(options, sink).ok());
    REQUIRE(sink.entries.size() == 2);
    CHECK(sink.entries[0].key == "blob:1");
    CHECK(sink.entries[0].value == std::string("\x00\xff\x0a\x41", 4));
    CHECK(sink.entries[1].value.empty());
    // A NULL value is a failed row, and the run goes on.
    CHECK(sink.attempted == 3);
    REQUIRE(sink.failures.size() == 1);
    CHECK(sink.failures[0].first == "row 3 (blob:3)");
    CHECK(sink.failures[0].second.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(sink.failures[0].second.message(), Contains("data"));
  }
  SECTION("text: its text") {
    options.value_column = "label";
    FakeSink sink;
    REQUIRE(RunInto(options, sink).ok());
    REQUIRE(sink.entries.size() == 3);
    CHECK(sink.entries[2].value == "three");
  }
  SECTION("any other type: its text form") {
    options.value_column = "id";
    FakeSink sink;
    REQUIRE(RunInto(options, sink).ok());
    REQUIRE(sink.entries.size() == 3);
    CHECK(sink.entries[1].value == "2");
  }
}

TEST_CASE("sql warming: JSON values follow the column types", "[sql_warm]") {
  SqlWarmOptions options = UserOptions();
  options.query =
      "SELECT 7 AS id, 3::int2 AS small, 9007199254740993::int8 AS big, true AS yes, "
      "false AS no, 2.5::float8 AS f8, 0.1::float4 AS f4, 'NaN'::float8 AS nan, "
      "12345678901234567890.5::numeric AS num, 'a \"b\"' AS txt, NULL::int AS nothing, "
      "'{\"x\": [1, 2]}'::jsonb AS doc, '\\x0102'::bytea AS raw";
  FakeSink sink;
  REQUIRE(RunInto(options, sink).ok());
  REQUIRE(sink.entries.size() == 1);
  const json v = json::parse(sink.entries[0].value);
  CHECK(v.at("id") == 7);
  CHECK(v.at("small") == 3);
  CHECK(v.at("big").get<int64_t>() == 9007199254740993);
  CHECK(v.at("yes") == true);
  CHECK(v.at("no") == false);
  CHECK(v.at("f8") == 2.5);
  CHECK(v.at("f4").is_number_float());
  CHECK(v.at("nan") == "NaN");
  CHECK(v.at("num") == "12345678901234567890.5");
  CHECK(v.at("txt") == "a \"b\"");
  CHECK(v.at("nothing").is_null());
  CHECK(v.at("doc") == json::parse(R"({"x": [1, 2]})"));
  CHECK(v.at("raw") == "\\x0102");
}

TEST_CASE("sql warming: a template naming a missing column fails the run", "[sql_warm]") {
  SqlWarmOptions options = UserOptions();
  options.tags = {"user:{id}", "org:{org_id}", "{region}"};
  FakeSink sink;
  const Status run = RunInto(options, sink);
  CHECK(run.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(run.message(), Contains("org_id, region") && Contains("id, name, email"));
  CHECK(sink.attempted == 0);

  options = UserOptions();
  options.value_column = "payload";
  const Status value_run = RunInto(options, sink);
  CHECK(value_run.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(value_run.message(), Contains("payload"));
}

TEST_CASE("sql warming: a NULL in a key column fails that row only", "[sql_warm]") {
  SqlWarmOptions options = UserOptions();
  options.query = "SELECT * FROM (VALUES (1, 'a'), (NULL, 'b'), (3, NULL)) t(id, org)";
  options.tags = {"org:{org}"};
  FakeSink sink;
  REQUIRE(RunInto(options, sink).ok());
  CHECK(sink.attempted == 3);
  REQUIRE(sink.entries.size() == 1);
  CHECK(sink.entries[0].key == "user:1");
  REQUIRE(sink.failures.size() == 2);
  CHECK(sink.failures[0].first == "row 2");
  CHECK_THAT(sink.failures[0].second.message(), Contains("column id is NULL"));
  CHECK(sink.failures[1].first == "row 3");
  CHECK_THAT(sink.failures[1].second.message(), Contains("column org is NULL"));
}

TEST_CASE("sql warming: a sink that says stop ends the run", "[sql_warm]") {
  SqlWarmOptions options = UserOptions();
  options.batch_rows = 100;
  FakeSink sink;
  sink.stop_after = 250;
  const auto start = steady_clock::now();
  REQUIRE(RunInto(options, sink).ok());
  CHECK(SecondsSince(start) < 2);
  CHECK(sink.puts == 250);
  CHECK(sink.attempted == 250);
  // Nothing left behind: the run's session is gone or idle outside a transaction.
  CHECK(UsersServer().Psql("SELECT count(*) FROM pg_stat_activity WHERE state LIKE "
                           "'idle in transaction%'") == "0");
}

// A TCP port on which the kernel completes connections that no one ever answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST_CASE("sql warming: an unreachable database fails the run within connect_timeout",
          "[sql_warm]") {
  SqlWarmOptions options = UserOptions();
  options.connect_timeout = 500ms;

  SECTION("a server that never answers") {
    SilentListener silent;
    options.dsn =
        "host=127.0.0.1 port=" + std::to_string(silent.port()) + " dbname=postgres user=postgres";
    FakeSink sink;
    const auto start = steady_clock::now();
    const Status run = RunInto(options, sink);
    const double took = SecondsSince(start);
    CHECK(run.code() == StatusCode::kUnavailable);
    CHECK_THAT(run.message(), Contains("127.0.0.1:" + std::to_string(silent.port())));
    CHECK(took >= 0.45);
    CHECK(took < 1.5);
  }
  SECTION("a closed port") {
    uint16_t port = 0;
    {
      SilentListener closed;  // closed again at once: connections are refused
      port = closed.port();
    }
    options.dsn = "host=127.0.0.1 port=" + std::to_string(port) + " user=postgres";
    FakeSink sink;
    const auto start = steady_clock::now();
    const Status run = RunInto(options, sink);
    CHECK(run.code() == StatusCode::kUnavailable);
    CHECK_THAT(run.message(), Contains("refused"));
    CHECK(SecondsSince(start) < 0.5);
  }
}

TEST_CASE("sql warming: a query PostgreSQL rejects fails the run with its message", "[sql_warm]") {
  SqlWarmOptions options = UserOptions();
  FakeSink sink;

  options.query = "SELECT id FROM no_such_table";
  Status run = RunInto(options, sink);
  CHECK(run.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(run.message(), Contains("no_such_table") && Contains("does not exist"));

  options.query = "SELECT idd AS id FROM app_users";
  run = RunInto(options, sink);
  CHECK(run.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(run.message(), Contains("idd"));

  // One statement only: the second is refused, not run.
  options.query = "SELECT 1 AS id; DROP TABLE app_users";
  run = RunInto(options, sink);
  CHECK(run.code() == StatusCode::kInvalidArgument);
  CHECK(UsersServer().Psql("SELECT count(*) FROM app_users") == std::to_string(kUsers));

  // Not a SELECT: DECLARE takes none.
  options.query = "DELETE FROM app_users RETURNING id";
  run = RunInto(options, sink);
  CHECK(run.code() == StatusCode::kInvalidArgument);

  // A trailing semicolon is fine.
  options.query = "SELECT 1 AS id;  ";
  FakeSink one;
  CHECK(RunInto(options, one).ok());
  CHECK(one.entries.size() == 1);
  CHECK(sink.entries.empty());
}

TEST_CASE("sql warming: statement_timeout bounds a statement", "[sql_warm]") {
  SqlWarmOptions options = UserOptions();
  options.query = "SELECT 1 AS id, pg_sleep(3)";
  options.statement_timeout = 200ms;
  FakeSink sink;
  const auto start = steady_clock::now();
  const Status run = RunInto(options, sink);
  CHECK(run.code() == StatusCode::kDeadlineExceeded);
  CHECK_THAT(run.message(), Contains("statement timeout"));
  CHECK(SecondsSince(start) < 2);
}

TEST_CASE("sql warming: bad options are rejected naming the setting", "[sql_warm]") {
  auto rejected = [](SqlWarmOptions o) {
    auto made = MakeSqlWarmSource(std::move(o));
    REQUIRE_FALSE(made.ok());
    CHECK(made.status().code() == StatusCode::kInvalidArgument);
    return made.status().message();
  };
  SqlWarmOptions base;
  base.dsn = "host=127.0.0.1 port=1 dbname=app";  // never connected to
  base.query = "SELECT id FROM t";
  base.key = "item:{id}";
  REQUIRE(MakeSqlWarmSource(base).ok());

  SqlWarmOptions o = base;
  o.dsn = "";
  CHECK_THAT(rejected(o), Contains("dsn"));
  o = base;
  o.dsn = "host=a bogus_setting=1";
  CHECK_THAT(rejected(o), Contains("dsn"));
  o = base;
  o.query = " ; ";
  CHECK_THAT(rejected(o), Contains("query"));
  o = base;
  o.key = "";
  CHECK_THAT(rejected(o), Contains("key"));
  o = base;
  o.key = "all_items";
  CHECK_THAT(rejected(o), Contains("key") && Contains("no column"));
  o = base;
  o.key = "item:{}";  // an empty placeholder is literal text: still no column
  CHECK_THAT(rejected(o), Contains("key"));
  o = base;
  o.tags = {"item:{id}", ""};
  CHECK_THAT(rejected(o), Contains("tags[1]"));
  o = base;
  o.batch_rows = 0;
  CHECK_THAT(rejected(o), Contains("batch_rows"));
  o = base;
  o.batch_rows = 100'001;
  CHECK_THAT(rejected(o), Contains("batch_rows"));
  o = base;
  o.ttl = Duration::zero();
  CHECK_THAT(rejected(o), Contains("ttl"));
  o = base;
  o.connect_timeout = Duration::zero();
  CHECK_THAT(rejected(o), Contains("connect_timeout"));
  o = base;
  o.statement_timeout = -1s;
  CHECK_THAT(rejected(o), Contains("statement_timeout"));

  // Unclosed or odd braces are literal text and left alone.
  o = base;
  o.key = "item:{id}:{";
  o.tags = {"{not closed", "x{}"};
  o.batch_rows = 100'000;
  CHECK(MakeSqlWarmSource(o).ok());
}

TEST_CASE("sql warming: rows per second", "[sql_warm][bench]") {
  // For the record, not a bound: all 100,000 rows into a sink that only counts.
  SqlWarmOptions options = UserOptions();
  options.query = "SELECT id, name, email FROM app_users";
  for (const std::string value_column : {"", "email"}) {
    options.value_column = value_column;
    FakeSink sink;
    sink.keep_entries = false;
    const auto start = steady_clock::now();
    REQUIRE(Make(options)->Run(sink).ok());
    const double seconds = SecondsSince(start);
    REQUIRE(sink.puts == static_cast<uint64_t>(kUsers));
    WARN("sql warming, " << kUsers << " rows, batch_rows " << options.batch_rows << ", "
                         << (value_column.empty() ? "JSON rows" : "value_column email") << ": "
                         << seconds << " s, " << static_cast<int64_t>(kUsers / seconds)
                         << " rows/s");
  }
}

}  // namespace
}  // namespace tiercache::test
