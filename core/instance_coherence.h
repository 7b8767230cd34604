#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/coherence_bus.h"
#include "core/tiered_cache.h"

namespace tiercache {

struct CoherenceOptions {
  // How this instance signs what it publishes, so it can ignore its own messages. Empty:
  // the host name and process id, unique enough between the instances sharing a Redis.
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

// Tells the other instances what changed here. The service facade and the warming engine
// report every change through it; InstanceCoherence is the implementation.
class ChangePublisher {
 public:
  virtual ~ChangePublisher() = default;
  virtual void Publish(CoherenceMessage::Kind kind, std::vector<std::string> items) = 0;
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
//
// It owns the bus, whose thread calls into it: destroying it stops the bus first.
class InstanceCoherence final : public ChangePublisher {
 public:
  InstanceCoherence(TieredCache& cache, std::unique_ptr<CoherenceBus> bus,
                    CoherenceOptions options);
  ~InstanceCoherence() override;

  // Caps L1 and starts the subscription; call once, before serving.
  void Start();
  // Stops the bus (its thread calls into the cache and the listener): at shutdown, once
  // nothing publishes any more. The destructor does it too.
  void Stop() { bus_.reset(); }
  // Tells the other instances about a change made here.
  void Publish(CoherenceMessage::Kind kind, std::vector<std::string> items) override;
  // What the service keeps beside the cache hears of it too: every kNamespace message
  // from another instance, and a kClear when a lost subscription is back (what was missed
  // meanwhile must be read again). Set before Start; runs on the bus's thread.
  using RemoteListener = std::function<void(const CoherenceMessage&)>;
  void SetRemoteListener(RemoteListener listener) { listener_ = std::move(listener); }
  CoherenceStats stats() const;
  const std::string& instance_id() const { return options_.instance_id; }

 private:
  void OnMessage(CoherenceMessage message);
  void OnState(bool subscribed);

  TieredCache& cache_;
  const CoherenceOptions options_;
  RemoteListener listener_;
  std::atomic<bool> subscribed_{false};
  std::atomic<uint64_t> published_{0}, publish_errors_{0}, received_{0}, breaks_{0};
  // Last, so that it goes first: its thread calls OnMessage and OnState.
  std::unique_ptr<CoherenceBus> bus_;
};

}  // namespace tiercache
