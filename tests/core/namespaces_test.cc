// Unit tests of namespaces and versions: keys stored under prefix + version, a bump making
// every older entry unreachable in L1 and in a lower tier at once, the version kept in the
// lower tier's counter (and refused, changing nothing, while it is down), scoped patterns,
// model rules applied in every namespace, versions heard from other instances, and the
// per-namespace statistics.

#include "core/namespaces.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "core/cache_service.h"
#include "core/key_pattern.h"
#include "core/scheduled_invalidations.h"
#include "tests/core/fake_tier.h"
#include "tests/core/status_printer.h"
#include "tests/core/sync_service.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;
using test::Await;

TEST_CASE("Namespaces: AKeyIsStoredUnderThePrefixAndTheCurrentVersion", "[namespaces]") {
  Namespaces spaces({{"app", "app:", 3}, {"api", "api|", 1}});
  REQUIRE(spaces.Find("app") == 0u);
  CHECK_FALSE(spaces.Find("nope"));
  CHECK(spaces.StoredKey(0, "user:1") == "app:v3:user:1");
  CHECK(spaces.StoredKey(1, "user:1") == "api|v1:user:1");
  CHECK(spaces.Owner("app:v1:old") == 0u);
  CHECK(spaces.Owner("api|v9:x") == 1u);
  CHECK_FALSE(spaces.Owner("user:1"));
  // Versions only go up.
  CHECK(spaces.RaiseTo(0, 5, WallTime()));
  CHECK_FALSE(spaces.RaiseTo(0, 4, WallTime()));
  CHECK(spaces.StoredKey(0, "user:1") == "app:v5:user:1");
  CHECK(spaces.Status()[0].bumps == 1);
}

TEST_CASE("Namespaces: AScopedPatternAnchorsWhereTheClientsKeyBegins", "[namespaces]") {
  auto p = KeyPattern::Compile("^user:[0-9]+$", "app:v2:");
  REQUIRE(p.ok());
  CHECK((*p)->Matches("app:v2:user:42"));
  CHECK_FALSE((*p)->Matches("app:v1:user:42"));  // another version
  CHECK_FALSE((*p)->Matches("user:42"));          // no namespace
  CHECK_FALSE((*p)->Matches("app:v2:xuser:42"));
  CHECK((*p)->scope() == "app:v2:");
  CHECK((*p)->Copy()->Matches("app:v2:user:7"));
  auto anywhere = KeyPattern::Compile("profile", "app:v2:");
  REQUIRE(anywhere.ok());
  CHECK((*anywhere)->Matches("app:v2:user:1:profile"));
  CHECK_FALSE((*anywhere)->Matches("api:v2:user:1:profile"));
}

TEST_CASE("Namespaces: AStoredJobKeepsItsNamespaceAndOneWithoutReadsAsBefore",
          "[namespaces]") {
  InvalidateRequest r;
  r.keys = {"k"};
  r.pattern = "^user:";
  const std::string plain = EncodeInvalidateRequest(r);
  r.ns = "app";
  const std::string scoped = EncodeInvalidateRequest(r);
  CHECK(scoped.size() > plain.size());
  auto back = DecodeInvalidateRequest(scoped);
  REQUIRE(back.ok());
  CHECK(back->ns == "app");
  CHECK(back->keys == std::vector<std::string>{"k"});
  back = DecodeInvalidateRequest(plain);
  REQUIRE(back.ok());
  CHECK(back->ns.empty());
  CHECK_FALSE(DecodeInvalidateRequest(scoped + "x").ok());
  CHECK_FALSE(DecodeInvalidateRequest(plain + std::string(1, '\0')).ok());
}

class NamespacedServiceTest {
 protected:
  NamespacedServiceTest() {
    L1Options l1;
    l1.shards = 4;
    l1.max_entries = 10'000;
    l1.max_bytes = 1 << 24;
    l1_ = std::make_unique<L1Store>(l1, AdaptiveOptions{}, Clock::System());
    auto l2 = std::make_unique<test::FakeTier>("L2");
    l2_ = l2.get();
    std::vector<TieredCache::LowerTier> tiers;
    tiers.push_back({std::move(l2), LowerTierOptions{}});
    cache_ = std::make_unique<TieredCache>(*l1_, 1.0, std::move(tiers), TierHealthOptions{},
                                           Clock::System());
    ServiceOptions options;
    options.namespaces = {{"app", "app:", 1}, {"api", "api:", 1}};
    ModelRule rule;
    rule.model = "auth.User";
    rule.keys = {"user:{id}"};
    rule.patterns = {"^user:{id}:"};
    options.model_rules = *ModelRules::Make({rule});
    service_ = std::make_unique<CacheService>(std::move(options), *cache_);
  }

