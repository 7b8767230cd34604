#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "tiers/redis/cluster_slot.h"
#include "tiers/redis/weighted_rendezvous.h"

namespace tiercache::redis {
namespace {

TEST_CASE("KeySlotIsRedisClustersCrc16", "[hashing]") {
  // The cluster specification's check value, and what CLUSTER KEYSLOT answers.
  CHECK(KeySlot("123456789") == 0x31C3);
  CHECK(KeySlot("foo") == 12182);
  CHECK(KeySlot("bar") == 5061);
  CHECK(KeySlot("hello") == 866);
  CHECK(KeySlot("") == 0);
}

TEST_CASE("KeysWithOneHashTagShareASlot", "[hashing]") {
  CHECK(KeySlot("{user1000}.following") == KeySlot("{user1000}.followers"));
  CHECK(KeySlot("tiercache:k:{user:42}") == KeySlot("tiercache:t:{user:42}"));
  // The specification's edge cases: the first '{' and the first '}' after it.
  CHECK(HashTag("foo{bar}{zap}") == "bar");
  CHECK(HashTag("foo{{bar}}zap") == "{bar");
  CHECK(HashTag("foo{}{bar}") == "foo{}{bar}");  // empty tag: the whole key
  CHECK(HashTag("foo{bar") == "foo{bar");         // unclosed: the whole key
  CHECK(HashTag("plain") == "plain");
}

std::vector<WeightedRendezvous::Node> Nodes(const std::vector<std::string>& names,
                                            const std::vector<double>& weights) {
  std::vector<WeightedRendezvous::Node> nodes;
  for (size_t i = 0; i < names.size(); ++i) nodes.push_back({names[i], weights[i]});
  return nodes;
}

TEST_CASE("RendezvousSharesFollowTheWeights", "[hashing]") {
  const std::vector<std::string> names{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"};
  const WeightedRendezvous ring(Nodes(names, {1, 1, 2}));
  constexpr int kKeys = 100000;
  std::vector<int> owned(3);
  for (int i = 0; i < kKeys; ++i) ++owned[ring.Owner("user:" + std::to_string(i))];
  INFO("shares " << owned[0] << " " << owned[1] << " " << owned[2]);
  CHECK(std::abs(owned[0] * 100.0 / kKeys - 25) < 3);
  CHECK(std::abs(owned[1] * 100.0 / kKeys - 25) < 3);
  CHECK(std::abs(owned[2] * 100.0 / kKeys - 50) < 3);
}

TEST_CASE("ANewNodeTakesAboutItsFairShareAndNothingElseMoves", "[hashing]") {
  std::vector<std::string> names{"a:6379", "b:6379", "c:6379"};
  const WeightedRendezvous before(Nodes(names, {1, 1, 2}));
  names.push_back("d:6379");
  const WeightedRendezvous after(Nodes(names, {1, 1, 2, 1}));
  constexpr int kKeys = 100000;
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "k" + std::to_string(i);
    const size_t was = before.Owner(key), is = after.Owner(key);
    if (was != is) {
      ++moved;
      CHECK(is == 3);  // a key moves only to the new node
    }
  }
  const double fair = kKeys * 1.0 / 5;  // the new node's weight over all weights
  INFO("moved " << moved << ", fair share " << fair);
  CHECK(moved <= 1.1 * fair);
  CHECK(moved >= 0.9 * fair);
}

TEST_CASE("OwnersAreDistinctBestFirstAndIndependentOfListOrder", "[hashing]") {
  const std::vector<std::string> names{"a", "b", "c", "d"};
  const WeightedRendezvous ring(Nodes(names, {1, 2, 1, 1}));
  const std::vector<std::string> reversed{"d", "c", "b", "a"};
  const WeightedRendezvous other(Nodes(reversed, {1, 1, 2, 1}));
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "key:" + std::to_string(i);
    const auto owners = ring.Owners(key, 2);
    REQUIRE(owners.size() == 2);
    CHECK(owners[0] != owners[1]);
    CHECK(owners[0] == ring.Owner(key));
    // Every instance agrees, however its config lists the nodes.
    const auto theirs = other.Owners(key, 2);
    CHECK(reversed[theirs[0]] == names[owners[0]]);
    CHECK(reversed[theirs[1]] == names[owners[1]]);
  }
  CHECK(ring.Owners("k", 10).size() == 4);
}

TEST_CASE("RendezvousRefusesNoNodesAndBadWeights", "[hashing]") {
  CHECK_THROWS_AS(WeightedRendezvous({}), std::invalid_argument);
  CHECK_THROWS_AS(WeightedRendezvous(Nodes({"a"}, {0})), std::invalid_argument);
  CHECK_THROWS_AS(WeightedRendezvous(Nodes({"a"}, {-1})), std::invalid_argument);
}

}  // namespace
}  // namespace tiercache::redis
