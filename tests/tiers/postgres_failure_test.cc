// The PostgreSQL tier when PostgreSQL is down, stops, hangs or never answers, when its table
// disappears, when its options are wrong, and when it is destroyed with work pending. Each
// test that stops or freezes a server starts its own.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/poll.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tiers/postgres/postgres_tier.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using std::chrono::steady_clock;

double MillisSince(steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
}

template <class T, class Start>
T Await(Start start, std::chrono::milliseconds bound = 20s) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> answer = promise->get_future();
  start([promise](T value) { promise->set_value(std::move(value)); });
  if (answer.wait_for(bound) != std::future_status::ready) FAIL("no answer within the bound");
  return answer.get();
}

Status Ping(Tier& tier) {
  return Await<Status>([&](auto done) { tier.Ping(done); });
}

Result<TierEntry> Get(Tier& tier, const std::string& key) {
  return Await<Result<TierEntry>>([&](auto done) { tier.Get(key, done); });
}

Status Set(Tier& tier, const std::string& key, const std::string& value) {
  return Await<Status>([&](auto done) {
    tier.Set(TierWrite{key, std::make_shared<const std::string>(value), {}, 60s}, done);
  });
}

PostgresTierOptions Options(const std::string& dsn) {
  PostgresTierOptions o;
  o.dsn = dsn;
  o.table = "entries";
  o.pool_size = 2;
  o.connect_timeout = 1s;
  o.command_timeout = 500ms;
  o.sweep_interval = 1h;
  return o;
}

std::unique_ptr<Tier> MakeTier(PostgresTierOptions options) {
  auto made = MakePostgresTier(std::move(options));
  REQUIRE(made.ok());
  return std::move(*made);
}

std::unique_ptr<Tier> ConnectedTier(PostgresTierOptions options) {
  std::unique_ptr<Tier> tier = MakeTier(std::move(options));
  REQUIRE(PollUntil([&] { return Ping(*tier).ok(); }, 20s));
  return tier;
}

// Counts answers, for callbacks that may still come after the test has stopped waiting.
struct Answers {
  std::atomic<int> count{0};
  std::atomic<int> unavailable{0};
  void Record(const Status& s) {
    if (s.code() == StatusCode::kUnavailable) unavailable.fetch_add(1);
    count.fetch_add(1);
  }
};

TEST_CASE("WithPostgresStoppedOperationsFailAtOnceAndTheTierIsBackWithinTwoSecondsOfARestart",
          "[postgres]") {
  PostgresServer server;
  std::unique_ptr<Tier> tier = ConnectedTier(Options(server.dsn()));
  REQUIRE(Set(*tier, "k", "kept").ok());

  server.Stop();
  // The idle connections hear the server's goodbye; from then on nothing waits.
  std::this_thread::sleep_for(200ms);
  for (int i = 0; i < 5; ++i) {
    const auto started = steady_clock::now();
    const Result<TierEntry> r = Get(*tier, "k");
    const double ms = MillisSince(started);
    INFO("attempt " << i << " took " << ms << " ms: " << r.status().message());
    CHECK(r.status().code() == StatusCode::kUnavailable);
    CHECK_THAT(r.status().message(), Contains("127.0.0.1:" + std::to_string(server.port())));
    CHECK(ms < 50);
    std::this_thread::sleep_for(100ms);
  }
  CHECK(Ping(*tier).code() == StatusCode::kUnavailable);

  server.Start();
  const auto restarted = steady_clock::now();
  const bool back = PollUntil([&] { return Get(*tier, "k").ok(); }, 5s);
  INFO("served again " << MillisSince(restarted) << " ms after the restart");
  CHECK(back);
  CHECK(MillisSince(restarted) < 2000);
  CHECK(Get(*tier, "k")->value == "kept");
}