  std::string Key(const std::string& ns, const std::string& key) {
    auto stored = service_->NamespacedKey(ns, key);
    REQUIRE(stored.ok());
    return *stored;
  }
  Status Put(const std::string& ns, const std::string& key, const std::string& value) {
    SetRequest r;
    r.key = Key(ns, key);
    r.value = value;
    return test::SyncSet(*service_, Frontend::Internal(), std::move(r));
  }
  Result<Hit> Read(const std::string& ns, const std::string& key) {
    return test::SyncGet(*service_, Frontend::Internal(), Key(ns, key));
  }
  Result<NamespaceStatus> Bump(const std::string& ns) {
    return Await<Result<NamespaceStatus>>(
        [&](auto done) { service_->BumpNamespace(Frontend::Internal(), ns, done); });
  }
  Result<InvalidateResult> Invalidate(InvalidateRequest r) {
    return Await<Result<InvalidateResult>>(
        [&](auto done) { service_->Invalidate(Frontend::Internal(), r, done); });
  }

  std::unique_ptr<L1Store> l1_;
  test::FakeTier* l2_ = nullptr;
  std::unique_ptr<TieredCache> cache_;
  std::unique_ptr<CacheService> service_;
};

TEST_CASE_METHOD(NamespacedServiceTest,
                 "Namespaces: ABumpMakesEveryOlderEntryUnreachableInEveryTierAtOnce",
                 "[namespaces][service]") {
  REQUIRE(service_->LoadNamespaceVersions(5s).ok());
  for (int i = 0; i < 100; ++i) REQUIRE(Put("app", "k" + std::to_string(i), "old").ok());
  REQUIRE(Put("api", "k0", "other namespace").ok());
  REQUIRE(Put("", "k0", "no namespace").ok());
  CHECK(l2_->Peek("app:v1:k0"));
  CHECK(*Read("app", "k0")->value == "old");

  auto bumped = Bump("app");
  REQUIRE(bumped.ok());
  CHECK(bumped->version == 2);
  CHECK(l2_->Counter("namespace-version:app") == 2);
  for (int i = 0; i < 100; ++i) {
    // Neither L1 nor L2 is asked for the old entries: their keys are never named again.
    REQUIRE(Read("app", "k" + std::to_string(i)).status().code() == StatusCode::kNotFound);
  }
  CHECK(l2_->Peek("app:v1:k0"));  // left to age out
  CHECK(*Read("api", "k0")->value == "other namespace");
  CHECK(*Read("", "k0")->value == "no namespace");
  REQUIRE(Put("app", "k0", "new").ok());
  CHECK(*Read("app", "k0")->value == "new");
  CHECK(l2_->Peek("app:v2:k0")->value == "new");

  const NamespaceStatus app = service_->ListNamespaces()[0];
  CHECK(app.version == 2);
  CHECK(app.bumps == 1);
  CHECK(app.writes == 101);
  CHECK(app.reads == 102);
  CHECK(app.hits == 2);
  CHECK(app.bumped_at.has_value());
}

TEST_CASE_METHOD(NamespacedServiceTest,
                 "Namespaces: TheVersionComesFromTheLowerTierAndABumpIsRefusedWhileItIsDown",
                 "[namespaces][service]") {
  // Another instance (or the last run) moved app to 7.
  REQUIRE(Await<Result<int64_t>>([&](auto done) {
            l2_->AddToCounter("namespace-version:app", 7, done);
          }).ok());
  REQUIRE(service_->LoadNamespaceVersions(5s).ok());
  CHECK(service_->ListNamespaces()[0].version == 7);
  // A tier that never heard of api learns its configured version.
  CHECK(service_->ListNamespaces()[1].version == 1);
  CHECK(Key("app", "k") == "app:v7:k");

  l2_->failing = true;
  auto refused = Bump("app");
  CHECK(refused.status().code() == StatusCode::kUnavailable);
  CHECK_THAT(refused.status().message(), Catch::Contains("kept in tier L2"));
  CHECK(service_->ListNamespaces()[0].version == 7);  // nothing changed
  l2_->failing = false;
}

TEST_CASE_METHOD(NamespacedServiceTest, "Namespaces: AnUnknownNamespaceIsNotFound",
                 "[namespaces][service]") {
  CHECK(service_->NamespacedKey("nope", "k").status().code() == StatusCode::kNotFound);
  CHECK(Bump("nope").status().code() == StatusCode::kNotFound);
  InvalidateRequest r;
  r.ns = "nope";
  r.keys = {"k"};
  CHECK(Invalidate(r).status().code() == StatusCode::kNotFound);
}

