#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "core/clock.h"

namespace tiercache {

// Settings of a Redis tier. Layout, tag bookkeeping and failure behaviour:
// tiers/redis/README.md.
struct RedisTierOptions {
  // The tier's name in status and the X-Cache-Tier header.
  std::string name = "L2";
  // redis://[[user]:password@]host[:port][/db]; user and password may be percent-encoded.
  // TLS (rediss://) and Redis Cluster are not supported.
  std::string url = "redis://127.0.0.1:6379";
  // The database when the URL names none.
  int database = 0;
  // The namespace: every key this tier reads, writes, scans or clears starts with it, so
  // servers with different prefixes share a Redis without seeing each other's entries.
  std::string key_prefix = "tiercache:";
  // Connections, one thread each; each pipelines the requests of many callers, so two are
  // plenty for one Redis (which runs commands on one thread anyway).
  unsigned pool_size = 2;
  // The most a TCP connection attempt may take.
  Duration connect_timeout = std::chrono::seconds(1);
  // The most a command may wait for its reply once sent; it then fails with
  // kDeadlineExceeded and its connection is dropped and made again in the background. Also
  // bounds the login (AUTH, SELECT, SCRIPT LOAD) after connecting.
  Duration command_timeout = std::chrono::milliseconds(250);
  // How often expired tag memberships are dropped and tag_index() measured.
  Duration sweep_interval = std::chrono::seconds(10);
  // Commands queued or in flight at most, over all connections; beyond that an operation
  // fails at once with kUnavailable. A SetBatch counts one per write.
  size_t max_queued = 100000;
};

}  // namespace tiercache
