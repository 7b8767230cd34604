#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/l1_store.h"
#include "core/limits.h"
#include "core/status.h"

namespace tiercache {

class TieredCache;

// The hot set (HotSetOptions, `l1.hot_set`): on a graceful stop, the entries L1 read most
// are written to a snapshot file; on the next start they are put back into L1 before the
// front ends open, so a restart does not begin with a cold L1.

// One entry of a snapshot file.
struct HotSetEntry {
  std::string key;
  uint32_t reads = 0;
  // Set when the snapshot holds values (an L1-only server: no lower tier to read from).
  bool has_value = false;
  std::string value;
  std::vector<std::string> tags;
  std::string content_type;
  WallTime expires_at;
};

// Namespaces' versions (core/namespaces.h), by name: the entries' keys are stored under
// them, so a start that restores the entries needs the versions too.
using NamespaceVersions = std::vector<std::pair<std::string, uint64_t>>;

struct HotSetSnapshot {
  NamespaceVersions versions;
  std::vector<HotSetEntry> entries;
};

// The snapshot file: a magic line, the namespace versions, the entry count, the entries
// (varints and length-prefixed bytes, core/byte_codec.h) and a 64-bit FNV-1a checksum of all
// before it. Written to a temporary file that is synced and then renamed over `path`, so a
// crash while writing leaves the previous file or none, never half of one.
Status WriteHotSetFile(const std::string& path, const std::vector<L1HotEntry>& entries,
                       bool with_values, TimePoint now, WallTime wall_now,
                       const NamespaceVersions& versions = {});
// kNotFound when there is no file; kInvalidArgument for one that is truncated, corrupt or
// of another format.
Result<HotSetSnapshot> ReadHotSetFile(const std::string& path);

// What a start did with the snapshot a graceful stop left.
struct HotSetReport {
  std::string path;
  bool from_values = false;  // from the snapshot's values, not read through the lower tiers
  uint64_t in_snapshot = 0;
  uint64_t restored = 0;  // put back into L1
  uint64_t missing = 0;   // expired meanwhile, or held by no tier any more
  uint64_t failed = 0;    // refused (limits), a tier error, or not back within the time bound
  bool timed_out = false;
  Duration took{0};
  std::string error;  // set when the snapshot could not be read: nothing was restored
  NamespaceVersions versions;  // as the stop left them
};

// Writes up to options.max_keys of L1's most read entries to options.path; with
// `with_values` (no lower tier holds them) their values, tags and content types too.
// Returns how many it wrote.
Result<size_t> SaveHotSet(const L1Store& l1, const Clock& clock, const HotSetOptions& options,
                          bool with_values, const NamespaceVersions& versions = {});

// Reads the snapshot at options.path and removes the file (a snapshot is used once: after
// a crash, an older one must not bring back values changed since), then puts its entries
// back into L1: read through the lower tiers when there are any (so L1 gets what they hold
// now), else from the snapshot's values with the lifetime they had left. Entries beyond
// `limits`, or past options.restore_timeout, are left out. nullopt when there is no file.
std::optional<HotSetReport> RestoreHotSet(TieredCache& cache, const Clock& clock,
                                          const HotSetOptions& options, const Limits& limits);

}  // namespace tiercache
