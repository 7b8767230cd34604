// Model rules (core/model_rules.h): templates, related models, cascades and the checks
// made when the rules are loaded.

#include "core/model_rules.h"

#include <catch2/catch.hpp>

#include "core/key_pattern.h"
#include "tests/core/status_printer.h"

namespace tiercache {
namespace {

using Strings = std::vector<std::string>;

// The example rules of deploy/tiercache-tiers.yaml: user -> profile, permissions, groups.
std::vector<ModelRule> UserRules(bool cascade) {
  ModelRule user;
  user.model = "auth.User";
  user.keys = {"user:{id}"};
  user.tags = {"user:{id}"};
  user.patterns = {"^user:{id}:.*"};
  user.related = {{"accounts.Profile", {{"user_id", "{id}"}}},
                  {"auth.Permission", {{"user_id", "{id}"}}},
                  {"auth.Group", {{"user_id", "{id}"}}}};
  user.cascade = cascade;
  ModelRule profile;
  profile.model = "accounts.Profile";
  profile.keys = {"profile:{user_id}"};
  profile.related = {{"accounts.Avatar", {}}};
  ModelRule permission;
  permission.model = "auth.Permission";
  permission.tags = {"permissions:user:{user_id}"};
  ModelRule group;
  group.model = "auth.Group";
  group.patterns = {"^groups:user:{user_id}:"};
  ModelRule avatar;
  avatar.model = "accounts.Avatar";
  avatar.keys = {"avatar:{user_id}"};
  return {user, profile, permission, group, avatar};
}

ModelRules Make(std::vector<ModelRule> rules) {
  auto made = ModelRules::Make(std::move(rules));
  REQUIRE(made.ok());
  return std::move(made).value();
}

TEST_CASE("ModelRules: AModelExpandsToItsOwnAndItsRelatedModelsTemplates", "[model_rules]") {
  const ModelRules rules = Make(UserRules(false));
  auto e = rules.Expand("auth.User", ModelEvent::kSave, {{"id", "7"}});
  REQUIRE(e.ok());
  CHECK(e->keys == Strings{"user:7", "profile:7"});
  CHECK(e->tags == Strings{"user:7", "permissions:user:7"});
  CHECK(e->patterns == Strings{"^user:7:.*", "^groups:user:7:"});
  // Without cascade, the profile's own related model is not followed.
  CHECK(e->models == Strings{"auth.User", "accounts.Profile", "auth.Permission", "auth.Group"});
}

TEST_CASE("ModelRules: CascadeFollowsRelatedModelsTransitively", "[model_rules]") {
  const ModelRules rules = Make(UserRules(true));
  auto e = rules.Expand("auth.User", ModelEvent::kDelete, {{"id", "7"}});
  REQUIRE(e.ok());
  CHECK(e->keys == Strings{"user:7", "profile:7", "avatar:7"});
  CHECK(e->models.back() == "auth.Group");
  CHECK(std::find(e->models.begin(), e->models.end(), "accounts.Avatar") != e->models.end());
}

TEST_CASE("ModelRules: AnEventTheModelDoesNotReactToRemovesNothing", "[model_rules]") {
  std::vector<ModelRule> r = UserRules(false);
  r[0].on = {ModelEvent::kDelete};
  const ModelRules rules = Make(std::move(r));
  auto e = rules.Expand("auth.User", ModelEvent::kSave, {{"id", "7"}});
  REQUIRE(e.ok());
  CHECK(e->keys.empty());
  CHECK(e->tags.empty());
  CHECK(e->patterns.empty());
}

TEST_CASE("ModelRules: AModelWithoutARuleIsNotFound", "[model_rules]") {
  const ModelRules rules = Make(UserRules(false));
  auto e = rules.Expand("deals.Deal", ModelEvent::kSave, {{"id", "1"}});
  REQUIRE(!e.ok());
  CHECK(e.status().code() == StatusCode::kNotFound);
}

TEST_CASE("ModelRules: AMissingFieldIsNamed", "[model_rules]") {
  std::vector<ModelRule> r = UserRules(false);
  r[0].keys.push_back("org:{org_id}:user:{id}");
  const ModelRules rules = Make(std::move(r));
  auto e = rules.Expand("auth.User", ModelEvent::kSave, {{"id", "7"}});
  REQUIRE(!e.ok());
  CHECK(e.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(e.status().message(), Catch::Contains("org_id"));
  auto with_org = rules.Expand("auth.User", ModelEvent::kSave, {{"id", "7"}, {"org_id", "3"}});
  REQUIRE(with_org.ok());
  CHECK(std::find(with_org->keys.begin(), with_org->keys.end(), "org:3:user:7") !=
        with_org->keys.end());
}

TEST_CASE("ModelRules: PatternValuesAreQuotedAndRepetitionBracesStayLiteral", "[model_rules]") {
  ModelRule rule;
  rule.model = "m";
  rule.patterns = {"^item:{id}:[0-9]{3}$"};
  const ModelRules rules = Make({rule});
  auto e = rules.Expand("m", ModelEvent::kSave, {{"id", "1.5"}});
  REQUIRE(e.ok());
  REQUIRE(e->patterns.size() == 1);
  auto pattern = KeyPattern::Compile(e->patterns[0]);
  REQUIRE(pattern.ok());
  CHECK((*pattern)->Matches("item:1.5:123"));
  CHECK(!(*pattern)->Matches("item:105:123"));
  CHECK(!(*pattern)->Matches("item:1.5:12"));
}

TEST_CASE("ModelRules: ACycleIsRejectedWithItsPath", "[model_rules]") {
  ModelRule a;
  a.model = "a";
  a.related = {{"b", {}}};
  ModelRule b;
  b.model = "b";
  b.related = {{"a", {}}};
  auto made = ModelRules::Make({a, b});
  REQUIRE(!made.ok());
  CHECK(made.status().message() == "related models form a cycle: a -> b -> a");
}

TEST_CASE("ModelRules: BadRulesAreRejectedWithTheModelNamed", "[model_rules]") {
  ModelRule a;
  a.model = "a";
  SECTION("a related model without a rule") {
    a.related = {{"missing", {}}};
    auto made = ModelRules::Make({a});
    REQUIRE(!made.ok());
    CHECK(made.status().message() == "model a: related model missing has no rule");
  }
  SECTION("a pattern that does not compile") {
    a.patterns = {"^x:{id}:("};
    auto made = ModelRules::Make({a});
    REQUIRE(!made.ok());
    CHECK_THAT(made.status().message(), Catch::StartsWith("model a: pattern '^x:{id}:('"));
  }
  SECTION("two rules for one model") {
    auto made = ModelRules::Make({a, a});
    REQUIRE(!made.ok());
    CHECK(made.status().message() == "model a has two rules");
  }
}

TEST_CASE("ModelRules: EventNamesParse", "[model_rules]") {
  CHECK(*ParseModelEvent("save") == ModelEvent::kSave);
  CHECK(*ParseModelEvent("delete") == ModelEvent::kDelete);
  CHECK(!ParseModelEvent("update").ok());
}

}  // namespace
}  // namespace tiercache
