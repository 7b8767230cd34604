// The standard process families of /metrics, read from /proc.

#include "server/exposition/process_metrics.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <sstream>
#include <string>

namespace tiercache {
namespace {

// A real line of /proc/self/stat with the name replaced: utime 250, stime 50, starttime
// 1218416 ticks, vsize 3133440 bytes, rss 356 pages.
std::string StatLine(std::string_view name) {
  return "18841 (" + std::string(name) +
         ") R 18839 18839 4773 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1 0 1218416 3133440 356 "
         "18446744073709551615 94708993384448 94708993404329 140729262301728 0 0 0 0 0 0 0 0 0 "
         "17 1 0 0 0 0 0 94708993420336 94708993421952 94709011410944 140729262307978 "
         "140729262307998 140729262307998 140729262309355 0\n";
}

// The value of the one unlabelled sample `name` in `text`; fails the test if absent.
double Sample(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
  }
  FAIL("no sample " << name << " in:\n" << text);
  return 0;
}

TEST_CASE("ProcessMetrics: ReadsCpuMemoryAndStartFromAStatLine", "[process]") {
  const auto stat = ParseProcStat(StatLine("tiercached"), 100, 4096);
  REQUIRE(stat.has_value());
  CHECK(stat->cpu_seconds == Approx(3.0));
  CHECK(stat->virtual_bytes == 3133440u);
  CHECK(stat->resident_bytes == 356u * 4096u);
  CHECK(stat->started_after_boot_seconds == Approx(12184.16));
}

TEST_CASE("ProcessMetrics: ANameWithSpacesAndParenthesesDoesNotShiftTheFields", "[process]") {
  const auto stat = ParseProcStat(StatLine("a) b (c) 1 2"), 100, 4096);
  REQUIRE(stat.has_value());
  CHECK(stat->cpu_seconds == Approx(3.0));
  CHECK(stat->resident_bytes == 356u * 4096u);
}

TEST_CASE("ProcessMetrics: ACutShortOrNonNumericLineIsNotParsed", "[process]") {
  CHECK_FALSE(ParseProcStat("", 100, 4096).has_value());
  CHECK_FALSE(ParseProcStat("18841 tiercached R 1 2 3", 100, 4096).has_value());
  CHECK_FALSE(
      ParseProcStat("18841 (tiercached) R 18839 18839 4773 0 -1 4194304 100 0 0 0 250", 100, 4096)
          .has_value());
  std::string bad = StatLine("tiercached");
  bad.replace(bad.find(" 250 "), 5, " 2x0 ");
  CHECK_FALSE(ParseProcStat(bad, 100, 4096).has_value());
  CHECK_FALSE(ParseProcStat(StatLine("tiercached"), 0, 4096).has_value());
}

TEST_CASE("ProcessMetrics: ThisProcessReportsEveryStandardFamily", "[process]") {
  std::string text;
  AppendProcessMetrics(text);
  INFO(text);
  for (const char* family :
       {"process_cpu_seconds_total counter", "process_resident_memory_bytes gauge",
        "process_virtual_memory_bytes gauge", "process_start_time_seconds gauge",
        "process_open_fds gauge", "process_max_fds gauge"}) {
    CHECK(text.find(std::string("# TYPE ") + family + "\n") != std::string::npos);
  }
  CHECK(Sample(text, "process_resident_memory_bytes") > 1024 * 1024);
  CHECK(Sample(text, "process_virtual_memory_bytes") >=
        Sample(text, "process_resident_memory_bytes"));
  CHECK(Sample(text, "process_open_fds") >= 3);  // stdin, stdout, stderr
  CHECK(Sample(text, "process_max_fds") >= Sample(text, "process_open_fds"));
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // This test process started a moment ago (boot time has whole-second resolution).
  CHECK(Sample(text, "process_start_time_seconds") <= now + 1);
  CHECK(Sample(text, "process_start_time_seconds") > now - 3600);
}

}  // namespace
}  // namespace tiercache
