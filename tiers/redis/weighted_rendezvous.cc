#include "tiers/redis/weighted_rendezvous.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace tiercache::redis {

namespace {

// FNV-1a, then a 64-bit finalizer: stable across builds and platforms (unlike std::hash),
// so every instance places a key on the same nodes.
uint64_t StableHash(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;
  for (const char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

}  // namespace

WeightedRendezvous::WeightedRendezvous(const std::vector<Node>& nodes) {
  if (nodes.empty()) throw std::invalid_argument("rendezvous hashing needs at least one node");
  seeds_.reserve(nodes.size());
  weights_.reserve(nodes.size());
  for (const Node& node : nodes) {
    if (!(node.weight > 0) || !std::isfinite(node.weight)) {
      throw std::invalid_argument("a node's weight must be a positive number");
    }
    seeds_.push_back(StableHash(node.name));
    weights_.push_back(node.weight);
  }
}

double WeightedRendezvous::Score(size_t node, uint64_t key_hash) const {
  // h in (0, 1): 53 bits of the mixed pair, never 0 or 1.
  const uint64_t mixed = Mix(key_hash ^ Mix(seeds_[node]));
  const double h = (static_cast<double>(mixed >> 11) + 0.5) / 9007199254740992.0;
  return -weights_[node] / std::log(h);
}

std::vector<size_t> WeightedRendezvous::Owners(std::string_view key, size_t count) const {
  const uint64_t key_hash = StableHash(key);
  std::vector<std::pair<double, size_t>> scored;
  scored.reserve(seeds_.size());
  for (size_t i = 0; i < seeds_.size(); ++i) scored.emplace_back(Score(i, key_hash), i);
  count = std::min(count, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(count),
                    scored.end(), [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  std::vector<size_t> owners;
  owners.reserve(count);
  for (size_t i = 0; i < count; ++i) owners.push_back(scored[i].second);
  return owners;
}

size_t WeightedRendezvous::Owner(std::string_view key) const {
  const uint64_t key_hash = StableHash(key);
  size_t best = 0;
  double best_score = -1;
  for (size_t i = 0; i < seeds_.size(); ++i) {
    const double s = Score(i, key_hash);
    if (s > best_score) {
      best_score = s;
      best = i;
    }
  }
  return best;
}

}  // namespace tiercache::redis
