#include "core/hot_keys.h"

#include <algorithm>

namespace tiercache {

void HotKeys::Record(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(key);
  if (it != counts_.end()) {
    ++it->second;
    return;
  }
  if (counts_.size() >= capacity_) {
    for (auto i = counts_.begin(); i != counts_.end();) {
      i->second /= 2;
      i = i->second == 0 ? counts_.erase(i) : std::next(i);
    }
    if (counts_.size() >= capacity_) return;  // every key is hotter than a new one
  }
  counts_.emplace(key, 1);
}

std::vector<std::string> HotKeys::Top(size_t n) const {
  std::vector<std::pair<uint64_t, std::string>> all;
  {
    std::lock_guard lock(mu_);
    all.reserve(counts_.size());
    for (const auto& [key, count] : counts_) all.emplace_back(count, key);
  }
  n = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> top;
  for (size_t i = 0; i < n; ++i) top.push_back(std::move(all[i].second));
  return top;
}

}  // namespace tiercache
