// The coherence bus over a real Redis: what one instance publishes reaches every bus on the
// channel (its own too), in order and byte for byte; a stopped or hung Redis is reported
// within about two seconds and the subscription comes back by itself; a bus never makes its
// owner wait for Redis, not even when destroyed.

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/coherence_bus.h"
#include "tests/core/status_printer.h"
#include "tests/support/poll.h"
#include "tests/support/redis_server.h"
#include "tiers/redis/redis_coherence_bus.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using Catch::Matchers::Contains;
using Kind = CoherenceMessage::Kind;
using std::chrono::steady_clock;

double MsSince(steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
}

std::unique_ptr<CoherenceBus> MakeBus(const std::string& url,
                                      const std::string& channel = "tiercache:coherence") {
  RedisCoherenceOptions o;
  o.url = url;
  o.channel = channel;
  o.connect_timeout = 500ms;
  o.command_timeout = 250ms;
  auto bus = MakeRedisCoherenceBus(o);
  REQUIRE(bus.ok());
  return std::move(*bus);
}

CoherenceMessage Keys(std::string origin, std::vector<std::string> keys) {
  CoherenceMessage m;
  m.kind = Kind::kKeys;
  m.origin = std::move(origin);
  m.items = std::move(keys);
  return m;
}

// What a bus delivered, with its subscription states in order.
class Inbox {
 public:
  void Start(CoherenceBus& bus) {
    bus.Start(
        [this](CoherenceMessage m) {
          std::lock_guard lock(mu_);
          messages_.push_back(std::move(m));
        },
        [this](bool subscribed) {
          std::lock_guard lock(mu_);
          states_.push_back(subscribed);
        });
  }

  std::vector<CoherenceMessage> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  size_t message_count() {
    std::lock_guard lock(mu_);
    return messages_.size();
  }
  std::vector<bool> states() {
    std::lock_guard lock(mu_);
    return states_;
  }
  // Whether the last state reported is `subscribed`.
  bool Is(bool subscribed) {
    std::lock_guard lock(mu_);
    return !states_.empty() && states_.back() == subscribed;
  }

 private:
  std::mutex mu_;
  std::vector<CoherenceMessage> messages_;
  std::vector<bool> states_;
};

// Publishes and waits for the outcome; a lost callback fails the test instead of hanging it.
Status SyncPublish(CoherenceBus& bus, const CoherenceMessage& m) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> outcome = promise->get_future();
  bus.Publish(m, [promise](Status s) { promise->set_value(std::move(s)); });
  if (outcome.wait_for(10s) != std::future_status::ready) {
    throw std::runtime_error("Publish did not answer within 10 s");
  }
  return outcome.get();
}

// A started bus with its inbox, subscribed.
struct Member {
  explicit Member(const std::string& url) : bus(MakeBus(url)) {
    inbox.Start(*bus);
    REQUIRE(PollUntil([&] { return inbox.Is(true); }, 5s));
  }
  // Declared first: destroyed after the bus, whose thread writes to it.
  Inbox inbox;
  std::unique_ptr<CoherenceBus> bus;
};

TEST_CASE("RedisCoherence: EveryBusOnTheChannelReceivesWhatOnePublishes", "[redis][coherence]") {
  RedisServer server;
  Member a(server.url());
  Member b(server.url());
  REQUIRE(SyncPublish(*a.bus, Keys("a", {"k1", "k2"})).ok());
  for (Member* m : {&a, &b}) {
    REQUIRE(PollUntil([&] { return m->inbox.message_count() == 1; }, 2s));
    const CoherenceMessage got = m->inbox.messages()[0];
    CHECK(got.kind == Kind::kKeys);
    CHECK(got.origin == "a");
    CHECK(got.items == std::vector<std::string>{"k1", "k2"});
  }
  CHECK(a.inbox.states() == std::vector<bool>{true});
  CHECK(b.inbox.states() == std::vector<bool>{true});
}

