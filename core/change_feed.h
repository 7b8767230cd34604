#pragma once

#include <functional>
#include <string>

namespace tiercache {

// Notifications of changes made in an application's database, each a JSON text
// {"model": "auth.User", "id": 7, "event": "save" | "delete", ...more fields}; the daemon
// turns them into model invalidations. tiers/postgres implements it with LISTEN.
class ChangeFeed {
 public:
  virtual ~ChangeFeed() = default;

  // Starts listening: each notification's payload to `on_change`, and listening changes to
  // `on_state` (false when the connection dropped or could not be made; true once
  // listening again). Both on the feed's own thread, never concurrently. Called once.
  virtual void Start(std::function<void(std::string payload)> on_change,
                     std::function<void(bool listening)> on_state) = 0;
};

}  // namespace tiercache
