#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace tiercache {

// The keys read most often from the lower tiers, approximately: counts for at most
// `capacity` keys; when full, every count is halved and the zeros dropped, so keys read
// long ago make room and a key read steadily stays. Thread-safe; lower-tier reads are
// network round trips, so one mutex costs them nothing measurable.
class HotKeys {
 public:
  explicit HotKeys(size_t capacity = 10000) : capacity_(capacity) {}

  void Record(const std::string& key);
  // At most `n` keys, most read first.
  std::vector<std::string> Top(size_t n) const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, uint64_t> counts_;
};

}  // namespace tiercache
