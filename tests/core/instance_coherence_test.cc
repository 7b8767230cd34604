// Unit tests of InstanceCoherence over a bus the test drives by hand: what L1 keeps, and
// for how long, before the first subscription, while subscribed and after a break.

#include "core/instance_coherence.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/core/status_printer.h"
#include "tests/core/sync_service.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;
using test::Await;

// Delivers nothing by itself: the test reports subscription changes and messages.
class ManualBus final : public CoherenceBus {
 public:
  void Start(std::function<void(CoherenceMessage)> on_message,
             std::function<void(bool)> on_state) override {
    on_message_ = std::move(on_message);
    on_state_ = std::move(on_state);
  }
  void Publish(const CoherenceMessage&, std::function<void(Status)> done) override {
    if (done) done(Status::Unavailable("not connected"));
  }
  void Report(bool subscribed) { on_state_(subscribed); }
  void Deliver(CoherenceMessage m) { on_message_(std::move(m)); }

 private:
  std::function<void(CoherenceMessage)> on_message_;
  std::function<void(bool)> on_state_;
};

// L1 alone (factor 0.1) on a fake clock, kept coherent with max_staleness 1 s.
class InstanceCoherenceTest {
 protected:
  InstanceCoherenceTest() {
    L1Options o;
    o.shards = 2;
    o.max_entries = 1000;
    o.max_bytes = 1 << 20;
    o.ttl_factor = 0.1;
    l1_ = std::make_unique<L1Store>(o, AdaptiveOptions{}, clock_);
    cache_ = std::make_unique<TieredCache>(*l1_, 0.1, std::vector<TieredCache::LowerTier>{},
                                           TierHealthOptions{}, clock_);
    auto bus = std::make_unique<ManualBus>();
    bus_ = bus.get();
    coherence_ = std::make_unique<InstanceCoherence>(
        *cache_, std::move(bus), CoherenceOptions{"self", std::chrono::seconds(1)});
    coherence_->Start();
  }

  Status Set(const std::string& key, Duration timeout = 300s) {
    TieredWrite w{key, std::make_shared<const std::string>("v"), {},
                  Lifetime{Lifetime::Kind::kFixed, timeout}};
    return Await<Status>([&](auto done) { cache_->Set(std::move(w), std::move(done)); });
  }
  Result<Hit> Get(const std::string& key) {
    return Await<Result<Hit>>([&](auto done) { cache_->Get(key, std::move(done)); });
  }

  FakeClock clock_;
  ManualBus* bus_ = nullptr;  // owned by coherence_
  std::unique_ptr<L1Store> l1_;
  std::unique_ptr<TieredCache> cache_;
  std::unique_ptr<InstanceCoherence> coherence_;
};

TEST_CASE_METHOD(InstanceCoherenceTest,
                 "InstanceCoherence: AWriteBeforeTheFirstSubscriptionOutlivesItsFailedAttempt",
                 "[coherence]") {
  // Nothing is subscribed yet: the write lives max_staleness in L1, not 30 s.
  REQUIRE(Set("k").ok());
  // The first attempt fails (a hung or absent Redis): nothing was ever heard, so nothing
  // was missed that L1's capped entries do not already allow for.
  bus_->Report(false);
  const Result<Hit> hit = Get("k");
  REQUIRE(hit.ok());
  CHECK(hit->tier == "L1");
  CHECK(hit->ttl_left <= Duration(1s));
  CHECK(coherence_->stats().breaks == 0);
  // And the cap still holds.
  clock_.Advance(1001ms);
  CHECK(Get("k").status().code() == StatusCode::kNotFound);
}

TEST_CASE_METHOD(InstanceCoherenceTest,
                 "InstanceCoherence: ALostSubscriptionEmptiesL1AndCapsWhatItTakesInUntilBack",
                 "[coherence]") {
  bus_->Report(true);
  REQUIRE(Set("old").ok());
  REQUIRE(Get("old")->ttl_left == Duration(30s));

  bus_->Report(false);  // messages may have been lost: what L1 held may be stale
  CHECK(Get("old").status().code() == StatusCode::kNotFound);
  CHECK(coherence_->stats().breaks == 1);
  REQUIRE(Set("new").ok());
  CHECK(Get("new")->ttl_left == Duration(1s));

  bus_->Report(true);
  REQUIRE(Set("later").ok());
  CHECK(Get("later")->ttl_left == Duration(30s));
  CHECK(Get("new").ok());  // what L1 took in while unsubscribed stays, capped
}

TEST_CASE_METHOD(InstanceCoherenceTest,
                 "InstanceCoherence: AChangeFromAnotherInstanceRemovesItFromL1ButOwnAreIgnored",
                 "[coherence]") {
  bus_->Report(true);
  REQUIRE(Set("a").ok());
  REQUIRE(Set("b").ok());
  bus_->Deliver(CoherenceMessage{CoherenceMessage::Kind::kKeys, "self", {"a", "b"}});
  CHECK(Get("a").ok());
  bus_->Deliver(CoherenceMessage{CoherenceMessage::Kind::kKeys, "other", {"a"}});
  CHECK(Get("a").status().code() == StatusCode::kNotFound);
  CHECK(Get("b").ok());
  CHECK(coherence_->stats().received == 1);
}

}  // namespace
}  // namespace tiercache
