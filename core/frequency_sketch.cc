#include "core/frequency_sketch.h"

#include <algorithm>
#include <bit>

namespace tiercache {

namespace {

constexpr int kRows = 4;
constexpr uint64_t kMaxCount = 15;
constexpr uint64_t kWordsPerBlock = 8;  // 64 bytes: a key's four counters share a cache line

// Mixes a hash so that its bits spread (the key hash's low bits already pick the L1
// slot and its high bits the shard).
uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

// Sixteen counters per entry of capacity (8 bytes, as Caffeine's sketch) and eight
// doorkeeper bits: on tools/bench/policy_sim's traces, fewer counters let one-off keys
// collide into looking frequent and cost hit ratio. A key's counters lie in one 64-byte
// block, and its two doorkeeper bits in one word, so that a sighting costs one cache miss
// in each rather than one per row.
FrequencySketch::FrequencySketch(uint64_t capacity) {
  const uint64_t n = std::bit_ceil(std::max<uint64_t>(capacity, 16));
  const uint64_t blocks = n * 16 / (kWordsPerBlock * 16);  // 16 counters per entry
  block_mask_ = blocks - 1;
  table_.assign(blocks * kWordsPerBlock, 0);
  doorkeeper_.assign(n * 8 / 64, 0);
  doorkeeper_mask_ = doorkeeper_.size() - 1;
  sample_size_ = 10 * std::max<uint64_t>(capacity, 16);
}

FrequencySketch::Slots FrequencySketch::SlotsOf(uint64_t hash) const {
  const uint64_t h = Mix(hash);
  Slots s;
  const uint64_t block = (h & block_mask_) * kWordsPerBlock;
  const uint64_t g = h >> 32;
  for (int row = 0; row < kRows; ++row) {
    // Row r: one of two words of its own in the block, and one of its 16 counters.
    s.word[row] = block + 2 * row + ((g >> row) & 1);
    s.shift[row] = static_cast<uint8_t>(((g >> (4 + 4 * row)) & 15) * 4);
  }
  const uint64_t d = Mix(hash ^ 0x9e3779b97f4a7c15ULL);
  s.door_word = d & doorkeeper_mask_;
  s.door_bits = (uint64_t{1} << ((d >> 40) & 63)) | (uint64_t{1} << ((d >> 50) & 63));
  return s;
}

void FrequencySketch::Increment(uint64_t hash) {
  const Slots s = SlotsOf(hash);
  uint64_t& door = doorkeeper_[s.door_word];
  if ((door & s.door_bits) != s.door_bits) {
    door |= s.door_bits;
  } else {
    for (int row = 0; row < kRows; ++row) {
      uint64_t& word = table_[s.word[row]];
      if (((word >> s.shift[row]) & 0xf) < kMaxCount) word += uint64_t{1} << s.shift[row];
    }
  }
  if (++additions_ >= sample_size_) Age();
}

uint32_t FrequencySketch::Frequency(uint64_t hash) const {
  const Slots s = SlotsOf(hash);
  uint64_t count = kMaxCount;
  for (int row = 0; row < kRows; ++row) {
    count = std::min<uint64_t>(count, (table_[s.word[row]] >> s.shift[row]) & 0xf);
  }
  const bool door = (doorkeeper_[s.door_word] & s.door_bits) == s.door_bits;
  return static_cast<uint32_t>(count) + (door ? 1 : 0);
}

void FrequencySketch::Age() {
  for (uint64_t& word : table_) word = (word >> 1) & 0x7777777777777777ULL;
  std::fill(doorkeeper_.begin(), doorkeeper_.end(), 0);
  additions_ /= 2;
}

}  // namespace tiercache
