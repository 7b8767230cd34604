#pragma once

#include <cstdint>
#include <string_view>

namespace tiercache::redis {

// Redis Cluster's 16,384 hash slots.
inline constexpr uint16_t kClusterSlots = 16384;

// The part of a key Redis Cluster hashes: the bytes between the first '{' and the first '}'
// after it, when there are any; the whole key otherwise (also for "{}" and an unclosed '{').
// Keys with the same hash tag share a slot, so an entry and its metadata can be placed
// together.
std::string_view HashTag(std::string_view key);

// The slot of `key`: CRC16 (XMODEM, as Redis Cluster's spec) of its hash tag, mod 16384.
uint16_t KeySlot(std::string_view key);

}  // namespace tiercache::redis
