#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace tiercache {

// `namespaces:`: key prefixes with a version, applied by the server (Django's KEY_PREFIX
// and VERSION, the seed's `v1:user:123:profile`).
struct NamespaceConfig {
  std::string name;    // what requests name ([A-Za-z0-9_.-], at most 64 bytes)
  std::string prefix;  // every key of the namespace is stored under it; default "NAME:"
  uint64_t version = 1;  // the version a first start begins with
};

// What status shows of one namespace.
struct NamespaceStatus {
  std::string name;
  std::string prefix;
  uint64_t version = 0;
  uint64_t reads = 0;
  uint64_t hits = 0;
  uint64_t writes = 0;
  uint64_t deletes = 0;
  uint64_t bumps = 0;  // versions moved on by this instance or, heard of, by others
  std::optional<WallTime> bumped_at;
};

// The configured namespaces and their current versions. A key `k` of namespace N is stored
// as N.prefix + "v" + version + ":" + k, so that moving N to its next version makes every
// entry stored under an older one unreachable at once, in every tier, without touching
// them: they age out by their lifetimes and eviction. Versions only go up. Thread-safe;
// the set of namespaces is fixed at construction.
class Namespaces {
 public:
  // REQUIRES: `configs` valid (config/ checks names and that no prefix starts another).
  explicit Namespaces(std::vector<NamespaceConfig> configs = {});
  ~Namespaces();

  bool empty() const { return spaces_.empty(); }
  size_t size() const { return spaces_.size(); }
  // The index of namespace `name`, if configured.
  std::optional<size_t> Find(std::string_view name) const;
  const std::string& name(size_t index) const;

  // What every key of namespace `index` is stored under at its current version.
  std::string Scope(size_t index) const;
  std::string StoredKey(size_t index, std::string_view key) const {
    return Scope(index) + std::string(key);
  }
  // The namespace whose prefix `stored_key` starts with (whatever its version), for the
  // statistics.
  std::optional<size_t> Owner(std::string_view stored_key) const;

  uint64_t version(size_t index) const;
  // Moves namespace `index` to `version` if that is newer; true if it moved.
  bool RaiseTo(size_t index, uint64_t version, WallTime now);

  // Statistics, by the namespace owning the stored key (no-op for keys of none).
  void CountRead(std::string_view stored_key, bool hit);
  void CountWrite(std::string_view stored_key);
  void CountDelete(std::string_view stored_key);

  std::vector<NamespaceStatus> Status() const;
  // Every namespace's name and version, for the hot set snapshot.
  std::vector<std::pair<std::string, uint64_t>> Versions() const;

 private:
  struct Space;
  std::vector<std::unique_ptr<Space>> spaces_;
};

}  // namespace tiercache
