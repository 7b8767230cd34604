#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/change_feed.h"
#include "core/clock.h"
#include "core/status.h"

namespace tiercache {

// Settings of a change feed that LISTENs on the application's PostgreSQL database, where
// deploy/sql/notify/model_changes.sql's trigger sends the notifications.
struct PostgresChangeFeedOptions {
  // The application's database: a libpq connection string or postgresql:// URI.
  std::string dsn;
  // The channel to LISTEN on, as the triggers' second argument names it: a lower-case SQL
  // identifier ([a-z_][a-z0-9_]*, at most 63 characters).
  std::string channel = "tiercache_invalidate";
  // The most a connection attempt may take.
  Duration connect_timeout = std::chrono::seconds(2);
  // After this long without a word from the server, the feed sends `SELECT 1`: a listening
  // connection is otherwise silent, and a hung server or a lost network would go unnoticed.
  Duration keepalive_interval = std::chrono::seconds(1);
  // The most LISTEN or the keepalive may wait for its answer before the connection counts
  // as broken. Bounds how long a hung server goes unnoticed: keepalive_interval plus this.
  // Generous, because a reconnect loses what is notified meanwhile: a busy server that
  // answers late must not count as a dead one.
  Duration command_timeout = std::chrono::seconds(5);
};

// Validates `options` (kInvalidArgument naming the bad setting); the feed connects once
// started. Never blocks on the network.
//
// Started, the feed's thread connects, LISTENs and hands each notification's payload to
// `on_change` as the server sends it. `on_state` hears every change of listening: true once
// LISTEN succeeded; false when the first attempt fails, or once when a listening connection
// breaks (closed, or no answer to the keepalive within command_timeout). The thread then
// reconnects with backoff from 50 ms to 1 s and LISTENs again. Notifications sent while not
// listening are lost: after a false, a true means changes may have been missed. The
// callbacks must not throw.
//
// Destruction stops the thread at once, whatever it is waiting for (a callback already
// running is waited for; no other starts), and joins it.
Result<std::unique_ptr<ChangeFeed>> MakePostgresChangeFeed(PostgresChangeFeedOptions options);

}  // namespace tiercache
