#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tiercache {

// What one instance changed, told to every instance sharing its lower tiers, so that no
// L1 keeps serving an entry another instance overwrote, deleted or invalidated.
struct CoherenceMessage {
  enum class Kind : uint8_t {
    kKeys,     // items: keys written or deleted
    kTags,     // items: tags invalidated
    kPattern,  // items: one RE2 pattern (KeyPattern syntax) invalidated, and its scope if any
    kClear,    // everything; items empty
    kNamespace,  // items: a namespace's name and its new version (decimal)
  };
  Kind kind = Kind::kKeys;
  std::string origin;               // the publishing instance's id: it ignores its own
  std::vector<std::string> items;
};

// A compact, binary-safe encoding (keys may hold any byte); Decode rejects anything
// Encode did not make with kInvalidArgument.
std::string EncodeCoherenceMessage(const CoherenceMessage& message);
Result<CoherenceMessage> DecodeCoherenceMessage(std::string_view bytes);

// A broadcast channel between instances (tiers/redis implements it over Redis pub/sub).
class CoherenceBus {
 public:
  virtual ~CoherenceBus() = default;

  // Starts delivering: every message published by any instance (this one's too) to
  // `on_message`, and subscription changes to `on_state`: false when the subscription
  // broke or could not be made (messages may have been lost meanwhile), true once
  // subscribed (again). Both are called on the bus's own thread, never concurrently.
  // Called once, before Publish.
  virtual void Start(std::function<void(CoherenceMessage)> on_message,
                     std::function<void(bool subscribed)> on_state) = 0;

  // Sends `message`; never blocks on the network. `done` gets the outcome on the bus's
  // thread (kUnavailable at once while disconnected).
  virtual void Publish(const CoherenceMessage& message, std::function<void(Status)> done) = 0;
};

}  // namespace tiercache