TEST_CASE("ATierMadeWhilePostgresIsDownStartsAndConnectsOnceItIsUp", "[postgres]") {
  PostgresServer server;
  server.Stop();
  const auto made = steady_clock::now();
  std::unique_ptr<Tier> tier = MakeTier(Options(server.dsn()));
  CHECK(MillisSince(made) < 100);
  const Status down = Ping(*tier);
  CHECK(down.code() == StatusCode::kUnavailable);
  CHECK_THAT(down.message(), Contains("127.0.0.1:" + std::to_string(server.port())));

  server.Start();
  CHECK(PollUntil([&] { return Ping(*tier).ok(); }, 3s));
  CHECK(Set(*tier, "k", "v").ok());
  CHECK(server.Psql("SELECT count(*) FROM entries") == "1");
}

TEST_CASE("AServerThatNeverAnswersCostsAnOperationAtMostTheCommandTimeout", "[postgres]") {
  // Accepts connections (the kernel completes them) and never reads or answers.
  PortHolder hung;
  PostgresTierOptions options =
      Options("host=127.0.0.1 port=" + std::to_string(hung.port()) + " dbname=x");
  options.connect_timeout = 300ms;
  options.command_timeout = 300ms;
  std::unique_ptr<Tier> tier = MakeTier(options);
  for (int i = 0; i < 3; ++i) {
    const auto started = steady_clock::now();
    CHECK_FALSE(Ping(*tier).ok());
    CHECK_FALSE(Get(*tier, "k").ok());
    const Result<uint64_t> cleared = Await<Result<uint64_t>>([&](auto done) { tier->Clear(done); });
    CHECK_FALSE(cleared.ok());
    CHECK(MillisSince(started) < 3 * 300 + 200);
    std::this_thread::sleep_for(200ms);
  }
  // Its threads are waiting for the connection: destruction does not wait with them.
  const auto destroying = steady_clock::now();
  tier.reset();
  CHECK(MillisSince(destroying) < 200);
}

TEST_CASE("AFrozenPostgresFailsAnOperationInFlightAfterTheCommandTimeout", "[postgres]") {
  PostgresServer server;
  PostgresTierOptions options = Options(server.dsn());
  options.pool_size = 1;
  std::unique_ptr<Tier> tier = ConnectedTier(options);
  REQUIRE(Set(*tier, "k", "v").ok());

  server.Pause();
  auto started = steady_clock::now();
  const Result<TierEntry> r = Get(*tier, "k");
  const double ms = MillisSince(started);
  INFO("took " << ms << " ms: " << r.status().message());
  CHECK(r.status().code() == StatusCode::kDeadlineExceeded);
  CHECK(ms >= 450);
  CHECK(ms < 800);
  // The connection was dropped and a new one cannot be made: no more waiting.
  started = steady_clock::now();
  CHECK(Get(*tier, "k").status().code() == StatusCode::kUnavailable);
  CHECK(MillisSince(started) < 50);

  server.Resume();
  started = steady_clock::now();
  CHECK(PollUntil([&] { return Get(*tier, "k").ok(); }, 5s));
  INFO("back " << MillisSince(started) << " ms after the resume");
  CHECK(MillisSince(started) < options.connect_timeout / 1ms + 1500);
}

TEST_CASE("OperationsBeyondMaxQueuedFailAtOnce", "[postgres]") {
  PostgresServer server;
  PostgresTierOptions options = Options(server.dsn());
  options.pool_size = 1;
  options.max_queued = 5;
  options.command_timeout = 3s;
  std::unique_ptr<Tier> tier = ConnectedTier(options);
  server.Pause();
  auto answers = std::make_shared<Answers>();
  const auto record = [answers](Status s) { answers->Record(s); };
  tier->Ping(record);
  std::this_thread::sleep_for(50ms);  // taken by the connection's thread: in flight
  for (int i = 0; i < 5; ++i) tier->Ping(record);
  const auto started = steady_clock::now();
  const Status refused = Ping(*tier);
  CHECK(MillisSince(started) < 20);
  CHECK(refused.code() == StatusCode::kUnavailable);
  CHECK_THAT(refused.message(), Contains("waiting"));
  CHECK(answers->count.load() == 0);
  tier.reset();
  CHECK(answers->count.load() == 6);
  server.Resume();
}