TEST_CASE("RedisCoherence: EveryKindIsDelivered", "[redis][coherence]") {
  RedisServer server;
  Member a(server.url());
  for (Kind kind : {Kind::kKeys, Kind::kTags, Kind::kPattern, Kind::kClear}) {
    CoherenceMessage m;
    m.kind = kind;
    m.origin = "a";
    if (kind != Kind::kClear) m.items = {"x"};
    REQUIRE(SyncPublish(*a.bus, m).ok());
  }
  REQUIRE(PollUntil([&] { return a.inbox.message_count() == 4; }, 2s));
  const auto got = a.inbox.messages();
  CHECK(got[0].kind == Kind::kKeys);
  CHECK(got[1].kind == Kind::kTags);
  CHECK(got[2].kind == Kind::kPattern);
  CHECK(got[3].kind == Kind::kClear);
  CHECK(got[3].items.empty());
}

TEST_CASE("RedisCoherence: MessagesArriveInPublishOrder", "[redis][coherence]") {
  RedisServer server;
  Member a(server.url());
  Member b(server.url());
  constexpr int kMessages = 2000;
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  int failed = 0;
  // Without waiting between them: they are pipelined on the publishing connection.
  for (int i = 0; i < kMessages; ++i) {
    a.bus->Publish(Keys("a", {"k" + std::to_string(i)}), [&](Status s) {
      std::lock_guard lock(mu);
      if (!s.ok()) ++failed;
      ++answered;
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, 10s, [&] { return answered == kMessages; }));
    CHECK(failed == 0);
  }
  for (Member* m : {&a, &b}) {
    REQUIRE(PollUntil([&] { return m->inbox.message_count() == kMessages; }, 5s));
    const auto got = m->inbox.messages();
    for (int i = 0; i < kMessages; ++i) {
      INFO("message " << i);
      REQUIRE(got[i].items == std::vector<std::string>{"k" + std::to_string(i)});
    }
  }
}

TEST_CASE("RedisCoherence: BinaryKeysSurvive", "[redis][coherence]") {
  RedisServer server;
  Member a(server.url());
  Member b(server.url());
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte.push_back(static_cast<char>(c));
  const std::vector<std::string> keys = {"\0"s, "a\0b"s, "\xff"s, "\r\n$3\r\n"s, every_byte, ""};
  REQUIRE(SyncPublish(*a.bus, Keys("\0origin\xff"s, keys)).ok());
  REQUIRE(PollUntil([&] { return b.inbox.message_count() == 1; }, 2s));
  const CoherenceMessage got = b.inbox.messages()[0];
  CHECK(got.origin == "\0origin\xff"s);
  CHECK(got.items == keys);
}

TEST_CASE("RedisCoherence: UndecodableMessagesOnTheChannelAreSkipped", "[redis][coherence]") {
  RedisServer server;
  Member a(server.url());
  server.Cli({"PUBLISH", "tiercache:coherence", "not a coherence message"});
  server.Cli({"PUBLISH", "tiercache:coherence", ""});
  REQUIRE(SyncPublish(*a.bus, Keys("a", {"k"})).ok());
  REQUIRE(PollUntil([&] { return a.inbox.message_count() == 1; }, 2s));
  std::this_thread::sleep_for(100ms);
  const auto got = a.inbox.messages();
  REQUIRE(got.size() == 1);
  CHECK(got[0].items == std::vector<std::string>{"k"});
  CHECK(a.inbox.Is(true));
}

TEST_CASE("RedisCoherence: BusesOnOtherChannelsHearNothing", "[redis][coherence]") {
  RedisServer server;
  Member a(server.url());
  Inbox other_inbox;
  auto other = MakeBus(server.url(), "elsewhere");
  other_inbox.Start(*other);
  REQUIRE(PollUntil([&] { return other_inbox.Is(true); }, 5s));
  REQUIRE(SyncPublish(*a.bus, Keys("a", {"k"})).ok());
  REQUIRE(PollUntil([&] { return a.inbox.message_count() == 1; }, 2s));
  std::this_thread::sleep_for(100ms);
  CHECK(other_inbox.message_count() == 0);
  other.reset();
}

TEST_CASE("RedisCoherence: APasswordProtectedRedisIsSubscribedWithAuth", "[redis][coherence]") {
  RedisServer server({"--requirepass", "s3cret"});
  const std::string url = "redis://:s3cret@127.0.0.1:" + std::to_string(server.port());
  Member a(url);
  REQUIRE(SyncPublish(*a.bus, Keys("a", {"k"})).ok());
  REQUIRE(PollUntil([&] { return a.inbox.message_count() == 1; }, 2s));

  // A wrong password: the subscription is reported not made, once, and publishing fails.
  Inbox inbox;
  auto wrong = MakeBus("redis://:wrong@127.0.0.1:" + std::to_string(server.port()));
  inbox.Start(*wrong);
  REQUIRE(PollUntil([&] { return inbox.Is(false); }, 2s));
  std::this_thread::sleep_for(300ms);  // a few more attempts
  CHECK(inbox.states() == std::vector<bool>{false});
  const Status s = SyncPublish(*wrong, Keys("w", {"k"}));
  CHECK(s.code() == StatusCode::kUnavailable);
  wrong.reset();
}

