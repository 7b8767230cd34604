#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace tiercache::config {

// The scalar grammars of the config file, independent of YAML so that flags and environment
// variables can share them. Each returns kInvalidArgument with a message saying what was
// expected and what was found; callers add the setting's name and position.

// A count: a non-negative decimal integer that fits in 64 bits ("0", "10000").
Result<uint64_t> ParseCount(std::string_view text);

// A duration: a number of seconds ("30", "0.25") or a number with a unit ms, s, m, h or d
// ("250ms", "1.5h", "365d"). Fractions finer than a nanosecond are dropped. Negative and
// out-of-range (beyond about 292 years) values are refused.
Result<Duration> ParseDuration(std::string_view text);

// A size in bytes: an integer ("1024") or a number with a unit B, KB, MB, GB (powers of 1000)
// or KiB, MiB, GiB (powers of 1024): "8MiB", "1.5GB". The result must be a whole number of
// bytes, so "1.5B" is refused.
Result<uint64_t> ParseSize(std::string_view text);

// An exact spelling of `d` that ParseDuration reads back: whole seconds ("300s"), else whole
// milliseconds ("250ms"), else decimal seconds ("0.0000015s"). For messages and for printing
// the effective configuration.
std::string FormatDuration(Duration d);

}  // namespace tiercache::config