TEST_CASE("DestroyingTheTierAnswersEveryPendingOperationAndThenNoMore", "[postgres]") {
  PostgresServer server;
  PostgresTierOptions options = Options(server.dsn());
  options.command_timeout = 10s;
  std::unique_ptr<Tier> tier = ConnectedTier(options);
  server.Pause();  // everything sent from now on stays pending
  auto answers = std::make_shared<Answers>();
  const auto record = [answers](const auto& r) {
    if constexpr (requires { r.status(); }) {
      answers->Record(r.status());
    } else {
      answers->Record(r);
    }
  };
  for (int i = 0; i < 20; ++i) {
    tier->Get("k" + std::to_string(i), record);
    tier->Set(TierWrite{"k", std::make_shared<const std::string>("v"), {}, 1s}, record);
    tier->InvalidateTags({"t"}, record);
  }
  auto pattern = KeyPattern::Compile("^k");
  REQUIRE(pattern.ok());
  tier->InvalidateMatching(*pattern, record);
  tier->Clear(record);
  std::this_thread::sleep_for(100ms);
  CHECK(answers->count.load() == 0);

  const auto destroying = steady_clock::now();
  tier.reset();
  CHECK(MillisSince(destroying) < 500);
  CHECK(answers->count.load() == 62);
  CHECK(answers->unavailable.load() == 62);
  std::this_thread::sleep_for(100ms);
  CHECK(answers->count.load() == 62);
  server.Resume();
}

TEST_CASE("ATableDroppedUnderneathTheTierIsCreatedAgain", "[postgres]") {
  PostgresServer server;
  std::unique_ptr<Tier> tier = ConnectedTier(Options(server.dsn()));
  REQUIRE(Set(*tier, "k", "v").ok());
  server.Psql("DROP TABLE entries");
  const Result<TierEntry> r = Get(*tier, "k");
  CHECK(r.status().code() == StatusCode::kUnavailable);
  CHECK_THAT(r.status().message(), Contains("relation \"entries\" does not exist"));
  CHECK(PollUntil([&] { return Set(*tier, "k", "again").ok(); }, 3s));
  CHECK(Get(*tier, "k")->value == "again");
}

TEST_CASE("InvalidOptionsAreRejectedWithTheSettingNamed", "[postgres]") {
  const auto error_of = [](auto change) {
    PostgresTierOptions o;
    change(o);
    auto made = MakePostgresTier(o);
    REQUIRE_FALSE(made.ok());
    CHECK(made.status().code() == StatusCode::kInvalidArgument);
    return made.status().message();
  };
  for (const char* table : {"", "Entries", "1st", "drop table", "a-b", "entries;"}) {
    INFO(table);
    CHECK_THAT(error_of([&](auto& o) { o.table = table; }), Contains("table"));
  }
  CHECK_THAT(error_of([](auto& o) { o.table = std::string(57, 'a'); }), Contains("56"));
  CHECK(MakePostgresTier([] {
          PostgresTierOptions o;
          o.table = std::string(56, 'a');
          o.dsn = "host=127.0.0.1 port=1";
          return o;
        }())
            .ok());
  CHECK_THAT(error_of([](auto& o) { o.pool_size = 0; }), Contains("pool_size"));
  CHECK_THAT(error_of([](auto& o) { o.command_timeout = 0s; }), Contains("command_timeout"));
  CHECK_THAT(error_of([](auto& o) { o.connect_timeout = -1s; }), Contains("connect_timeout"));
  CHECK_THAT(error_of([](auto& o) { o.sweep_interval = 0s; }), Contains("sweep_interval"));
  CHECK_THAT(error_of([](auto& o) { o.sweep_batch = 0; }), Contains("sweep_batch"));
  CHECK_THAT(error_of([](auto& o) { o.max_queued = 0; }), Contains("max_queued"));
  CHECK_THAT(error_of([](auto& o) { o.dsn = "nonsense"; }), Contains("dsn"));
  CHECK_THAT(error_of([](auto& o) { o.dsn = "postgresql://[::1:5432/db"; }), Contains("dsn"));
}

}  // namespace
}  // namespace tiercache::test
