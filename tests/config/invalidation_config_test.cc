// The `invalidation:` section: model rules as written, and the errors that stop a start.

#include <catch2/catch.hpp>

#include "tests/config/load_yaml.h"

namespace tiercache::config {
namespace {

constexpr std::string_view kUserRules = R"(invalidation:
  models:
    - model: auth.User
      on: [save, delete]
      keys: ["user:{id}"]
      tags: ["user:{id}"]
      patterns: ["^user:{id}:.*"]
      related:
        - accounts.Profile
        - {model: auth.Permission, fields: {user_id: "{id}"}}
      cascade: true
    - model: accounts.Profile
      on: [delete]
      keys: ["profile:{id}"]
    - model: auth.Permission
      tags: ["permissions:{user_id}"]
)";

TEST_CASE("ModelRulesLoadAsWritten", "[config][invalidation]") {
  const Config c = Load(kUserRules);
  const ModelRule* user = c.invalidation.models.Find("auth.User");
  REQUIRE(user != nullptr);
  CHECK(user->keys == std::vector<std::string>{"user:{id}"});
  CHECK(user->patterns == std::vector<std::string>{"^user:{id}:.*"});
  CHECK(user->cascade);
  REQUIRE(user->related.size() == 2);
  CHECK(user->related[0].model == "accounts.Profile");
  CHECK(user->related[0].fields.empty());
  CHECK(user->related[1].fields.at("user_id") == "{id}");
  const ModelRule* profile = c.invalidation.models.Find("accounts.Profile");
  REQUIRE(profile != nullptr);
  CHECK(profile->on == std::vector<ModelEvent>{ModelEvent::kDelete});
  // Both events unless `on` says otherwise.
  CHECK(c.invalidation.models.Find("auth.Permission")->on.size() == 2);

  auto expanded = c.invalidation.models.Expand("auth.User", ModelEvent::kSave, {{"id", "7"}});
  REQUIRE(expanded.ok());
  CHECK(expanded->tags == std::vector<std::string>{"user:7", "permissions:7"});
}

TEST_CASE("NoInvalidationSectionMeansNoModelRules", "[config][invalidation]") {
  CHECK(Load("").invalidation.models.empty());
}

TEST_CASE("ModelRuleErrorsStopTheStart", "[config][invalidation]") {
  CHECK(ErrorOf("invalidation:\n  models:\n    - {model: a, related: [b]}\n"
                "    - {model: b, related: [a]}\n") ==
        "test.yaml:3:5: invalidation.models: related models form a cycle: a -> b -> a");
  CHECK(ErrorOf("invalidation:\n  models:\n    - {model: a, related: [c]}\n") ==
        "test.yaml:3:5: invalidation.models: model a: related model c has no rule");
  CHECK(ErrorOf("invalidation:\n  models:\n    - {model: a, on: [update]}\n") ==
        "test.yaml:3:23: invalidation.models[0].on[0]: event must be save or delete, got "
        "'update'");
  CHECK(ErrorOf("invalidation:\n  models:\n    - {keys: [\"k:{id}\"]}\n") ==
        "test.yaml:3:7: invalidation.models[0]: every model rule needs a model");
  CHECK_THAT(ErrorOf("invalidation:\n  models:\n    - {model: a, patterns: [\"^a:{id}:(\"]}\n"),
             Catch::Contains("model a: pattern '^a:{id}:('"));
  CHECK_THAT(ErrorOf("invalidation:\n  models:\n    - {model: a, colour: red}\n"),
             Catch::Contains("unknown key 'colour'"));
}

TEST_CASE("ListenCoherenceAndSchedulerLoadAsWritten", "[config][invalidation]") {
  const Config c = Load(
      "invalidation:\n  listen: {dsn: \"host=db dbname=app\", channel: app_changes}\n"
      "coherence: {enabled: true, url: \"redis://10.0.0.9:6379\", channel: c1,\n"
      "            max_staleness: 250ms, instance_id: web-1}\n"
      "scheduler: {workers: 4}\n");
  REQUIRE(c.invalidation.listen);
  CHECK(c.invalidation.listen->dsn == "host=db dbname=app");
  CHECK(c.invalidation.listen->channel == "app_changes");
  CHECK(c.coherence.enabled == true);
  CHECK(c.coherence.url == "redis://10.0.0.9:6379");
  CHECK(c.coherence.channel == "c1");
  CHECK(c.coherence.max_staleness == std::chrono::milliseconds(250));
  CHECK(c.coherence.instance_id == "web-1");
  CHECK(c.scheduler.workers == 4);

  const Config defaults = Load("");
  CHECK(!defaults.invalidation.listen);
  CHECK(!defaults.coherence.enabled);  // decided by the tiers: on with a Redis tier
  CHECK(defaults.coherence.max_staleness == std::chrono::seconds(1));
  CHECK(defaults.scheduler.workers == 2);
}

TEST_CASE("ListenCoherenceAndSchedulerErrorsNameTheSetting", "[config][invalidation]") {
  CHECK_THAT(ErrorOf("invalidation:\n  listen: {channel: x}\n"),
             Catch::Contains("invalidation.listen: needs a dsn"));
  CHECK_THAT(ErrorOf("invalidation:\n  listen: {dsn: x, channel: Bad-Name}\n"),
             Catch::Contains("invalidation.listen.channel: must be a lower-case SQL identifier"));
  CHECK_THAT(ErrorOf("coherence: {max_staleness: 0s}\n"),
             Catch::Contains("coherence.max_staleness"));
  CHECK_THAT(ErrorOf("scheduler: {workers: 65}\n"),
             Catch::Contains("scheduler.workers: must be at most 64"));
}

}  // namespace
}  // namespace tiercache::config
