#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tiercache {

// SHA-256 (FIPS 180-4) of `data`. Where a key part must not be guessable or collide on
// purpose: an Authorization header folded into a cached response's key (one user must
// never be able to craft a credential whose key is another user's).
std::array<uint8_t, 32> Sha256(std::string_view data);

// The first `bytes` bytes (at most 32) of Sha256(data) in lowercase hex.
std::string Sha256Hex(std::string_view data, size_t bytes = 32);

}  // namespace tiercache
