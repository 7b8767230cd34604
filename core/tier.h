#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/key_pattern.h"
#include "core/status.h"

namespace tiercache {

// A lower cache tier behind L1 (Redis, PostgreSQL, and later compositions of them).
// Implementations live in tiers/; core composes them without knowing which is which.
//
// Thread-safety: every method may be called from many threads at once.
// Blocking: methods may block on network I/O; callers keep them off front-end I/O threads.
// Errors: a backend failure is kUnavailable with the backend's message; a tier never
// throws.
class Tier {
 public:
  struct Entry {
    std::string value;
    std::vector<std::string> tags;
    Duration ttl_left;  // lifetime remaining in this tier
  };

  enum class State : uint8_t { kUp, kDegraded, kDown };
  struct Health {
    State state = State::kUp;
    std::string last_error;
    Duration round_trip{0};
  };

  virtual ~Tier() = default;

  // The tier's name as shown in status and the X-Cache-Tier header ("L2", "L3").
  virtual std::string_view name() const = 0;

  // REQUIRES: key is non-empty. kNotFound on a miss.
  virtual Result<Entry> Get(std::string_view key) = 0;
  // Stores or replaces `key` with a lifetime of `ttl` (> 0) in this tier.
  virtual Status Set(std::string_view key, std::string_view value,
                     const std::vector<std::string>& tags, Duration ttl) = 0;
  // Removes `key`; returns whether it was present.
  virtual Result<bool> Delete(std::string_view key) = 0;
  // Removes every entry carrying any of `tags`; returns how many.
  virtual Result<uint64_t> InvalidateTags(const std::vector<std::string>& tags) = 0;
  // Removes every entry whose key matches `pattern`; returns how many.
  virtual Result<uint64_t> InvalidateMatching(const KeyPattern& pattern) = 0;
  // Removes everything this tier holds for this server's namespace.
  virtual Result<uint64_t> Clear() = 0;
  virtual Health CheckHealth() = 0;
};

}  // namespace tiercache
