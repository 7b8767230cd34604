#pragma once

#include <algorithm>
#include <chrono>

#include "core/clock.h"

namespace tiercache::backend {

// The delays between a backend's connection attempts: quick after a blip, at most a second
// apart while the server is away. A plain value, owned by the thread that reconnects.
class ReconnectBackoff {
 public:
  static constexpr Duration kFirst = std::chrono::milliseconds(50);
  static constexpr Duration kMax = std::chrono::seconds(1);

  // The delay to wait now: kFirst after construction or Reset(), then twice the previous
  // one, at most kMax.
  Duration Next() {
    const Duration delay = next_;
    next_ = std::min(2 * next_, kMax);
    return delay;
  }
  // Connected: the next delay is kFirst again.
  void Reset() { next_ = kFirst; }

 private:
  Duration next_ = kFirst;
};

}  // namespace tiercache::backend
