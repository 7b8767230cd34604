#pragma once

#include <cstdint>

namespace tiercache {

// Input limits (the `limits:` section in YAML). Every request is checked against them
// before anything changes; a request over a limit is refused with kTooLarge.
struct Limits {
  uint64_t max_key_bytes = 1024;                      // a key, after percent-decoding
  uint64_t max_value_bytes = uint64_t{8} << 20;       // a value (8 MiB)
  uint64_t max_request_body_bytes = uint64_t{9} << 20;  // an HTTP body (8 MiB + room for JSON)
  uint64_t max_tags = 64;                             // tags on one entry or in one request
  uint64_t max_tag_bytes = 256;                       // one tag
  uint64_t max_pattern_bytes = 4096;                  // one invalidation pattern
  uint64_t max_keys_per_request = 10000;              // keys in one invalidation request
};

}  // namespace tiercache
