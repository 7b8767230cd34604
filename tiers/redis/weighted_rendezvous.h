#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace tiercache::redis {

// Weighted rendezvous (highest random weight) hashing over a set of nodes: each node scores
// a key as -weight / ln(h), with h the key's hash with the node's name mapped to (0, 1), and
// the key goes to the nodes with the highest scores. Chosen over a Ketama ring because it
// needs no virtual points to be even (shares follow the weights within sampling noise), a
// weight is exact rather than a count of points, and a node added or removed moves only the
// keys it wins or held: about its fair share, the least any scheme can move.
class WeightedRendezvous {
 public:
  struct Node {
    std::string_view name;  // stable across restarts and instances (e.g. host:port)
    double weight = 1.0;    // > 0
  };
  // At least one node; names are kept only as their hashes; weights must be positive
  // (std::invalid_argument otherwise: a configuration error, found at start-up).
  explicit WeightedRendezvous(const std::vector<Node>& nodes);

  // The indexes (into the constructor's list) of the `count` nodes that own `key`, best
  // first; fewer if there are fewer nodes.
  std::vector<size_t> Owners(std::string_view key, size_t count) const;
  // The first owner.
  size_t Owner(std::string_view key) const;

 private:
  double Score(size_t node, uint64_t key_hash) const;

  std::vector<uint64_t> seeds_;
  std::vector<double> weights_;
};

}  // namespace tiercache::redis