TEST_CASE("RedisCoherence: WithNoRedisTheFirstAttemptIsReportedOnceAndPublishFailsAtOnce",
          "[redis][coherence]") {
  const uint16_t port = PickFreePorts(1)[0];  // nothing listens there
  const std::string url = "redis://127.0.0.1:" + std::to_string(port);
  Inbox inbox;
  auto bus = MakeBus(url);
  inbox.Start(*bus);
  REQUIRE(PollUntil([&] { return inbox.Is(false); }, 2s));
  // The publishing connection's first attempt has failed by now too.
  REQUIRE(PollUntil(
      [&] { return SyncPublish(*bus, Keys("a", {"k"})).code() == StatusCode::kUnavailable; }, 2s));
  const auto start = steady_clock::now();
  const Status s = SyncPublish(*bus, Keys("a", {"k"}));
  INFO("publish took " << MsSince(start) << " ms: " << s.message());
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK_THAT(s.message(), Contains("127.0.0.1:" + std::to_string(port)));
  CHECK(MsSince(start) < 50);
  std::this_thread::sleep_for(1200ms);  // several failed attempts later
  CHECK(inbox.states() == std::vector<bool>{false});
}

TEST_CASE("RedisCoherence: AStoppedRedisIsReportedAndTheSubscriptionReturnsWithIt",
          "[redis][coherence]") {
  RedisServer server;
  Member a(server.url());
  Member b(server.url());

  server.Stop();
  const auto stopped = steady_clock::now();
  REQUIRE(PollUntil([&] { return a.inbox.Is(false) && b.inbox.Is(false); }, 2s));
  INFO("reported " << MsSince(stopped) << " ms after Redis stopped");
  REQUIRE(PollUntil(
      [&] { return SyncPublish(*a.bus, Keys("a", {"k"})).code() == StatusCode::kUnavailable; },
      2s));
  for (int i = 0; i < 10; ++i) {
    const auto start = steady_clock::now();
    const Status s = SyncPublish(*a.bus, Keys("a", {"k"}));
    INFO("publish " << i << " took " << MsSince(start) << " ms: " << s.message());
    CHECK(s.code() == StatusCode::kUnavailable);
    CHECK(MsSince(start) < 50);
  }
  std::this_thread::sleep_for(1500ms);  // let the backoff grow to its cap
  CHECK(a.inbox.states() == std::vector<bool>{true, false});

  server.Start();
  const auto back = steady_clock::now();
  REQUIRE(PollUntil([&] { return a.inbox.Is(true) && b.inbox.Is(true); }, 5s));
  INFO("subscribed again " << MsSince(back) << " ms after Redis returned");
  CHECK(MsSince(back) < 2000);
  CHECK(a.inbox.states() == std::vector<bool>{true, false, true});
  REQUIRE(PollUntil([&] { return SyncPublish(*b.bus, Keys("b", {"again"})).ok(); }, 5s));
  for (Member* m : {&a, &b}) {
    REQUIRE(PollUntil(
        [&] {
          const auto got = m->inbox.messages();
          return !got.empty() && got.back().items == std::vector<std::string>{"again"};
        },
        2s));
  }
}

