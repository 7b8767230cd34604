#pragma once

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
};

}  // namespace tiercache
