#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tiercache {

// What /proc/self/stat says about this process, in the units Prometheus uses.
struct ProcStat {
  double cpu_seconds = 0;  // user + system time
  uint64_t virtual_bytes = 0;
  uint64_t resident_bytes = 0;
  double started_after_boot_seconds = 0;
};

// Parses the one line of /proc/<pid>/stat. `ticks_per_second` is sysconf(_SC_CLK_TCK),
// `page_size` sysconf(_SC_PAGESIZE). nullopt if the line is cut short or a field is not a
// number. The command name (second field) may hold spaces and parentheses.
std::optional<ProcStat> ParseProcStat(std::string_view text, long ticks_per_second, long page_size);

// Appends Prometheus's standard process families, under the names every exporter uses so
// that stock dashboards and alerts apply to tiercached: process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes, process_start_time_seconds,
// process_open_fds, process_max_fds. Read from /proc on each call (Linux); a family whose
// source cannot be read is left out rather than reported as 0. Thread-safe.
void AppendProcessMetrics(std::string& out);

}  // namespace tiercache
