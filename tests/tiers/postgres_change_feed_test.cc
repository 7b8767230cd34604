// The PostgreSQL change feed against a real PostgreSQL 15, fed by the trigger that
// deploy/sql/notify/model_changes.sql ships: what each statement sends, how fast it
// arrives, and what the feed does when the server stops, hangs or comes back. Tests that
// stop or freeze a server start their own.

#include "tiers/postgres/postgres_change_feed.h"

#include <libpq-fe.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/poll.h"
#include "tests/support/postgres_server.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using nlohmann::json;
using std::chrono::steady_clock;

double MillisSince(steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
}

std::string NotifySql() {
  std::ifstream in(TIERCACHE_NOTIFY_SQL);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The shared server of the tests that neither stop nor freeze it.
PostgresServer &SharedServer() {
  static PostgresServer server;
  return server;
}

// A table with the shipped trigger attached, passing `trigger_args`.
void CreateUsers(const PostgresServer &server, const std::string &table,
                 const std::string &trigger_args) {
  server.Psql(NotifySql());
  server.Psql("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table +
              " (id int PRIMARY KEY, name text, org_id int); CREATE TRIGGER " + table +
              "_tiercache AFTER INSERT OR UPDATE OR DELETE ON " + table +
              " FOR EACH ROW EXECUTE FUNCTION tiercache_notify_change(" + trigger_args + ")");
}

PostgresChangeFeedOptions Options(const std::string &dsn) {
  PostgresChangeFeedOptions o;
  o.dsn = dsn;
  o.connect_timeout = 1s;
  o.keepalive_interval = 200ms;
  o.command_timeout = 300ms;
  return o;
}

// What a feed reported, with arrival times; the callbacks run on the feed's thread.
struct Recorder {
  struct Arrival {
    std::string payload;
    steady_clock::time_point at;
  };

  std::mutex mu;
  std::vector<Arrival> payloads;
  std::vector<bool> states;

  void Start(ChangeFeed &feed) {
    feed.Start(
        [this](std::string payload) {
          std::lock_guard lock(mu);
          payloads.push_back({std::move(payload), steady_clock::now()});
        },
        [this](bool listening) {
          std::lock_guard lock(mu);
          states.push_back(listening);
        });
  }
  size_t payload_count() {
    std::lock_guard lock(mu);
    return payloads.size();
  }
  std::vector<bool> state_log() {
    std::lock_guard lock(mu);
    return states;
  }
  bool Listening() {
    std::lock_guard lock(mu);
    return !states.empty() && states.back();
  }
  bool NotListening() {
    std::lock_guard lock(mu);
    return !states.empty() && !states.back();
  }
  // Waits for `n` more payloads than `seen`; those that came.
  std::vector<Arrival> AwaitPayloads(size_t seen, size_t n, std::chrono::milliseconds bound) {
    PollUntil([&] { return payload_count() >= seen + n; }, bound);
    std::lock_guard lock(mu);
    return std::vector<Arrival>(payloads.begin() + static_cast<std::ptrdiff_t>(seen),
                                payloads.end());
  }
};

double DestructionMillis(std::unique_ptr<ChangeFeed> feed) {
  const auto start = steady_clock::now();
  feed.reset();
  return MillisSince(start);
}

std::unique_ptr<ChangeFeed> MakeFeed(PostgresChangeFeedOptions options) {
  auto made = MakePostgresChangeFeed(std::move(options));
  REQUIRE(made.ok());
  return std::move(*made);
}

// The application's side: a plain libpq connection, so that the time a statement returns is
// the client's own and not a psql process's exit.
struct AppConnection {
  explicit AppConnection(const PostgresServer &server) : conn(PQconnectdb(server.dsn().c_str())) {
    REQUIRE(PQstatus(conn) == CONNECTION_OK);
  }
  ~AppConnection() { PQfinish(conn); }
  AppConnection(const AppConnection &) = delete;
  AppConnection &operator=(const AppConnection &) = delete;
  PGconn *conn;
};

// Runs `sql` and returns the notifications it caused, parsed, and when the last one came:
// after the statement was sent and after it returned (negative: before the client had the
// reply; the server notifies listeners as it commits).
struct Caused {
  std::vector<json> notifications;
  double after_sent_ms = 0;
  double after_return_ms = 0;
};

Caused Run(AppConnection &app, Recorder &recorder, const std::string &sql, size_t expected) {
  const size_t seen = recorder.payload_count();
  const auto sent = steady_clock::now();
  PGresult *result = PQexec(app.conn, sql.c_str());
  const auto returned = steady_clock::now();
  INFO(PQresultErrorMessage(result));
  CHECK(PQresultStatus(result) == PGRES_COMMAND_OK);
  PQclear(result);
  const std::vector<Recorder::Arrival> arrivals = recorder.AwaitPayloads(seen, expected, 5s);
  Caused caused;
  for (const Recorder::Arrival &a : arrivals)
    caused.notifications.push_back(json::parse(a.payload));
  if (!arrivals.empty()) {
    using Ms = std::chrono::duration<double, std::milli>;
    caused.after_sent_ms = Ms(arrivals.back().at - sent).count();
    caused.after_return_ms = Ms(arrivals.back().at - returned).count();
  }
  return caused;
}

TEST_CASE("TheShippedTriggerFunctionAppliesCleanlyAndAgain", "[postgres][change_feed]") {
  PostgresServer &server = SharedServer();
  server.Psql(NotifySql());
  server.Psql(NotifySql());  // CREATE OR REPLACE: operators may re-apply it
  CHECK(server.Psql("SELECT count(*) FROM pg_proc WHERE proname = "
                    "'tiercache_notify_change'") == "1");
  CHECK_NOTHROW(CreateUsers(server, "app_users", "'auth.User'"));
}

TEST_CASE("InsertUpdateAndDeleteEachDeliverTheirModelIdAndEventAtOnce", "[postgres][change_feed]") {
  PostgresServer &server = SharedServer();
  CreateUsers(server, "app_users", "'auth.User', 'tiercache_invalidate', 'id', 'org_id'");
  Recorder recorder;
  std::unique_ptr<ChangeFeed> feed = MakeFeed(Options(server.dsn()));
  recorder.Start(*feed);
  REQUIRE(PollUntil([&] { return recorder.Listening(); }, 10s));

  AppConnection app(server);
  std::vector<Caused> runs;
  Caused c = Run(app, recorder, "INSERT INTO app_users VALUES (7, 'ann', 3)", 1);
  REQUIRE(c.notifications.size() == 1);
  CHECK(c.notifications[0] ==
        json{{"model", "auth.User"}, {"id", 7}, {"event", "save"}, {"org_id", 3}});
  CHECK(c.notifications[0]["id"].is_number_integer());
  runs.push_back(c);

  c = Run(app, recorder, "UPDATE app_users SET name = 'anne' WHERE id = 7", 1);
  REQUIRE(c.notifications.size() == 1);
  CHECK(c.notifications[0] ==
        json{{"model", "auth.User"}, {"id", 7}, {"event", "save"}, {"org_id", 3}});
  runs.push_back(c);

  c = Run(app, recorder, "DELETE FROM app_users WHERE id = 7", 1);
  REQUIRE(c.notifications.size() == 1);
  CHECK(c.notifications[0] ==
        json{{"model", "auth.User"}, {"id", 7}, {"event", "delete"}, {"org_id", 3}});
  runs.push_back(c);

  std::ostringstream report;
  for (size_t i = 0; i < runs.size(); ++i) {
    report << (i == 0   ? "insert "
               : i == 1 ? ", update "
                        : ", delete ")
           << runs[i].after_sent_ms << " ms after sent / " << runs[i].after_return_ms
           << " ms after returned";
    // Typically under 100 ms after the statement returns; a second keeps a busy machine
    // from failing the test.
    CHECK(runs[i].after_return_ms < 1000);
  }
  INFO("notification latency: " << report.str());
  CHECK(recorder.state_log() == std::vector<bool>{true});
}

TEST_CASE("AnUpdateThatChangesTheIdOrAnExtraColumnAlsoNotifiesTheOldValues",
          "[postgres][change_feed]") {
  PostgresServer &server = SharedServer();
  CreateUsers(server, "moved_users", "'auth.User', '', '', 'org_id'");
  server.Psql("INSERT INTO moved_users VALUES (1, 'a', 10)");
  Recorder recorder;
  std::unique_ptr<ChangeFeed> feed = MakeFeed(Options(server.dsn()));
  recorder.Start(*feed);
  REQUIRE(PollUntil([&] { return recorder.Listening(); }, 10s));

  AppConnection app(server);
  Caused c = Run(app, recorder, "UPDATE moved_users SET id = 2 WHERE id = 1", 2);
  REQUIRE(c.notifications.size() == 2);
  CHECK(c.notifications[0] ==
        json{{"model", "auth.User"}, {"id", 2}, {"event", "save"}, {"org_id", 10}});
  CHECK(c.notifications[1] ==
        json{{"model", "auth.User"}, {"id", 1}, {"event", "delete"}, {"org_id", 10}});

  c = Run(app, recorder, "UPDATE moved_users SET org_id = 11 WHERE id = 2", 2);
  REQUIRE(c.notifications.size() == 2);
  CHECK(c.notifications[0] ==
        json{{"model", "auth.User"}, {"id", 2}, {"event", "save"}, {"org_id", 11}});
  CHECK(c.notifications[1] ==
        json{{"model", "auth.User"}, {"id", 2}, {"event", "save"}, {"org_id", 10}});
}

TEST_CASE("TheChannelAndIdColumnAreTheTriggersToName", "[postgres][change_feed]") {
  PostgresServer &server = SharedServer();
  server.Psql(NotifySql());
  server.Psql(
      "DROP TABLE IF EXISTS orders; CREATE TABLE orders (order_no text "
      "PRIMARY KEY, total int);"
      "CREATE TRIGGER orders_tiercache AFTER INSERT OR UPDATE OR "
      "DELETE ON orders FOR EACH ROW "
      "EXECUTE FUNCTION tiercache_notify_change('shop.Order', "
      "'shop_changes', 'order_no')");
  Recorder shop, other;
  PostgresChangeFeedOptions options = Options(server.dsn());
  options.channel = "shop_changes";
  std::unique_ptr<ChangeFeed> shop_feed = MakeFeed(options);
  std::unique_ptr<ChangeFeed> default_feed = MakeFeed(Options(server.dsn()));
  shop.Start(*shop_feed);
  other.Start(*default_feed);
  REQUIRE(PollUntil([&] { return shop.Listening() && other.Listening(); }, 10s));

  AppConnection app(server);
  const Caused c = Run(app, shop, "INSERT INTO orders VALUES ('A-17', 5)", 1);
  REQUIRE(c.notifications.size() == 1);
  CHECK(c.notifications[0] == json{{"model", "shop.Order"}, {"id", "A-17"}, {"event", "save"}});
  std::this_thread::sleep_for(100ms);
  CHECK(other.payload_count() == 0);
}

TEST_CASE("AMisconfiguredTriggerFailsTheWriteInsteadOfStayingSilent", "[postgres][change_feed]") {
  PostgresServer &server = SharedServer();
  CreateUsers(server, "no_model_users", "");
  CHECK_THROWS_WITH(server.Psql("INSERT INTO no_model_users VALUES (1, 'a', 1)"),
                    Contains("model name, is required"));
  CreateUsers(server, "bad_column_users", "'auth.User', '', 'id', 'tenant_id'");
  CHECK_THROWS_WITH(server.Psql("INSERT INTO bad_column_users VALUES (1, 'a', 1)"),
                    Contains("no column \"tenant_id\""));
  CHECK(server.Psql("SELECT count(*) FROM bad_column_users") == "0");
}

TEST_CASE("AStoppedServerIsReportedWithinThreeSecondsAndListenedToAgainOnceBack",
          "[postgres][change_feed]") {
  PostgresServer server;
  CreateUsers(server, "app_users", "'auth.User'");
  Recorder recorder;
  std::unique_ptr<ChangeFeed> feed = MakeFeed(Options(server.dsn()));
  recorder.Start(*feed);
  REQUIRE(PollUntil([&] { return recorder.Listening(); }, 10s));

  server.Stop();
  const auto stopped = steady_clock::now();
  const bool down = PollUntil([&] { return recorder.NotListening(); }, 3s);
  INFO("not listening " << MillisSince(stopped) << " ms after the stop");
  CHECK(down);
  std::this_thread::sleep_for(1500ms);  // several failed reconnections: still one "false"
  CHECK(recorder.state_log() == std::vector<bool>{true, false});

  server.Start();
  const auto started = steady_clock::now();
  const bool back = PollUntil([&] { return recorder.Listening(); }, 5s);
  INFO("listening again " << MillisSince(started) << " ms after the restart");
  CHECK(back);
  CHECK(recorder.state_log() == std::vector<bool>{true, false, true});

  AppConnection app(server);
  const Caused c = Run(app, recorder, "INSERT INTO app_users VALUES (1, 'a', 2)", 1);
  REQUIRE(c.notifications.size() == 1);
  CHECK(c.notifications[0] == json{{"model", "auth.User"}, {"id", 1}, {"event", "save"}});
}

TEST_CASE("AHungServerIsReportedByTheKeepaliveAndListenedToAgainOnceItAnswers",
          "[postgres][change_feed]") {
  PostgresServer server;
  CreateUsers(server, "app_users", "'auth.User'");
  Recorder recorder;
  std::unique_ptr<ChangeFeed> feed = MakeFeed(Options(server.dsn()));  // 200 ms + 300 ms
  recorder.Start(*feed);
  REQUIRE(PollUntil([&] { return recorder.Listening(); }, 10s));

  server.Pause();
  const auto paused = steady_clock::now();
  const bool down = PollUntil([&] { return recorder.NotListening(); }, 3s);
  const double down_ms = MillisSince(paused);
  server.Resume();
  INFO("not listening " << down_ms << " ms after the server froze");
  CHECK(down);
  CHECK(down_ms < 1500);
  CHECK(PollUntil([&] { return recorder.Listening(); }, 5s));
  AppConnection app(server);
  const Caused c = Run(app, recorder, "INSERT INTO app_users VALUES (2, 'b', 2)", 1);
  CHECK(c.notifications.size() == 1);
}

TEST_CASE("AFeedStartedWhileTheServerIsDownSaysSoOnceThenListens", "[postgres][change_feed]") {
  PostgresServer server;
  CreateUsers(server, "app_users", "'auth.User'");
  server.Stop();
  Recorder recorder;
  const auto made = steady_clock::now();
  std::unique_ptr<ChangeFeed> feed = MakeFeed(Options(server.dsn()));
  recorder.Start(*feed);
  CHECK(MillisSince(made) < 100);
  CHECK(PollUntil([&] { return recorder.NotListening(); }, 3s));
  std::this_thread::sleep_for(500ms);
  CHECK(recorder.state_log() == std::vector<bool>{false});

  server.Start();
  CHECK(PollUntil([&] { return recorder.Listening(); }, 5s));
  CHECK(recorder.state_log() == std::vector<bool>{false, true});
}

TEST_CASE("DestroyingTheFeedReturnsPromptlyWhileTheServerIsDownOrHung", "[postgres][change_feed]") {
  PostgresServer server;
  PostgresChangeFeedOptions options = Options(server.dsn());
  options.connect_timeout = 10s;
  options.command_timeout = 10s;

  SECTION("down") {
    server.Stop();
    Recorder recorder;
    std::unique_ptr<ChangeFeed> feed = MakeFeed(options);
    recorder.Start(*feed);
    REQUIRE(PollUntil([&] { return recorder.NotListening(); }, 3s));
    std::this_thread::sleep_for(300ms);  // in the backoff or an attempt
    const double ms = DestructionMillis(std::move(feed));
    INFO("destroyed in " << ms << " ms");
    CHECK(ms < 100);
  }
  SECTION("hung, while connecting") {
    server.Pause();
    Recorder recorder;
    std::unique_ptr<ChangeFeed> feed = MakeFeed(options);
    recorder.Start(*feed);
    std::this_thread::sleep_for(300ms);  // the attempt waits for the connect timeout
    const double ms = DestructionMillis(std::move(feed));
    server.Resume();
    INFO("destroyed in " << ms << " ms");
    CHECK(ms < 100);
  }
  SECTION("hung, while waiting for the keepalive's answer") {
    Recorder recorder;
    std::unique_ptr<ChangeFeed> feed = MakeFeed(options);
    recorder.Start(*feed);
    REQUIRE(PollUntil([&] { return recorder.Listening(); }, 10s));
    server.Pause();
    std::this_thread::sleep_for(500ms);  // past keepalive_interval: SELECT 1 is waiting
    const double ms = DestructionMillis(std::move(feed));
    server.Resume();
    INFO("destroyed in " << ms << " ms");
    CHECK(ms < 100);
  }
}

TEST_CASE("BadOptionsAreRejectedNamingTheSetting", "[change_feed]") {
  auto error = [](auto change) {
    PostgresChangeFeedOptions o = Options("host=127.0.0.1 port=1");
    change(o);
    auto made = MakePostgresChangeFeed(std::move(o));
    REQUIRE_FALSE(made.ok());
    CHECK(made.status().code() == StatusCode::kInvalidArgument);
    return made.status().message();
  };
  CHECK_THAT(error([](auto &o) { o.dsn = ""; }), Contains("dsn"));
  CHECK_THAT(error([](auto &o) { o.dsn = "host=x nonsense=1"; }), Contains("dsn"));
  const std::vector<std::string> channels = {"",          "Upper",    "1abc",
                                             "with-dash", "quote\"d", std::string(64, 'a')};
  for (const std::string &channel : channels) {
    INFO("channel '" << channel << "'");
    CHECK_THAT(error([&](auto &o) { o.channel = channel; }), Contains("channel"));
  }
  CHECK_THAT(error([](auto &o) { o.connect_timeout = 0s; }), Contains("connect_timeout"));
  CHECK_THAT(error([](auto &o) { o.keepalive_interval = -1s; }), Contains("keepalive_interval"));
  CHECK_THAT(error([](auto &o) { o.command_timeout = 0s; }), Contains("command_timeout"));

  PostgresChangeFeedOptions longest = Options("host=127.0.0.1 port=1");
  longest.channel = "_" + std::string(62, 'z');
  CHECK(MakePostgresChangeFeed(longest).ok());
}

}  // namespace
}  // namespace tiercache::test
