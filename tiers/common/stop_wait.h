#pragma once

#include <atomic>

#include "core/clock.h"
#include "tiers/common/event_fd.h"

// Waiting in a backend's own threads so that stopping ends every wait at once.
namespace tiercache::backend {

// Milliseconds from now until `deadline` as a poll() timeout: rounded up, so that poll()
// never wakes just before the deadline; 0 once it has passed; at most 60 s (a caller that
// waits longer polls again).
int PollTimeoutMs(TimePoint deadline);

// Sleeps for `delay` unless `stopping` is or becomes true, which `wake` being signalled
// announces (whoever sets `stopping` signals `wake` after it). False if stopping. A signal
// that is not a stop (`wake` may also mean "work queued") is cleared and the sleep goes on;
// a stop's signal is left for the other waits on `wake`.
bool SleepUnlessStopping(Duration delay, const EventFd& wake, const std::atomic<bool>& stopping);

}  // namespace tiercache::backend
