#include "config/units.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace tiercache::config {
namespace {

using Wide = unsigned __int128;  // holds value × unit without overflow for every unit here

// A non-negative decimal number split exactly into its parts: whole + fraction / scale.
struct Decimal {
  uint64_t whole = 0;
  uint64_t fraction = 0;
  uint64_t scale = 1;  // 10^(digits after the point)
};

// Digits after the point kept exactly; 10^18 still fits in 64 bits.
constexpr int kMaxFractionDigits = 18;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

// Reads "<digits>[.<digits>]" from the front of `text`, advancing it. Fails (nullopt) when no
// number is there or the whole part overflows 64 bits; fraction digits beyond
// kMaxFractionDigits are below any unit's resolution here and are dropped.
std::optional<Decimal> ReadDecimal(std::string_view& text) {
  Decimal d;
  size_t i = 0;
  if (i == text.size() || !IsDigit(text[i])) return std::nullopt;
  for (; i < text.size() && IsDigit(text[i]); ++i) {
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (d.whole > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    d.whole = d.whole * 10 + digit;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (i == text.size() || !IsDigit(text[i])) return std::nullopt;
    for (int kept = 0; i < text.size() && IsDigit(text[i]); ++i) {
      if (kept++ == kMaxFractionDigits) continue;
      d.fraction = d.fraction * 10 + static_cast<uint64_t>(text[i] - '0');
      d.scale *= 10;
    }
  }
  text.remove_prefix(i);
  return d;
}

// The unit that follows the number, allowing spaces in between ("250 ms").
std::string_view ReadUnit(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  return text;
}

Status Expected(std::string_view what, std::string_view text) {
  return Status::InvalidArgument("expected " + std::string(what) + ", got " + Quote(text));
}

constexpr std::string_view kDuration =
    "a duration (seconds, or a number with unit ms, s, m, h or d, e.g. '250ms', '1.5h')";
constexpr std::string_view kSize =
    "a size (bytes, or a number with unit B, KB, MB, GB, KiB, MiB or GiB, e.g. '8MiB')";

}  // namespace

Result<uint64_t> ParseCount(std::string_view text) {
  constexpr std::string_view kCount = "a non-negative integer";
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return Expected(kCount, text);
  }
  uint64_t value = 0;
  const std::from_chars_result parsed =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (parsed.ec != std::errc()) return Status::InvalidArgument("number too large: " + Quote(text));
  return value;
}

Result<Duration> ParseDuration(std::string_view text) {
  if (!text.empty() && text.front() == '-') {
    return Status::InvalidArgument("a duration must not be negative, got " + Quote(text));
  }
  std::string_view rest = text;
  const std::optional<Decimal> d = ReadDecimal(rest);
  if (!d) return Expected(kDuration, text);
  const std::string_view unit = ReadUnit(rest);
  constexpr uint64_t kSecond = 1'000'000'000;
  uint64_t nanos_per_unit = 0;
  if (unit.empty() && rest.empty()) {
    nanos_per_unit = kSecond;  // a bare number is seconds, as in YAML configs of most daemons
  } else if (unit == "ms") {
    nanos_per_unit = kSecond / 1000;
  } else if (unit == "s") {
    nanos_per_unit = kSecond;
  } else if (unit == "m") {
    nanos_per_unit = 60 * kSecond;
  } else if (unit == "h") {
    nanos_per_unit = 3600 * kSecond;
  } else if (unit == "d") {
    nanos_per_unit = 86400 * kSecond;
  } else {
    return Expected(kDuration, text);
  }
  const Wide nanos =
      Wide{d->whole} * nanos_per_unit + Wide{d->fraction} * nanos_per_unit / d->scale;
  if (nanos > static_cast<Wide>(std::numeric_limits<Duration::rep>::max())) {
    return Status::InvalidArgument("duration too large (at most about 292 years): " + Quote(text));
  }
  return Duration(static_cast<Duration::rep>(nanos));
}

Result<uint64_t> ParseSize(std::string_view text) {
  if (!text.empty() && text.front() == '-') {
    return Status::InvalidArgument("a size must not be negative, got " + Quote(text));
  }
  std::string_view rest = text;
  const std::optional<Decimal> d = ReadDecimal(rest);
  if (!d) return Expected(kSize, text);
  const std::string_view unit = ReadUnit(rest);
  uint64_t bytes_per_unit = 0;
  if ((unit.empty() && rest.empty()) || unit == "B") {
    bytes_per_unit = 1;
  } else if (unit == "KB") {
    bytes_per_unit = 1000;
  } else if (unit == "MB") {
    bytes_per_unit = 1000 * 1000;
  } else if (unit == "GB") {
    bytes_per_unit = 1000 * 1000 * 1000;
  } else if (unit == "KiB") {
    bytes_per_unit = uint64_t{1} << 10;
  } else if (unit == "MiB") {
    bytes_per_unit = uint64_t{1} << 20;
  } else if (unit == "GiB") {
    bytes_per_unit = uint64_t{1} << 30;
  } else {
    return Expected(kSize, text);
  }
  const Wide fraction_bytes = Wide{d->fraction} * bytes_per_unit;
  if (fraction_bytes % d->scale != 0) {
    return Status::InvalidArgument("a size must be a whole number of bytes, got " + Quote(text));
  }
  const Wide bytes = Wide{d->whole} * bytes_per_unit + fraction_bytes / d->scale;
  if (bytes > std::numeric_limits<uint64_t>::max()) {
    return Status::InvalidArgument("size too large: " + Quote(text));
  }
  return static_cast<uint64_t>(bytes);
}

std::string FormatDuration(Duration d) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  if (d % seconds(1) == Duration::zero()) {
    return std::to_string(std::chrono::duration_cast<seconds>(d).count()) + "s";
  }
  if (d % milliseconds(1) == Duration::zero()) {
    return std::to_string(std::chrono::duration_cast<milliseconds>(d).count()) + "ms";
  }
  const bool negative = d < Duration::zero();
  // Magnitude as unsigned so that the most negative value does not overflow.
  const uint64_t nanos =
      negative ? uint64_t{0} - static_cast<uint64_t>(d.count()) : static_cast<uint64_t>(d.count());
  std::string fraction = std::to_string(nanos % 1'000'000'000);
  fraction.insert(0, 9 - fraction.size(), '0');
  while (fraction.back() == '0') fraction.pop_back();  // nonzero: d is not whole seconds
  return (negative ? "-" : "") + std::to_string(nanos / 1'000'000'000) + "." + fraction + "s";
}

}  // namespace tiercache::config
