#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/coherence_bus.h"
#include "core/tiered_cache.h"

namespace tiercache {

struct CoherenceOptions {
  // How this instance signs what it publishes, so it can ignore its own messages.
  std::string instance_id;
  // While the channel is down, L1 keeps nothing longer than this: the most an entry that
  // another instance changed meanwhile can go on being served here.
  Duration max_staleness = std::chrono::seconds(1);
};

struct CoherenceStats {
  bool subscribed = false;
  uint64_t published = 0;
  uint64_t publish_errors = 0;
  uint64_t received = 0;  // from other instances, applied to L1
  uint64_t breaks = 0;    // times the subscription was lost
};

// Keeps this instance's L1 coherent with the other instances sharing its lower tiers.
//
// Every change made here (set, delete, invalidation, clear) is published once the lower
// tiers have it; every change published elsewhere is removed from L1 (and stops reads in
// flight from promoting what they found). The guarantee: once an instance has answered a
// write or an invalidation, the others stop serving what it replaced as soon as the
// message reaches them (about a Redis round trip). Until the first subscription is made,
// L1 keeps nothing longer than max_staleness; when a subscription is lost, L1 is emptied
// and keeps nothing longer than that until it is back. So nothing another instance changed
// is served from L1 for longer than that.
class InstanceCoherence {
 public:
  InstanceCoherence(TieredCache& cache, CoherenceBus& bus, CoherenceOptions options);

  // Caps L1 and starts the subscription; call once, before serving.
  void Start();
  // Tells the other instances about a change made here.
  void Publish(CoherenceMessage::Kind kind, std::vector<std::string> items);
  CoherenceStats stats() const;
  const std::string& instance_id() const { return options_.instance_id; }

 private:
  void OnMessage(CoherenceMessage message);
  void OnState(bool subscribed);

  TieredCache& cache_;
  CoherenceBus& bus_;
  const CoherenceOptions options_;
  std::atomic<bool> subscribed_{false};
  std::atomic<uint64_t> published_{0}, publish_errors_{0}, received_{0}, breaks_{0};
};

}  // namespace tiercache
