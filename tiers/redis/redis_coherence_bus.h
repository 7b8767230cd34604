#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/coherence_bus.h"
#include "core/status.h"

namespace tiercache {

// Settings of the coherence bus over Redis pub/sub. Format and failure behaviour:
// tiers/redis/README.md ("Coherence channel").
struct RedisCoherenceOptions {
  // redis://[[user]:password@]host[:port][/db], as for the tier. Usually the same Redis as
  // the tier's: instances sharing a tier then share its channel too.
  std::string url = "redis://127.0.0.1:6379";
  // The database when the URL names none. Pub/sub channels belong to no database, so it
  // only matters to the publishing connection's login.
  int database = 0;
  // Every instance that must stay coherent with the others uses the same channel; use
  // different ones for unrelated groups of instances sharing a Redis.
  std::string channel = "tiercache:coherence";
  // The most a TCP connection attempt may take.
  Duration connect_timeout = std::chrono::seconds(1);
  // The most a command (PUBLISH, the login, SUBSCRIBE, the keep-alive PING) may wait for
  // its reply; a subscription whose PING goes unanswered this long is treated as broken.
  Duration command_timeout = std::chrono::milliseconds(250);
};

// Validates `options` (kInvalidArgument naming the bad setting) and makes the bus. Never
// blocks on the network: the publishing connection is made in the background at once, the
// subscription when Start() is called, both retried with backoff from 50 ms to 1 s.
//
// Publish() hands the message to the publishing connection; `done` runs on its thread with
// the outcome, or at once on the caller's thread with kUnavailable while that connection is
// down (or kDeadlineExceeded when Redis does not answer within command_timeout). A
// subscription whose socket fails, or whose keep-alive PING (one a second) goes unanswered
// within command_timeout, is reported broken (on_state(false)) and made again.
// Destruction wakes both threads and returns promptly, Redis hung or not; publications
// still pending get kUnavailable.
Result<std::unique_ptr<CoherenceBus>> MakeRedisCoherenceBus(RedisCoherenceOptions options);

}  // namespace tiercache
