#include "core/instance_coherence.h"

#include <unistd.h>

#include <cstdio>
#include <utility>

namespace tiercache {

namespace {

std::string HostAndProcess() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "host");
  return std::string(host) + "-" + std::to_string(::getpid());
}

CoherenceOptions WithInstanceId(CoherenceOptions options) {
  if (options.instance_id.empty()) options.instance_id = HostAndProcess();
  return options;
}

}  // namespace

InstanceCoherence::InstanceCoherence(TieredCache& cache, std::unique_ptr<CoherenceBus> bus,
                                     CoherenceOptions options)
    : cache_(cache), options_(WithInstanceId(std::move(options))), bus_(std::move(bus)) {}

InstanceCoherence::~InstanceCoherence() { bus_.reset(); }

void InstanceCoherence::Start() {
  // Until the first subscription is confirmed, changes made elsewhere go unheard.
  cache_.CapL1Lifetimes(options_.max_staleness);
  bus_->Start([this](CoherenceMessage m) { OnMessage(std::move(m)); },
             [this](bool subscribed) { OnState(subscribed); });
}

void InstanceCoherence::Publish(CoherenceMessage::Kind kind, std::vector<std::string> items) {
  CoherenceMessage message{kind, options_.instance_id, std::move(items)};
  bus_->Publish(message, [this](Status s) {
    (s.ok() ? published_ : publish_errors_).fetch_add(1, std::memory_order_relaxed);
  });
}

void InstanceCoherence::OnMessage(CoherenceMessage message) {
  if (message.origin == options_.instance_id) return;
  received_.fetch_add(1, std::memory_order_relaxed);
  cache_.ApplyRemoteChange(message);
  if (listener_ && message.kind == CoherenceMessage::Kind::kNamespace) listener_(message);
}

void InstanceCoherence::OnState(bool subscribed) {
  if (subscribed) {
    // Whatever L1 took in while unsubscribed lives at most max_staleness; from now on
    // every change is heard, so it may live its full time again.
    subscribed_.store(true, std::memory_order_release);
    cache_.CapL1Lifetimes(std::nullopt);
    // Back after a break: what was said meanwhile (a namespace's new version) is read again.
    if (listener_ && breaks_.load(std::memory_order_relaxed) > 0) {
      listener_(CoherenceMessage{CoherenceMessage::Kind::kClear, "", {}});
    }
    return;
  }
  const bool was_subscribed = subscribed_.exchange(false, std::memory_order_acq_rel);
  cache_.CapL1Lifetimes(options_.max_staleness);
  // Never subscribed yet (a first attempt failed): L1 has been capped since Start, so it
  // holds nothing older than max_staleness allows, and emptying it would only drop writes
  // this instance just answered.
  if (!was_subscribed) return;
  breaks_.fetch_add(1, std::memory_order_relaxed);
  // Messages may have been lost: nothing L1 took in while subscribed can be trusted.
  cache_.ApplyRemoteChange(CoherenceMessage{CoherenceMessage::Kind::kClear, "", {}});
}

CoherenceStats InstanceCoherence::stats() const {
  CoherenceStats s;
  s.subscribed = subscribed_.load(std::memory_order_acquire);
  s.published = published_.load(std::memory_order_relaxed);
  s.publish_errors = publish_errors_.load(std::memory_order_relaxed);
  s.received = received_.load(std::memory_order_relaxed);
  s.breaks = breaks_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace tiercache
