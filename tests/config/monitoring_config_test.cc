// The `monitoring:` section: defaults, key patterns as written, and the errors that stop a
// start.

#include <catch2/catch.hpp>

#include "tests/config/load_yaml.h"

namespace tiercache::config {
namespace {

TEST_CASE("MonitoringIsOnByDefaultWithBoundedPatternSeries", "[config][monitoring]") {
  const Config c = Load("");
  CHECK(c.monitoring.enabled);
  CHECK(c.monitoring.key_patterns.empty());
  CHECK(c.monitoring.max_patterns == 100);
  CHECK(c.monitoring.miss_history == 16384);
}

TEST_CASE("MonitoringKeyPatternsLoadInOrder", "[config][monitoring]") {
  const Config c = Load(R"(monitoring:
  enabled: false
  max_patterns: 10
  miss_history: 0
  key_patterns:
    - {name: profile, match: "^user:[0-9]+:profile$"}
    - {name: user, match: "^user:"}
)");
  CHECK_FALSE(c.monitoring.enabled);
  CHECK(c.monitoring.max_patterns == 10);
  CHECK(c.monitoring.miss_history == 0);
  REQUIRE(c.monitoring.key_patterns.size() == 2);
  CHECK(c.monitoring.key_patterns[0].name == "profile");
  CHECK(c.monitoring.key_patterns[0].pattern->Matches("user:42:profile"));
  CHECK_FALSE(c.monitoring.key_patterns[0].pattern->Matches("user:42:settings"));
  CHECK(c.monitoring.key_patterns[1].pattern->pattern() == "^user:");
}

TEST_CASE("BadMonitoringSettingsStopTheStartWithTheirPosition", "[config][monitoring]") {
  using Catch::Matchers::Contains;
  CHECK_THAT(ErrorOf("monitoring:\n  key_patterns:\n    - {name: a, match: \"(\"}\n"),
             Contains("test.yaml:3:") && Contains("missing )"));
  CHECK_THAT(ErrorOf("monitoring:\n  key_patterns:\n    - {name: a}\n"),
             Contains("test.yaml:3:") && Contains("needs a name and a match"));
  CHECK_THAT(ErrorOf("monitoring:\n  key_patterns:\n    - {name: a, match: x}\n"
                     "    - {name: a, match: y}\n"),
             Contains("two key patterns are named 'a'"));
  CHECK_THAT(ErrorOf("monitoring:\n  max_patterns: 1\n"),
             Contains("test.yaml:2:") && Contains("between 2 and 1000"));
  CHECK_THAT(ErrorOf("monitoring:\n  max_patterns: 2\n  key_patterns:\n"
                     "    - {name: a, match: x}\n    - {name: b, match: y}\n"),
             Contains("max_patterns must exceed the number of key_patterns"));
  CHECK_THAT(ErrorOf("monitoring:\n  enabled: maybe\n"), Contains("test.yaml:2:"));
  CHECK_THAT(ErrorOf("monitoring:\n  sampling: 1\n"), Contains("unknown key"));
}

}  // namespace
}  // namespace tiercache::config
