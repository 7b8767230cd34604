#include "core/process_memory.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <string>

namespace tiercache {

Result<uint64_t> ParseStatmResidentBytes(std::string_view statm, uint64_t page_size) {
  // The first field is the total program size; the resident set is the second.
  const size_t space = statm.find(' ');
  if (space == std::string_view::npos) {
    return Status::InvalidArgument("statm has one field: '" + std::string(statm) + "'");
  }
  const std::string_view rest = statm.substr(space + 1);
  uint64_t pages = 0;
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), pages);
  if (error != std::errc() || end == rest.data()) {
    return Status::InvalidArgument("statm's second field is not a number: '" +
                                   std::string(statm) + "'");
  }
  return pages * page_size;
}

Result<uint64_t> ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && text.empty()) return Status::Internal("cannot read /proc/self/statm");
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (page_size <= 0) return Status::Internal("sysconf(_SC_PAGESIZE) failed");
  auto bytes = ParseStatmResidentBytes(text, static_cast<uint64_t>(page_size));
  if (!bytes.ok()) return Status::Internal(bytes.status().message());
  return bytes;
}

}  // namespace tiercache
