#include "server/exposition/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <vector>

#include "server/exposition/prometheus_text.h"

namespace tiercache {

namespace {

template <class T>
bool ParseWhole(std::string_view text, T& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Unix time of the boot, the `btime` line of /proc/stat. It cannot change while the
// system runs, so it is read once.
std::optional<uint64_t> BootTime() {
  static const std::optional<uint64_t> boot = []() -> std::optional<uint64_t> {
    std::ifstream in("/proc/stat");
    std::string line;
    while (std::getline(in, line)) {
      uint64_t seconds = 0;
      if (line.starts_with("btime ") && ParseWhole(std::string_view(line).substr(6), seconds)) {
        return seconds;
      }
    }
    return std::nullopt;
  }();
  return boot;
}

// Counts the descriptor the listing itself holds too, as Prometheus's own clients do.
std::optional<uint64_t> OpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  uint64_t n = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}

std::optional<uint64_t> MaxFds() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return std::nullopt;
  }
  return static_cast<uint64_t>(limit.rlim_cur);
}

void AppendOne(std::string& out, std::string_view name, std::string_view type,
               std::string_view help, double value) {
  AppendFamilyHeader(out, name, type, help);
  AppendSample(out, name, "", value);
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view text, long ticks_per_second,
                                      long page_size) {
  if (ticks_per_second <= 0 || page_size <= 0) return std::nullopt;
  // The name is in parentheses and may contain anything, ')' included: the fields
  // proper start after the last one.
  const size_t name_end = text.rfind(')');
  if (name_end == std::string_view::npos) return std::nullopt;
  std::vector<std::string_view> fields;  // fields[0] is field 3 of proc(5), the state
  std::string_view rest = text.substr(name_end + 1);
  while (!rest.empty()) {
    const size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = std::min(rest.find_first_of(" \n"), rest.size());
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  // proc(5) numbers fields from 1; fields[] starts at field 3. rss (24) is the last read.
  if (fields.size() < 24 - 2) return std::nullopt;
  const auto field = [&](size_t number) { return fields[number - 3]; };
  uint64_t utime = 0, stime = 0, starttime = 0, vsize = 0;
  int64_t rss = 0;
  if (!ParseWhole(field(14), utime) || !ParseWhole(field(15), stime) ||
      !ParseWhole(field(22), starttime) || !ParseWhole(field(23), vsize) ||
      !ParseWhole(field(24), rss) || rss < 0) {
    return std::nullopt;
  }
  const auto ticks = static_cast<double>(ticks_per_second);
  ProcStat stat;
  stat.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  stat.virtual_bytes = vsize;
  stat.resident_bytes = static_cast<uint64_t>(rss) * static_cast<uint64_t>(page_size);
  stat.started_after_boot_seconds = static_cast<double>(starttime) / ticks;
  return stat;
}

void AppendProcessMetrics(std::string& out) {
  const std::string text = ReadFile("/proc/self/stat");
  if (const auto stat = ParseProcStat(text, ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE))) {
    AppendOne(out, "process_cpu_seconds_total", "counter",
              "Total user and system CPU time spent in seconds.", stat->cpu_seconds);
    AppendOne(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
              static_cast<double>(stat->resident_bytes));
    AppendOne(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
              static_cast<double>(stat->virtual_bytes));
    if (const auto boot = BootTime()) {
      // Whole seconds: samples that are not integers are printed with 9 significant
      // digits, which would round a Unix time to 10 s.
      AppendOne(out, "process_start_time_seconds", "gauge",
                "Start time of the process since unix epoch in seconds.",
                std::floor(static_cast<double>(*boot) + stat->started_after_boot_seconds));
    }
  }
  if (const auto open = OpenFds()) {
    AppendOne(out, "process_open_fds", "gauge", "Number of open file descriptors.",
              static_cast<double>(*open));
  }
  if (const auto max = MaxFds()) {
    AppendOne(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
              static_cast<double>(*max));
  }
}

}  // namespace tiercache
