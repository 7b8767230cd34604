#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "core/clock.h"
#include "core/compression.h"

namespace tiercache {

// How writes reach a lower tier.
enum class WriteMode : uint8_t {
  kSync,   // the request is answered after the tier acknowledged the write (write-through)
  kAsync,  // the write is queued and flushed in batches (write-behind)
};

// What a full write-behind queue does with one more write.
enum class OverflowPolicy : uint8_t {
  kDropOldest,  // the oldest queued write is dropped to make room (fresh data wins)
  kDropNewest,  // the new write is not queued (what is queued is kept)
};

// The write-behind queue of one async tier.
struct WriteBehindOptions {
  // Writes waiting at most; one key waits once (a newer write replaces the queued one).
  size_t capacity = 100'000;
  // Writes sent to the tier in one batch.
  size_t batch_size = 500;
  OverflowPolicy overflow = OverflowPolicy::kDropOldest;
};

// How core uses one lower tier, whatever its backend.
struct LowerTierOptions {
  // An entry set with timeout T lives T × ttl_factor in this tier.
  double ttl_factor = 1.0;
  WriteMode write_mode = WriteMode::kSync;
  // The daemon is ready (/readyz) only while every required tier is up.
  bool required = false;
  WriteBehindOptions write_behind;
  // Consecutive failed operations that mark the tier down; while down, requests skip it at
  // no cost and health probes decide when it is back.
  uint32_t failure_threshold = 3;
  // How values are compressed in this tier (`compression`, `compress_min_bytes`); entries
  // compressed by any instance are read back whatever this says.
  CompressionOptions compression;
};

// The health probes of every lower tier.
struct TierHealthOptions {
  // How often each tier is pinged; also bounds how long a recovered tier stays marked down.
  Duration interval = std::chrono::seconds(1);
};

}  // namespace tiercache
