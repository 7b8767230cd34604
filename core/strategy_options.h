#pragma once

#include <memory>
#include <vector>

#include "core/key_pattern.h"

#include <cstdint>

#include "core/adaptive_ttl.h"
#include "core/clock.h"

namespace tiercache {

enum class StrategyKind : uint8_t { kTtl, kAdaptive };

// The `strategies:` section in YAML.
struct StrategyOptions {
  // Lifetime of an entry set without a timeout of its own.
  Duration default_timeout = std::chrono::seconds(300);
  // Strategy of an entry set without naming one.
  StrategyKind default_strategy = StrategyKind::kTtl;
  AdaptiveOptions adaptive;
  // Longest lifetime a request may ask for.
  Duration max_timeout = std::chrono::hours(24 * 365);
  // Negative caching: a read of a key that no tier has, if the key matches `match`, is
  // remembered as absent in L1 for `ttl`, so that reads of it meanwhile are answered "not
  // found" without asking the lower tiers. The first rule the key matches counts.
  struct NegativeRule {
    std::shared_ptr<const KeyPattern> match;
    Duration ttl;
  };
  std::vector<NegativeRule> negative;
};

}  // namespace tiercache
