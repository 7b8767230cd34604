#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tiercache {

// Who sent a request: a front end, by the name it gives itself ("http", "grpc", "resp"),
// or the daemon itself ("internal": the database change feed, scheduled jobs). A small id,
// so that metrics index fixed arrays with it and recording a request takes no lock; the
// names are process-wide. A new front end names itself and needs no change here or in the
// metrics. Thread-safe.
class Frontend {
 public:
  // Front ends a process can name, "internal" included.
  static constexpr size_t kMax = 8;

  // The daemon's own requests. Also what a default-constructed Frontend is.
  static Frontend Internal() { return Frontend(0); }
  // The id of `name`, given on first use and the same ever after. Naming more than kMax
  // distinct front ends is a programming error: it aborts.
  static Frontend Named(std::string_view name);
  // How many front ends have been named so far; their ids are 0 to Count() - 1, in the
  // order they were first named ("internal" is 0).
  static size_t Count();
  static Frontend At(size_t index) { return Frontend(static_cast<uint8_t>(index)); }

  constexpr Frontend() = default;
  size_t index() const { return index_; }
  std::string_view name() const;

  friend bool operator==(Frontend a, Frontend b) { return a.index_ == b.index_; }

 private:
  explicit constexpr Frontend(uint8_t index) : index_(index) {}

  uint8_t index_ = 0;
};

}  // namespace tiercache