TEST_CASE("RedisCoherence: APausedRedisIsReportedWithinTwoSecondsAndTheSubscriptionReturns",
          "[redis][coherence]") {
  RedisServer server;
  Member a(server.url());

  server.Pause();
  const auto paused = steady_clock::now();
  // Nothing is published: the keep-alive PING alone must notice.
  REQUIRE(PollUntil([&] { return a.inbox.Is(false); }, 3s));
  const double took = MsSince(paused);
  INFO("reported " << took << " ms after Redis paused");
  CHECK(took < 2000);
  // A publication times out or fails; it never waits longer than the command timeout.
  const auto start = steady_clock::now();
  const Status s = SyncPublish(*a.bus, Keys("a", {"k"}));
  CHECK_FALSE(s.ok());
  CHECK(MsSince(start) < 250 + 250);

  server.Resume();
  const auto resumed = steady_clock::now();
  REQUIRE(PollUntil([&] { return a.inbox.Is(true); }, 5s));
  INFO("subscribed again " << MsSince(resumed) << " ms after Redis resumed");
  CHECK(MsSince(resumed) < 2000);
  CHECK(a.inbox.states() == std::vector<bool>{true, false, true});
  REQUIRE(PollUntil([&] { return SyncPublish(*a.bus, Keys("a", {"again"})).ok(); }, 5s));
  REQUIRE(PollUntil([&] { return a.inbox.message_count() >= 1; }, 2s));
  CHECK(a.inbox.messages().back().items == std::vector<std::string>{"again"});
}

TEST_CASE("RedisCoherence: DestroyingABusWhileRedisIsPausedReturnsWithinASecond",
          "[redis][coherence]") {
  RedisServer server;
  auto member = std::make_unique<Member>(server.url());
  server.Pause();
  std::mutex mu;
  int answered = 0;
  for (int i = 0; i < 100; ++i) {
    member->bus->Publish(Keys("a", {"k"}), [&](Status s) {
      std::lock_guard lock(mu);
      ++answered;
    });
  }
  std::this_thread::sleep_for(50ms);  // everything is in flight or queued
  const auto start = steady_clock::now();
  member->bus.reset();
  const double took = MsSince(start);
  INFO("destruction took " << took << " ms");
  CHECK(took < 1000);
  std::lock_guard lock(mu);
  CHECK(answered == 100);
  server.Resume();
}

TEST_CASE("RedisCoherence: DestroyingABusWhileItConnectsToAHungServerReturnsPromptly",
          "[redis][coherence]") {
  PortHolder hung;  // accepts connections (the kernel does) and never reads
  Inbox inbox;
  auto bus = MakeBus("redis://127.0.0.1:" + std::to_string(hung.port()));
  inbox.Start(*bus);
  REQUIRE(PollUntil([&] { return inbox.Is(false); }, 2s));
  std::this_thread::sleep_for(100ms);
  const auto start = steady_clock::now();
  bus.reset();
  CHECK(MsSince(start) < 1000);
}

TEST_CASE("RedisCoherence: BadOptionsAreRejectedWithTheSettingNamed", "[redis][coherence]") {
  const auto rejected = [](auto change) {
    RedisCoherenceOptions o;
    change(o);
    auto bus = MakeRedisCoherenceBus(o);
    REQUIRE_FALSE(bus.ok());
    CHECK(bus.status().code() == StatusCode::kInvalidArgument);
    return bus.status().message();
  };
  CHECK_THAT(rejected([](auto& o) { o.channel = ""; }), Contains("channel"));
  CHECK_THAT(rejected([](auto& o) { o.database = -1; }), Contains("database"));
  CHECK_THAT(rejected([](auto& o) { o.connect_timeout = Duration::zero(); }),
             Contains("connect_timeout"));
  CHECK_THAT(rejected([](auto& o) { o.command_timeout = Duration::zero(); }),
             Contains("command_timeout"));
  CHECK_THAT(rejected([](auto& o) { o.url = "http://localhost"; }), Contains("redis://"));
  CHECK_THAT(rejected([](auto& o) { o.url = "rediss://localhost"; }), Contains("TLS"));
  CHECK_THAT(rejected([](auto& o) { o.url = "redis://localhost:99999"; }), Contains("port"));
}

TEST_CASE("RedisCoherence: MakingABusDoesNotWaitForRedis", "[redis][coherence]") {
  RedisCoherenceOptions o;
  o.url = "redis://192.0.2.1:6379";  // TEST-NET-1: never answers
  o.connect_timeout = 5s;
  Inbox inbox;
  const auto started = steady_clock::now();
  auto bus = MakeRedisCoherenceBus(o);
  REQUIRE(bus.ok());
  inbox.Start(**bus);
  CHECK(MsSince(started) < 100);
  const auto destroying = steady_clock::now();
  bus->reset();
  CHECK(MsSince(destroying) < 1000);
}

}  // namespace
}  // namespace tiercache::test
