#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace tiercache {

// One entry a warming source produces.
struct WarmEntry {
  std::string key;
  std::string value;
  std::vector<std::string> tags;
  std::optional<Duration> ttl;  // default: the source's, else strategies.default_timeout
  std::string content_type{};   // the value's media type; empty: none
};

// Where a warming source puts what it produces during one run. Put applies back pressure:
// it blocks while the run's rate bound or its window of writes in flight is full.
class WarmSink {
 public:
  virtual ~WarmSink() = default;
  // Stores `entry` in the tiers the source fills. False once the run should stop
  // (cancelled, or the daemon is stopping): the source returns soon after.
  virtual bool Put(WarmEntry entry) = 0;
  // Entries the source stored itself rather than through Put (the hot source's reads copy
  // what they find into L1, tags and all).
  // Only the engine's sink counts them; a sink for tests may ignore them.
  virtual void Stored(uint64_t n = 1) { (void)n; }
  // Items the source tried: rows read, endpoints requested.
  virtual void Attempted(uint64_t n = 1) = 0;
  // One item that failed (a row a template could not fill, a non-2xx answer); counted, the
  // run goes on. `what` names the item (a key, a path).
  virtual void Failed(std::string_view what, const Status& why) = 0;
  virtual bool cancelled() const = 0;
};

// A warming source: a query, HTTP endpoints, the hottest keys. Runs on a scheduler worker.
class WarmSource {
 public:
  virtual ~WarmSource() = default;
  virtual std::string_view kind() const = 0;  // "sql", "http", "hot"
  // One run: produces entries into `sink` until done or `sink` says stop. A non-OK status
  // fails the whole run (an unreachable DSN, a query that does not compile).
  virtual Status Run(WarmSink& sink) = 0;
};

}  // namespace tiercache
