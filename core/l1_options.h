#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/compression.h"

namespace tiercache {

// Which entry a full L1 shard gives up (core/l1_shard.h): the least recently used one,
// or W-TinyLFU's choice, which also weighs how often keys were asked for.
enum class L1Policy : uint8_t { kLru, kTinyLfu };

// Settings of the in-memory L1 (the `l1:` section in YAML).
// `l1.hot_set` (core/hot_set.h): L1's most read entries kept across a graceful restart.
struct HotSetOptions {
  std::string path;  // the snapshot file; empty: off
  size_t max_keys = 100'000;
  // The longest a start waits for the restore; what is not back by then is left out.
  Duration restore_timeout = std::chrono::seconds(30);
};

struct L1Options {
  // Number of independently locked shards; a power of two. More shards mean less lock
  // contention; each shard holds max_entries/shards entries and max_bytes/shards bytes.
  size_t shards = 16;
  // Upper bound on live entries; the least recently used entry of a shard is evicted
  // to make room.
  uint64_t max_entries = 1'000'000;
  // Upper bound on the bytes charged for entries (key + value + tags + content type + a
  // fixed per-entry overhead); least recently used entries are evicted to stay under it.
  uint64_t max_bytes = uint64_t{1} << 30;
  // What a full shard evicts.
  L1Policy policy = L1Policy::kTinyLfu;
  // An entry set with timeout T lives T × ttl_factor in L1.
  double ttl_factor = 1.0;
  // How often the daemon reclaims expired entries that nobody reads or overwrites.
  Duration sweep_interval = std::chrono::milliseconds(250);
  HotSetOptions hot_set;
  // Values of at least compress_min_bytes are kept compressed with `compression` when
  // that saves an eighth or more (core/compression.h); 0 keeps every value as it is.
  // Reads of a compressed value pay its decompression and a copy.
  uint64_t compress_min_bytes = 0;
  CompressionCodec compression = CompressionCodec::kZstd;
};

}  // namespace tiercache
