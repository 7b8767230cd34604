#include "config/units.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <string>

namespace tiercache::config {
namespace {

using namespace std::chrono_literals;

// The error message of a parse expected to fail, or "" if it succeeded.
template <typename T>
std::string ErrorOf(const Result<T>& result) {
  return result.ok() ? "" : result.status().message();
}

TEST_CASE("ParsesDurationInEveryUnit", "[config][units]") {
  CHECK(ParseDuration("250ms").value() == 250ms);
  CHECK(ParseDuration("30s").value() == 30s);
  CHECK(ParseDuration("2m").value() == 2min);
  CHECK(ParseDuration("1.5h").value() == 90min);
  CHECK(ParseDuration("365d").value() == std::chrono::hours(24 * 365));
  CHECK(ParseDuration("0.5ms").value() == 500us);
  CHECK(ParseDuration("10 s").value() == 10s);
}

TEST_CASE("ReadsBareDurationNumberAsSeconds", "[config][units]") {
  CHECK(ParseDuration("60").value() == 60s);
  CHECK(ParseDuration("0.25").value() == 250ms);
  CHECK(ParseDuration("0").value() == 0s);
}

TEST_CASE("DropsDurationFractionsBelowANanosecond", "[config][units]") {
  CHECK(ParseDuration("1.0000000019s").value() == 1'000'000'001ns);
}

TEST_CASE("RejectsMalformedDuration", "[config][units]") {
  for (const char* text : {"", "abc", "10x", "10 ms x", "1e3", ".5s", "5.s", "5S", "s", "1h30m"}) {
    INFO(text);
    CHECK_THAT(ErrorOf(ParseDuration(text)), Catch::Contains("expected a duration"));
  }
}

TEST_CASE("RejectsNegativeDuration", "[config][units]") {
  CHECK(ErrorOf(ParseDuration("-5s")) == "a duration must not be negative, got '-5s'");
}

TEST_CASE("RejectsDurationBeyondTheClockRange", "[config][units]") {
  CHECK_THAT(ErrorOf(ParseDuration("1000000d")), Catch::StartsWith("duration too large"));
  CHECK_THAT(ErrorOf(ParseDuration("99999999999999999999")), Catch::Contains("expected"));
}

TEST_CASE("ParsesSizeInEveryUnit", "[config][units]") {
  CHECK(ParseSize("512").value() == 512);
  CHECK(ParseSize("512B").value() == 512);
  CHECK(ParseSize("2KB").value() == 2'000);
  CHECK(ParseSize("3MB").value() == 3'000'000);
  CHECK(ParseSize("4GB").value() == 4'000'000'000);
  CHECK(ParseSize("1KiB").value() == 1024);
  CHECK(ParseSize("8MiB").value() == uint64_t{8} << 20);
  CHECK(ParseSize("1GiB").value() == uint64_t{1} << 30);
  CHECK(ParseSize("1.5KiB").value() == 1536);
  CHECK(ParseSize("0.5GB").value() == 500'000'000);
  CHECK(ParseSize("16 MiB").value() == uint64_t{16} << 20);
}

TEST_CASE("RejectsMalformedSize", "[config][units]") {
  for (const char* text : {"", "abc", "1kb", "1TB", "1 KiB B", "1e6", "KiB"}) {
    INFO(text);
    CHECK_THAT(ErrorOf(ParseSize(text)), Catch::Contains("expected a size"));
  }
}

TEST_CASE("RejectsSizeThatIsNotAWholeNumberOfBytes", "[config][units]") {
  CHECK(ErrorOf(ParseSize("1.5B")) == "a size must be a whole number of bytes, got '1.5B'");
  CHECK(ErrorOf(ParseSize("0.0001KiB")) ==
        "a size must be a whole number of bytes, got '0.0001KiB'");
}

TEST_CASE("RejectsNegativeOrOverflowingSize", "[config][units]") {
  CHECK(ErrorOf(ParseSize("-1")) == "a size must not be negative, got '-1'");
  CHECK_THAT(ErrorOf(ParseSize("20000000000GiB")), Catch::StartsWith("size too large"));
}

TEST_CASE("ParsesCountsUpTo64Bits", "[config][units]") {
  CHECK(ParseCount("0").value() == 0);
  CHECK(ParseCount("10000").value() == 10000);
  CHECK(ParseCount("18446744073709551615").value() == UINT64_MAX);
  CHECK(ErrorOf(ParseCount("18446744073709551616")) == "number too large: '18446744073709551616'");
}

TEST_CASE("RejectsCountThatIsNotANonNegativeInteger", "[config][units]") {
  for (const char* text : {"", "-1", "1.5", "abc", "+1", "1KiB", " 1"}) {
    INFO(text);
    CHECK_THAT(ErrorOf(ParseCount(text)), Catch::StartsWith("expected a non-negative integer"));
  }
}

TEST_CASE("FormatsDurationsSoTheyReadBack", "[config][units]") {
  CHECK(FormatDuration(300s) == "300s");
  CHECK(FormatDuration(250ms) == "250ms");
  CHECK(FormatDuration(1500ns) == "0.0000015s");
  CHECK(FormatDuration(1'000'000'001ns) == "1.000000001s");
  for (Duration d : {Duration(0s), Duration(365 * 24h), Duration(250ms), Duration(1500ns)}) {
    CHECK(ParseDuration(FormatDuration(d)).value() == d);
  }
}

}  // namespace
}  // namespace tiercache::config
