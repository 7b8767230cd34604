#include "tiers/common/stop_wait.h"

#include <poll.h>

#include <chrono>

namespace tiercache::backend {

int PollTimeoutMs(TimePoint deadline) {
  const auto left = deadline - std::chrono::steady_clock::now();
  if (left <= Duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > 60'000 ? 60'000 : static_cast<int>(ms);
}

bool SleepUnlessStopping(Duration delay, const EventFd& wake, const std::atomic<bool>& stopping) {
  const TimePoint until = std::chrono::steady_clock::now() + delay;
  pollfd fd{wake.fd(), POLLIN, 0};
  while (!stopping.load()) {
    const int ms = PollTimeoutMs(until);
    if (ms <= 0) return true;
    // Else a timeout (checked above on the next turn) or EINTR.
    if (::poll(&fd, 1, ms) > 0 && !stopping.load()) wake.Clear();
  }
  return false;
}

}  // namespace tiercache::backend