TEST_CASE_METHOD(NamespacedServiceTest,
                 "Namespaces: KeysAndPatternsOfARequestStayInItsNamespace",
                 "[namespaces][service]") {
  for (const std::string ns : {"app", "api", ""}) {
    REQUIRE(Put(ns, "user:1:profile", "p").ok());
    REQUIRE(Put(ns, "user:2", "u").ok());
  }
  InvalidateRequest by_pattern;
  by_pattern.ns = "app";
  by_pattern.pattern = "^user:1:";
  auto r = Invalidate(by_pattern);
  REQUIRE(r.ok());
  CHECK(r->by_pattern == 1);
  CHECK(Read("app", "user:1:profile").status().code() == StatusCode::kNotFound);
  CHECK(Read("api", "user:1:profile").ok());
  CHECK(Read("", "user:1:profile").ok());
  CHECK_FALSE(l2_->Peek("app:v1:user:1:profile"));
  CHECK(l2_->Peek("api:v1:user:1:profile"));

  InvalidateRequest by_key;
  by_key.ns = "api";
  by_key.keys = {"user:2"};
  REQUIRE(Invalidate(by_key)->by_keys == 1);
  CHECK(Read("api", "user:2").status().code() == StatusCode::kNotFound);
  CHECK(Read("app", "user:2").ok());
}

TEST_CASE_METHOD(NamespacedServiceTest, "Namespaces: AModelInvalidationAppliesInEveryNamespace",
                 "[namespaces][service]") {
  for (const std::string ns : {"app", "api", ""}) {
    REQUIRE(Put(ns, "user:1", "u").ok());
    REQUIRE(Put(ns, "user:1:profile", "p").ok());
    REQUIRE(Put(ns, "user:2", "other").ok());
  }
  InvalidateRequest r;
  r.model = ModelInvalidation{"auth.User", ModelEvent::kSave, {{"id", "1"}}};
  REQUIRE(Invalidate(r).ok());
  for (const std::string ns : {"app", "api", ""}) {
    INFO("namespace '" << ns << "'");
    CHECK(Read(ns, "user:1").status().code() == StatusCode::kNotFound);
    CHECK(Read(ns, "user:1:profile").status().code() == StatusCode::kNotFound);
    CHECK(Read(ns, "user:2").ok());
  }
}

TEST_CASE_METHOD(NamespacedServiceTest, "Namespaces: AVersionAnotherInstanceMovedToIsTakenUp",
                 "[namespaces][service]") {
  service_->ApplyRemoteNamespaceVersion(
      CoherenceMessage{CoherenceMessage::Kind::kNamespace, "other", {"api", "9"}});
  CHECK(service_->ListNamespaces()[1].version == 9);
  // Older news, malformed ones and unknown namespaces change nothing.
  service_->ApplyRemoteNamespaceVersion(
      CoherenceMessage{CoherenceMessage::Kind::kNamespace, "other", {"api", "4"}});
  service_->ApplyRemoteNamespaceVersion(
      CoherenceMessage{CoherenceMessage::Kind::kNamespace, "other", {"api", "x"}});
  service_->ApplyRemoteNamespaceVersion(
      CoherenceMessage{CoherenceMessage::Kind::kNamespace, "other", {"zzz", "12"}});
  CHECK(service_->ListNamespaces()[1].version == 9);
  CHECK(service_->ListNamespaces()[0].version == 1);
}

TEST_CASE("Namespaces: WithL1AloneABumpMovesTheVersionHere", "[namespaces][service]") {
  L1Options l1_options;
  l1_options.shards = 1;
  L1Store l1(l1_options, AdaptiveOptions{}, Clock::System());
  TieredCache cache(l1, 1.0, {}, TierHealthOptions{}, Clock::System());
  ServiceOptions options;
  options.namespaces = {{"app", "app:", 4}};
  CacheService service(std::move(options), cache);
  REQUIRE(service.LoadNamespaceVersions(1s).ok());  // nothing to read
  auto bumped = Await<Result<NamespaceStatus>>(
      [&](auto done) { service.BumpNamespace(Frontend::Internal(), "app", done); });
  REQUIRE(bumped.ok());
  CHECK(bumped->version == 5);
  CHECK(*service.NamespacedKey("app", "k") == "app:v5:k");
}

}  // namespace
}  // namespace tiercache
